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
