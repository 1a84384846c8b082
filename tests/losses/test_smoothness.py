"""Eq. (13): zero for constant flow, larger for noisy flow, edge-aware weights relax it at image edges."""
import pytest
import torch
from synth_frames import smooth_texture

from s2svr.losses import SmoothnessLoss, edge_weights, smoothness_loss


def test_constant_flow_and_zero_flow_give_zero():
    img = smooth_texture(2, 3, 16, 20)
    const = torch.ones(2, 2, 16, 20) * torch.tensor([2.5, -1.0]).view(1, 2, 1, 1)
    assert smoothness_loss(const, img) == 0
    assert smoothness_loss(torch.zeros(2, 2, 16, 20), img) == 0


def test_noisy_flow_costs_more_than_smooth_flow():
    img = torch.full((1, 3, 16, 16), 0.5)
    xs = torch.linspace(0, 1, 16)
    smooth = torch.stack([xs.view(1, 16).expand(16, 16), xs.view(16, 1).expand(16, 16)]).unsqueeze(0)
    noisy = smooth + 0.3 * torch.randn(1, 2, 16, 16, generator=torch.Generator().manual_seed(0))
    assert 0 < smoothness_loss(smooth, img) < smoothness_loss(noisy, img)
    # flat image: weights are 1 and the loss is ARFlow's (mean|dx F| + mean|dy F|) / 4
    dx, dy = noisy[..., 1:] - noisy[..., :-1], noisy[..., 1:, :] - noisy[..., :-1, :]
    assert torch.allclose(smoothness_loss(noisy, img), (dx.abs().mean() + dy.abs().mean()) / 4)


def test_edge_weight_reduces_loss_at_image_edges():
    flow = torch.zeros(1, 2, 16, 16)
    flow[..., 8:] = 3.0  # motion boundary between columns 7 and 8
    flat = torch.full((1, 3, 16, 16), 0.2)
    edge = flat.clone()
    edge[..., 8:] = 0.9  # an image edge at the same place
    assert smoothness_loss(flow, edge) < 0.01 * smoothness_loss(flow, flat)
    assert smoothness_loss(flow, edge, alpha=0.0) == smoothness_loss(flow, flat)  # alpha = 0: plain TV
    w_x, _ = edge_weights(edge, alpha=10.0)
    assert torch.allclose(w_x[..., 7], torch.exp(torch.tensor(-7.0)))


def test_module_matches_function():
    img = smooth_texture(1, 3, 12, 12)
    flow = torch.randn(1, 2, 12, 12, generator=torch.Generator().manual_seed(1))
    assert torch.equal(SmoothnessLoss(alpha=5.0)(flow, img), smoothness_loss(flow, img, 5.0))


def test_second_order_is_zero_on_affine_flow_where_first_order_is_not():
    from s2svr.losses.smoothness import smoothness_loss_2nd
    y, x = torch.meshgrid(torch.arange(16.0), torch.arange(20.0), indexing="ij")
    rotation = torch.stack([-0.1 * (y - 8), 0.1 * (x - 10)])[None]  # (1, 2, 16, 20), a small rotation's flow
    image = torch.rand(1, 3, 16, 20)
    assert smoothness_loss(rotation, image) > 1e-3
    assert smoothness_loss_2nd(rotation, image) < 1e-6
    bumpy = rotation + 0.5 * torch.randn_like(rotation)
    assert smoothness_loss_2nd(bumpy, image) > 1e-2
    with pytest.raises(ValueError, match="differ in size"):
        smoothness_loss_2nd(rotation, image[..., :8])
