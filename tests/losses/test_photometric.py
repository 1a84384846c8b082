"""Eq. (11): zero on identical frames, lower for the right flow, occluded pixels are not counted."""
import torch
from synth_frames import smooth_texture, translated_pair

from s2svr.flow import flow_warp, occlusion_mask, visibility_mask
from s2svr.losses import PhotometricLoss, census_distance, photometric_distance, photometric_loss, ssim_distance


def test_identical_frames_and_zero_flow_give_zero_loss():
    img = smooth_texture(2, 3, 24, 24)
    zero = torch.zeros(2, 2, 24, 24)
    loss = photometric_loss(img, img, zero, w_l1=0.15, w_ssim=0.85, w_census=1.0)
    assert loss.abs() < 1e-6
    assert ssim_distance(img, img).abs().max() < 1e-5 and census_distance(img, img).abs().max() == 0


def test_correct_translation_beats_wrong_one():
    img1, img2, fw, bw = translated_pair(dx=3, dy=-2)
    vis = visibility_mask(fw, bw)
    good = photometric_loss(img1, img2, fw, vis, w_l1=1.0, w_ssim=0.85 / 0.15)
    wrong = photometric_loss(img1, img2, -fw, vis, w_l1=1.0, w_ssim=0.85 / 0.15)
    zero = photometric_loss(img1, img2, torch.zeros_like(fw), vis, w_l1=1.0, w_ssim=0.85 / 0.15)
    assert good < 1e-4  # exact up to float rounding on the visible pixels
    assert wrong > 0.02 and zero > 0.02
    # half a pixel off lies in between
    assert good < photometric_loss(img1, img2, fw + 0.5, vis) < wrong


def test_normalised_by_visible_count():
    img1, img2 = smooth_texture(1, 3, 16, 16, seed=1), smooth_texture(1, 3, 16, 16, seed=2)
    vis = torch.zeros(1, 1, 16, 16)
    vis[..., :, :4] = 1
    loss = photometric_distance(img1, img2, vis)
    assert torch.allclose(loss, (img1 - img2)[..., :4].abs().mean(), atol=1e-6)


def object_scene(h=24, w=32, x0=10, dx=4, y0=8, size=8):
    """Static textured background, a textured square moving dx to the right: frames and exact GT flows."""
    bg = smooth_texture(1, 3, h, w, seed=3)
    obj = smooth_texture(1, 3, size, size, seed=4) * 0.5 + 0.5
    f1, f2 = bg.clone(), bg.clone()
    f1[..., y0:y0 + size, x0:x0 + size] = obj
    f2[..., y0:y0 + size, x0 + dx:x0 + dx + size] = obj
    fw, bw = torch.zeros(1, 2, h, w), torch.zeros(1, 2, h, w)
    fw[:, 0, y0:y0 + size, x0:x0 + size] = dx
    bw[:, 0, y0:y0 + size, x0 + dx:x0 + dx + size] = -dx
    expected = torch.zeros(1, 1, h, w)  # background of frame 1 that the square covers in frame 2
    expected[..., y0:y0 + size, x0 + size:x0 + size + dx] = 1
    return f1, f2, fw, bw, expected


def test_occlusion_mask_marks_the_disoccluded_region_and_loss_ignores_it():
    f1, f2, fw, bw, expected = object_scene()
    occ = occlusion_mask(fw, bw)
    assert torch.equal(occ, expected)
    vis = 1 - occ
    masked = photometric_loss(f1, f2, fw, vis)
    unmasked = photometric_loss(f1, f2, fw)
    assert masked < 1e-6 < 1e-3 < unmasked  # only the occluded pixels disagree
    # the reconstruction is exact where visible
    assert ((flow_warp(f2, fw) - f1).abs() * vis).max() < 1e-5


def test_module_matches_function():
    img1, img2, fw, bw = translated_pair(dx=1, dy=1, seed=5)
    m = PhotometricLoss(w_l1=0.15, w_ssim=0.85)
    assert torch.equal(m(img1, img2, fw * 0.5), photometric_loss(img1, img2, fw * 0.5, w_l1=0.15, w_ssim=0.85))
