import torch

from s2svr.flow import flow_warp, occlusion_mask, resize_flow


def test_zero_flow_is_identity():
    x = torch.rand(2, 3, 17, 23)
    assert torch.allclose(flow_warp(x, torch.zeros(2, 2, 17, 23)), x, atol=1e-6)


def test_integer_translation_equals_shift_away_from_border():
    x = torch.rand(1, 3, 20, 30)
    flow = torch.zeros(1, 2, 20, 30)
    flow[:, 0], flow[:, 1] = 3.0, -2.0  # sample x at (col + 3, row - 2)
    out = flow_warp(x, flow)
    expected = torch.roll(x, shifts=(2, -3), dims=(2, 3))
    assert torch.allclose(out[..., 2:, :-3], expected[..., 2:, :-3], atol=1e-5)
    assert out[..., :2, :].abs().max() < 1e-5  # zero padding outside the frame


def test_resize_flow_scales_magnitudes():
    flow = torch.ones(1, 2, 8, 12)
    flow[:, 1] = 2.0
    big = resize_flow(flow, (32, 24))  # H x4, W x2
    assert big.shape == (1, 2, 32, 24)
    assert torch.allclose(big[:, 0], torch.full_like(big[:, 0], 2.0))
    assert torch.allclose(big[:, 1], torch.full_like(big[:, 1], 8.0))


def test_occlusion_marks_inconsistent_region_only():
    fw = torch.zeros(1, 2, 16, 16)
    fw[:, 0] = 2.0
    bw = -fw.clone()
    occ = occlusion_mask(fw, bw)
    assert occ[..., :, :12].sum() == 0  # consistent where the backward flow is found
    bw[..., 4:8, 6:10] = 5.0  # a region whose backward flow disagrees
    occ = occlusion_mask(fw, bw)
    assert occ[..., 4:8, 4:8].all()
    assert occ[..., :14].sum() == 16  # only that region; columns 14-15 look outside the frame: occluded
    assert occ[..., 14:].all()
