import torch

from s2svr.flow import flow_warp
from s2svr.models import Encoder


def test_encoder_clip_pass_equals_stepping_with_warped_states():
    torch.manual_seed(0)
    enc = Encoder(in_channels=3, num_feat=8, num_blocks=1, num_layers=2)
    x = torch.rand(1, 4, 3, 10, 10)
    flow_fw, flow_bw = torch.randn(1, 3, 2, 10, 10), torch.randn(1, 3, 2, 10, 10)
    with torch.no_grad():
        latents, last = enc(x, flow_fw, flow_bw)
        states = None
        for i in range(4):
            if i > 0:
                states = [flow_warp(s, flow_bw[:, i - 1]) for s in states]
            states = enc.step(states, x[:, i])
            assert torch.allclose(states[-1], latents[i], atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(states, last))
