import pytest
import torch

from s2svr.flow import flow_warp
from s2svr.models import Encoder


@pytest.mark.parametrize("carry", ["output", "block", "gru"])
def test_encoder_clip_pass_equals_stepping_with_warped_states(carry):
    torch.manual_seed(0)
    enc = Encoder(in_channels=3, num_feat=8, num_blocks=1, num_layers=2, carry=carry)
    x = torch.rand(1, 4, 3, 10, 10)
    flow_fw, flow_bw = torch.randn(1, 3, 2, 10, 10), torch.randn(1, 3, 2, 10, 10)
    with torch.no_grad():
        latents, last = enc(x, flow_fw, flow_bw)
        states = None
        for i in range(4):
            if i > 0:
                states = [flow_warp(s, flow_bw[:, i - 1]) for s in states]
            z, states = enc.step(states, x[:, i])
            assert torch.allclose(z, latents[i], atol=1e-6)
            # 'output' carries the top layer's output itself; 'block' carries F_b's output, without the residual
            assert torch.allclose(states[-1], z, atol=1e-6) == (carry == "output")
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(states, last))
