import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from s2svr.metrics import (delta_metrics, delta_over_videos, psnr, psnr_torch, rgb_to_y, sequence_metrics,
                           ssim, ssim_torch, to_uint8)


def _img(seed, shape=(32, 40, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_identical_images_psnr_inf_ssim_one():
    a = _img(0)
    assert psnr(a, a) == math.inf
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, a, test_y=True) == pytest.approx(1.0, abs=1e-12)


def test_constant_offset_gives_known_psnr():
    a = np.full((16, 16, 3), 100, np.uint8)
    b = a + 10  # MSE = 100 exactly
    assert psnr(b, a) == pytest.approx(10 * math.log10(255 ** 2 / 100))
    assert psnr(b.astype(np.float32), a.astype(np.float64)) == pytest.approx(10 * math.log10(255 ** 2 / 100))


@pytest.mark.parametrize("rgb,y", [((255, 255, 255), 235.0), ((0, 0, 0), 16.0), ((255, 0, 0), 81.481),
                                   ((0, 255, 0), 144.553), ((0, 0, 255), 40.966)])
def test_y_of_pure_colours(rgb, y):
    img = np.broadcast_to(np.array(rgb, np.uint8), (2, 2, 3))
    out = rgb_to_y(img)
    assert out.shape == (2, 2, 1)
    assert out.dtype == np.float64  # not rounded, as BasicSR
    assert np.allclose(out, y, atol=1e-9)


def test_y_channel_psnr_uses_float_luma():
    a = _img(1)
    b = _img(2)
    ya, yb = rgb_to_y(a), rgb_to_y(b)
    expected = 10 * math.log10(255 ** 2 / np.mean((ya - yb) ** 2))
    assert psnr(a, b, test_y=True) == pytest.approx(expected)


def test_crop_border_ignores_border_errors():
    a = _img(3)
    b = a.copy()
    b[:4] = 0
    b[:, -4:] = 255
    assert psnr(a, b, crop_border=4) == math.inf
    assert psnr(a, b) < 40
    b2 = a.copy()
    b2[10, 10] ^= 1
    assert psnr(a, b2, crop_border=4) < math.inf


def test_ssim_matches_skimage_gaussian():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (48, 56, 3)).astype(np.uint8)
    noise = rng.normal(0, 20, a.shape)
    b = np.clip(a + noise, 0, 255).astype(np.uint8)
    ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                data_range=255, channel_axis=-1)
    assert ssim(b, a) == pytest.approx(ref, abs=1e-6)
    assert 0 < ssim(b, a) < 1


def test_sequence_metrics_mean_of_frames():
    gt = np.stack([_img(i) for i in range(3)])
    out = gt.copy()
    out[0] = np.clip(out[0].astype(int) + 10, 0, 255).astype(np.uint8)
    out[1] = 255 - out[1]
    out[2] = np.clip(out[2].astype(int) - 5, 0, 255).astype(np.uint8)
    m = sequence_metrics(out, gt)
    assert m["psnr"] == pytest.approx(np.mean([psnr(o, g) for o, g in zip(out, gt)]))
    assert m["ssim"] == pytest.approx(np.mean([ssim(o, g) for o, g in zip(out, gt)]))
    assert len(m["psnr_frames"]) == 3


def test_delta_metrics_average_per_frame_then_video_then_dataset():
    rng = np.random.default_rng(5)

    def video(t):
        raw = rng.integers(30, 220, (t, 24, 24)).astype(np.uint8)
        comp = np.clip(raw + rng.normal(0, 8, raw.shape), 0, 255).astype(np.uint8)
        enh = np.clip(raw + rng.normal(0, 4, raw.shape), 0, 255).astype(np.uint8)
        return enh, comp, raw

    videos = {"short": video(2), "long": video(7)}
    per_video = {k: delta_metrics(*v) for k, v in videos.items()}
    for k, (enh, comp, raw) in videos.items():
        frames = [psnr(e[..., None], r[..., None]) - psnr(c[..., None], r[..., None]) for e, c, r in zip(enh, comp, raw)]
        assert per_video[k]["delta_psnr"] == pytest.approx(np.mean(frames))
        frames_s = [ssim(e[..., None], r[..., None]) - ssim(c[..., None], r[..., None]) for e, c, r in zip(enh, comp, raw)]
        assert per_video[k]["delta_ssim"] == pytest.approx(np.mean(frames_s))
    total = delta_over_videos(per_video)
    expected = (per_video["short"]["delta_psnr"] + per_video["long"]["delta_psnr"]) / 2
    assert total["delta_psnr"] == pytest.approx(expected)
    # pooling all 9 frames would weight the long video 7:2 -- a different (wrong) number
    pooled = np.mean(per_video["short"]["delta_psnr_frames"] + per_video["long"]["delta_psnr_frames"])
    assert not np.isclose(total["delta_psnr"], pooled)
    assert total["delta_psnr"] > 0 and total["delta_ssim"] > 0


def test_torch_versions_agree_with_numpy():
    a = _img(6, (40, 40, 3))
    b = _img(7, (40, 40, 3))
    ta = torch.from_numpy(a).permute(2, 0, 1).float() / 255
    tb = torch.from_numpy(b).permute(2, 0, 1).float() / 255
    x = torch.stack([ta, tb])[None]  # (B=1, T=2, C, H, W)
    r = torch.stack([tb, ta])[None]
    p = psnr_torch(x, r, crop_border=2, test_y=True)
    assert p.shape == (1, 2)
    assert p[0, 0].item() == pytest.approx(psnr(a, b, crop_border=2, test_y=True), abs=1e-3)
    s = ssim_torch(x, r)
    assert s[0, 1].item() == pytest.approx(ssim(b, a), abs=1e-5)
    assert torch.isinf(psnr_torch(ta, ta))
    assert np.array_equal(to_uint8(ta), a)
