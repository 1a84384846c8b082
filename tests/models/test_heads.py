import torch
import torch.nn.functional as F

from s2svr.models import RestorationHead, SRHead


def test_sr_head_with_zero_last_conv_is_the_upsampled_input():
    head = SRHead(num_feat=8, in_channels=3, scale=4, upsample="bicubic")
    with torch.no_grad():
        head.body[4].weight.zero_()
        head.body[4].bias.zero_()
    x = torch.rand(2, 3, 5, 6)
    out = head(torch.randn(2, 8, 5, 6), x)
    assert out.shape == (2, 3, 20, 24)
    assert torch.allclose(out, F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False))


def test_sr_head_pixel_shuffle_keeps_channels_apart():
    # the 48 = 3 x 16 output channels are three colour planes: touching only colour 1's 16 channels leaves 0 and 2
    head = SRHead(num_feat=8, in_channels=3, scale=4)
    with torch.no_grad():
        head.body[4].weight.zero_()
        head.body[4].bias.zero_()
        head.body[4].bias[16:32] = 1.0
    out = head(torch.randn(1, 8, 3, 3), torch.zeros(1, 3, 3, 3))
    assert torch.equal(out[:, 1], torch.ones(1, 12, 12)) and out[:, [0, 2]].abs().max() == 0


def test_restoration_head_with_zero_last_conv_is_the_identity():
    head = RestorationHead(num_feat=8, in_channels=1)
    with torch.no_grad():
        head.body[4].weight.zero_()
        head.body[4].bias.zero_()
    x = torch.rand(2, 1, 5, 6)
    assert torch.equal(head(torch.randn(2, 8, 5, 6), x), x)


import pytest  # noqa: E402

from s2svr.configs import load_config  # noqa: E402
from s2svr.models import build_model  # noqa: E402


@pytest.mark.parametrize("arch", ["single_frame", "basicvsr", "s2svr"])
@pytest.mark.parametrize("config", ["sr_reds4", "vqe_mfqe"])
def test_identity_start_makes_every_model_its_global_residual(arch, config):
    cfg = load_config(config, "ci", overrides={"model": {"arch": arch, "head_init": "identity"}})
    torch.manual_seed(0)
    model = build_model(cfg.model).eval()
    c, s = cfg.model.in_channels, cfg.model.scale if cfg.model.task == "sr" else 1
    x = torch.rand(1, 3, c, 16, 16)
    with torch.no_grad():
        out = model(x)
    want = F.interpolate(x[0], scale_factor=s, mode=cfg.model.upsample, align_corners=False) if s > 1 else x[0]
    assert torch.allclose(out[0], want, atol=1e-6)
    default = build_model(load_config(config, "ci", overrides={"model": {"arch": arch}}).model).eval()
    with torch.no_grad():
        assert not torch.allclose(default(x)[0], want, atol=1e-3)  # PyTorch's init is not the identity


def test_an_unknown_head_init_is_refused():
    cfg = load_config("sr_reds4", "ci", overrides={"model": {"head_init": "zeros"}})
    with pytest.raises(ValueError, match="head_init"):
        build_model(cfg.model)
