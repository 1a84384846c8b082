"""Eqs. (14) and (17) over a flow pyramid: zero at the solution, weights from config, optimisation lowers them."""
import pytest
import torch
import torch.nn as nn
from synth_frames import smooth_texture, translated_pair

from s2svr.configs import FlowLossConfig
from s2svr.flow import resize_flow
from s2svr.losses import FlowLoss, distillation_flow_loss, photometric_loss, smoothness_loss, unsupervised_flow_loss
from s2svr.utils import seed_everything


def pyramid_of(flow_fw, flow_bw=None, levels=5):
    """PWC-Lite-like pyramid (finest first, /2 per level, vectors rescaled) from full-size flows."""
    h, w = flow_fw.shape[-2:]
    sizes = [(h >> i, w >> i) for i in range(levels)]
    out = {"flows_fw": [resize_flow(flow_fw, s) for s in sizes], "size": (h, w)}
    if flow_bw is not None:
        out["flows_bw"] = [resize_flow(flow_bw, s) for s in sizes]
    return out


def test_identical_frames_and_zero_flow_give_zero_total():
    img = smooth_texture(2, 3, 32, 32)
    zero = torch.zeros(2, 2, 32, 32)
    total, terms = unsupervised_flow_loss(pyramid_of(zero, zero), img, img, cfg=FlowLossConfig())
    assert total.abs() < 1e-6 and set(terms) == {"ph", "sm", "visible"} and terms["visible"] == 1


def test_terms_are_the_weighted_single_losses():
    img1, img2, fw, bw = translated_pair(dx=2, dy=1, h=32, w=32)
    noisy = fw + 0.2 * torch.randn(fw.shape, generator=torch.Generator().manual_seed(0))
    pyr = pyramid_of(noisy, None)
    loss = FlowLoss(w_ph=0.15, w_sm=50.0, w_l1=0.15, w_ssim=0.0, w_scales=(1.0,), w_sm_scales=(1.0,),
                    bidirectional=False)
    total, terms = loss(pyr, img1, img2)
    assert torch.allclose(terms["ph"], 0.15 * photometric_loss(img1, img2, noisy))  # no bw flow: all visible
    assert torch.allclose(terms["sm"], 50.0 * smoothness_loss(noisy / 32, img1, 10.0))
    assert torch.allclose(total, terms["ph"] + terms["sm"])
    # ARFlow's mixture: w_ph * rho = 0.15 L1 + 0.85 SSIM with the default ratios
    _, t2 = FlowLoss(w_scales=(1.0,), bidirectional=False)(pyr, img1, img2)
    assert torch.allclose(t2["ph"], photometric_loss(img1, img2, noisy, w_l1=0.15, w_ssim=0.85))
    # doubling a weight doubles its term only
    _, t3 = FlowLoss(w_sm=100.0, w_ssim=0.0, w_scales=(1.0,), w_sm_scales=(1.0,), bidirectional=False)(pyr, img1, img2)
    assert torch.allclose(t3["sm"], 2 * terms["sm"]) and torch.allclose(t3["ph"], terms["ph"])


def test_true_flow_beats_zero_flow_over_the_pyramid():
    img1, img2, fw, bw = translated_pair(dx=4, dy=2, h=64, w=64)
    good, _ = unsupervised_flow_loss(pyramid_of(fw, bw), img1, img2, cfg=FlowLossConfig())
    zero = torch.zeros_like(fw)
    bad, _ = unsupervised_flow_loss(pyramid_of(zero, zero), img1, img2, cfg=FlowLossConfig())
    assert good < 0.5 * bad


def test_distillation_total_is_eq14_plus_weighted_l1():
    img1, img2, fw, bw = translated_pair(dx=1, dy=0, h=16, w=16)  # LQ frames
    teacher = resize_flow(fw, (64, 64)), resize_flow(bw, (64, 64))  # the teacher's HQ flows (x4 vectors)
    pyr = pyramid_of(fw, bw, levels=3)
    total, terms = distillation_flow_loss(pyr, img1, img2, teacher, cfg=FlowLossConfig())
    assert set(terms) == {"ph", "sm", "dis", "visible"} and terms["dis"] == 0
    eq14, _ = unsupervised_flow_loss(pyr, img1, img2, cfg=FlowLossConfig())
    assert torch.allclose(total, eq14)
    _, terms = distillation_flow_loss(pyr, img1, img2, (teacher[0] + 1.0, teacher[1] + 1.0), cfg=FlowLossConfig())
    assert torch.allclose(terms["dis"], torch.tensor(0.1))  # w_dis * mean |1|
    # one-directional distillation takes the forward teacher flow alone
    _, terms = distillation_flow_loss(pyr, img1, img2, teacher[0] + 1.0, w_dis=0.1, bidirectional=False)
    assert torch.allclose(terms["dis"], torch.tensor(0.1))


def test_bidirectional_needs_and_averages_both_directions():
    img1, img2, fw, bw = translated_pair(dx=2, dy=2, h=32, w=32)
    g = torch.Generator().manual_seed(1)
    fw, bw = fw + 0.3 * torch.randn(fw.shape, generator=g), bw + 0.3 * torch.randn(bw.shape, generator=g)
    loss = FlowLoss(bidirectional=True)
    with pytest.raises(ValueError, match="flows_bw"):
        loss(pyramid_of(fw), img1, img2)
    total, _ = loss(pyramid_of(fw, bw), img1, img2)
    one_way = FlowLoss(bidirectional=False)
    f12, _ = one_way(pyramid_of(fw, bw), img1, img2)
    f21, _ = one_way(pyramid_of(bw, fw), img2, img1)
    assert torch.allclose(total, (f12 + f21) / 2) and not torch.allclose(f12, f21)


def test_backward_flow_needs_its_own_loss_and_the_all_occluded_trap_is_guarded():
    img1, img2, fw, bw = translated_pair(dx=2, dy=1, h=32, w=32)
    fw_p, bw_p = fw.clone().requires_grad_(), bw.clone().requires_grad_()
    total, _ = FlowLoss(bidirectional=False)(pyramid_of(fw_p, bw_p), img1, img2)
    total.backward()
    assert fw_p.grad.abs().sum() > 0 and (bw_p.grad is None or bw_p.grad.abs().sum() == 0)
    total, _ = FlowLoss(bidirectional=True)(pyramid_of(fw_p, bw_p), img1, img2)
    bw_p.grad = None
    total.backward()
    assert bw_p.grad.abs().sum() > 0  # the default trains F21, which the occlusion check relies on
    # F21 ~ F12 (what an untrained F21 drifts to): every pixel "occluded", L_ph = 0 and 'visible' says so ...
    same = torch.full_like(fw, 0.5)
    _, terms = FlowLoss(min_visible=0.0)(pyramid_of(same, same), img1, img2)
    assert terms["visible"] == 0 and terms["ph"] == 0
    # ... unless the min_visible guard counts every pixel of such a sample
    _, guarded = FlowLoss()(pyramid_of(same, same), img1, img2)
    assert guarded["visible"] == 0 and guarded["ph"] > 0.01
    # a sample whose check keeps enough pixels is untouched by the guard
    img1, img2, fw, bw = translated_pair(dx=2, dy=1, h=32, w=32)
    noisy = fw + 0.1 * torch.randn(fw.shape, generator=torch.Generator().manual_seed(2))
    a, _ = FlowLoss(min_visible=0.0)(pyramid_of(noisy, bw), img1, img2)
    b, t = FlowLoss(min_visible=0.1)(pyramid_of(noisy, bw), img1, img2)
    assert torch.equal(a, b) and t["visible"] > 0.5


class FlowField(nn.Module):
    """Stand-in flow model: one learnable full-size flow field per direction, pyramid by resizing."""

    def __init__(self, h, w):
        super().__init__()
        self.fw = nn.Parameter(torch.zeros(1, 2, h, w))
        self.bw = nn.Parameter(torch.zeros(1, 2, h, w))

    def forward_pyramid(self, img1, img2, with_bw=False):
        return pyramid_of(self.fw, self.bw if with_bw else None)


def _optimise(model, img1, img2, steps, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = FlowLoss.from_config(FlowLossConfig())
    losses = []
    for _ in range(steps):
        total, _ = loss_fn(model.forward_pyramid(img1, img2, with_bw=True), img1, img2)
        opt.zero_grad()
        total.backward()
        opt.step()
        losses.append(total.item())
    return losses


def test_thirty_adam_steps_lower_the_total_with_a_stand_in_model():
    img1, img2, fw, _ = translated_pair(dx=2, dy=1, h=32, w=32, seed=3)
    model = FlowField(32, 32)
    losses = _optimise(model, img1, img2, steps=30, lr=0.05)
    assert losses[-1] < 0.7 * losses[0]
    # and the flow moved towards the true translation
    assert (model.fw.detach() - fw).abs().mean() < fw.abs().mean()


def test_a_few_adam_steps_lower_the_total_with_pwclite():
    from s2svr.flow.pwclite import PWCLite
    seed_everything(0)
    img1, img2, _, _ = translated_pair(dx=3, dy=2, h=64, w=64, seed=4)
    model = PWCLite()
    losses = _optimise(model, img1, img2, steps=8, lr=1e-4)
    assert min(losses[-3:]) < losses[0]
