"""s2svr.report.saliency (Fig. 7): sharpness prefers edges; without_motion keeps the weights and changes only
frames that have a history."""
import torch

from s2svr.configs import load_config
from s2svr.models import S2SVR
from s2svr.report.saliency import encoder_saliency, sharpness, without_motion


def test_sharpness_prefers_edges_to_smears():
    sharp = torch.full((32, 32), 0.1)
    sharp[:, 15:17] = 1.0  # a thin line, as the edges of a feature map
    smear = torch.nn.functional.avg_pool2d(sharp[None, None], 9, 1, 4, count_include_pad=False)[0, 0]
    assert sharpness(sharp) > 2 * sharpness(smear) > 0
    assert sharpness(torch.ones(8, 8)) == 0.0


def test_without_motion_keeps_weights_and_changes_only_later_frames():
    from s2svr.flow.standins import KnownFlow
    torch.manual_seed(0)
    cfg = load_config("sr_reds4", "ci").model
    base = torch.rand(1, 3, 12, 12)
    frames = torch.stack([torch.roll(base, shifts=2 * i, dims=-1) for i in range(4)], 1)  # (1, T, C, H, W)
    flow_fw = torch.zeros(1, 3, 2, 12, 12)
    flow_fw[:, :, 0] = 2.0  # frame k+1 = frame k moved 2 px right: pixel x of k is at x + 2 in k+1
    known = KnownFlow()
    known.set_clip(frames, flow_fw, -flow_fw)
    model = S2SVR(task="sr", layout="paper", num_feat=cfg.num_feat, num_blocks=cfg.num_blocks,
                  num_layers=cfg.num_layers, radius=cfg.radius, flow_size=None, flow_net=known).eval()
    twin = without_motion(model)
    assert twin.flow is not model.flow and model.flow is known
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))
    s_mc, s_no = encoder_saliency(model, frames[0]), encoder_saliency(twin, frames[0])
    assert s_mc.shape == (4, 12, 12)
    assert torch.equal(s_mc[0], s_no[0])  # no history at the first frame
    assert not torch.allclose(s_mc[1:], s_no[1:])
