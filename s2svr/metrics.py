"""PSNR and SSIM as BasicSR computes them, per frame, per video, and as deltas for compressed video.

Explained in `notebooks/metrics.py`. Tables 1-3 of the paper are only
comparable with published numbers if every convention matches, so each one is explicit here:

- images are `(H, W, C)`, uint8 or float **on the 0-255 scale** (a float image in [0, 1] must be
  multiplied by 255 first; :func:`to_uint8` does the rounding BasicSR's `tensor2img` does);
- `crop_border` pixels are removed on every side before anything else;
- `test_y=True` compares the luma of ITU-R BT.601 as MATLAB's `rgb2ycbcr`,
  Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 on R, G, B in [0, 1] -> Y in [16, 235],
  kept as float (BasicSR does not round it);
- PSNR = 10 log10(255^2 / MSE); identical images give `inf` (BasicSR's convention, kept so that a
  perfect frame is never silently averaged as a finite number);
- SSIM (Wang et al., 2004): 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255,
  statistics only where the whole window fits ('valid', BasicSR's `[5:-5, 5:-5]`), mean of the map
  per channel, then the mean over channels;
- a video's score is the mean of its per-frame scores; a dataset's score is the mean over videos
  (REDS4: 4 clips x 100 frames; MFQEv2: 18 videos of unequal length, so the order matters);
- compressed video (Table 3): delta = metric(enhanced, raw) - metric(compressed, raw) on the Y
  plane, per frame, averaged per video, then over videos; delta-SSIM is reported x 1e-4.

Torch versions (`psnr_torch`, `ssim_torch`) take `(..., C, H, W)` tensors in [0, 1] and are for
validation during training; they agree with the NumPy versions up to float32 rounding.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import correlate1d

# ITU-R BT.601 luma row of MATLAB's rgb2ycbcr for R, G, B in [0, 1] (output offset 16 added separately); the one copy.
BT601_Y = (65.481, 128.553, 24.966)
_Y_WEIGHTS = np.array(BT601_Y)
# the whole matrix (rows Y, Cb, Cr) and its offsets, for the full YCbCr conversions of `s2svr.restore` and video I/O
BT601 = np.array([BT601_Y, (-37.797, -74.203, 112.0), (112.0, -93.786, -18.214)])
BT601_OFFSET = np.array([16.0, 128.0, 128.0])
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """Float BT.601 luma `(H, W, 1)` in [16, 235] of an RGB image `(H, W, 3)` on the 0-255 scale."""
    img = np.asarray(img, dtype=np.float64)
    y = 16.0 + (img / 255.0) @ _Y_WEIGHTS
    return y[..., None]


def to_uint8(img) -> np.ndarray:
    """A float image in [0, 1] (NumPy `(H, W, C)` or torch `(C, H, W)`) to uint8 `(H, W, C)`, rounded as BasicSR."""
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().float()
        if img.dim() == 3:
            img = img.permute(1, 2, 0)
        img = img.numpy()
    return np.clip(np.round(np.asarray(img, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def _prepare(img, ref, crop_border: int, test_y: bool):
    img = np.asarray(img, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if img.shape != ref.shape:
        raise ValueError(f"image shapes differ: {img.shape} vs {ref.shape}")
    if img.ndim == 2:
        img, ref = img[..., None], ref[..., None]
    if crop_border > 0:
        img = img[crop_border:-crop_border, crop_border:-crop_border]
        ref = ref[crop_border:-crop_border, crop_border:-crop_border]
    if test_y and img.shape[-1] == 3:
        img, ref = rgb_to_y(img), rgb_to_y(ref)
    return img, ref


def psnr(img, ref, crop_border: int = 0, test_y: bool = False) -> float:
    """PSNR in dB of `img` against `ref`, both `(H, W, C)` on the 0-255 scale; `inf` when identical."""
    img, ref = _prepare(img, ref, crop_border, test_y)
    mse = np.mean((img - ref) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(255.0 ** 2 / mse))


def gaussian_kernel_1d(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Normalised 1-D Gaussian, as OpenCV's `getGaussianKernel(size, sigma)`; the 2-D window is its outer product."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    k = np.exp(-(x ** 2) / (2.0 * sigma ** 2))
    return k / k.sum()


def _ssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM map of two float64 planes `(H, W)` on the 0-255 scale, valid region only."""
    c1 = (SSIM_K1 * 255.0) ** 2
    c2 = (SSIM_K2 * 255.0) ** 2
    k = gaussian_kernel_1d()
    r = SSIM_WINDOW // 2

    def blur(x):
        # separable Gaussian; the border mode never reaches the kept interior, so this equals 'valid'
        x = correlate1d(correlate1d(x, k, axis=0, mode="reflect"), k, axis=1, mode="reflect")
        return x[r:-r, r:-r]

    if a.shape[0] < SSIM_WINDOW or a.shape[1] < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {a.shape}")
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def ssim(img, ref, crop_border: int = 0, test_y: bool = False) -> float:
    """SSIM of `img` against `ref`, both `(H, W, C)` on the 0-255 scale: per-channel mean map, averaged over channels."""
    img, ref = _prepare(img, ref, crop_border, test_y)
    return float(np.mean([_ssim_channel(img[..., c], ref[..., c]) for c in range(img.shape[-1])]))


def sequence_metrics(restored_frames: Sequence, gt_frames: Sequence, crop_border: int = 0,
                     test_y: bool = False, compute_ssim: bool = True) -> dict:
    """Per-frame and mean PSNR/SSIM of one video; frames `(T, H, W, C)` (or a list of `(H, W, C)`) on 0-255.

    Returns `{'psnr': mean, 'ssim': mean, 'psnr_frames': [...], 'ssim_frames': [...]}`. The mean of
    PSNR over frames is taken over finite values and identical frames alike, so a video with a
    perfect frame has mean `inf`, as in BasicSR.
    """
    if len(restored_frames) != len(gt_frames):
        raise ValueError(f"frame counts differ: {len(restored_frames)} restored vs {len(gt_frames)} GT")
    p = [psnr(r, g, crop_border, test_y) for r, g in zip(restored_frames, gt_frames)]
    out = {"psnr": float(np.mean(p)), "psnr_frames": p}
    if compute_ssim:
        s = [ssim(r, g, crop_border, test_y) for r, g in zip(restored_frames, gt_frames)]
        out.update(ssim=float(np.mean(s)), ssim_frames=s)
    return out


def dataset_metrics(per_video: dict) -> dict:
    """Average of per-video means over videos: `{name: sequence_metrics(...)}` -> `{'psnr': ..., 'ssim': ...}`."""
    keys = [k for k in ("psnr", "ssim", "delta_psnr", "delta_ssim") if all(k in v for v in per_video.values())]
    return {k: float(np.mean([v[k] for v in per_video.values()])) for k in keys}


def delta_metrics(enhanced_y: Sequence, compressed_y: Sequence, raw_y: Sequence, compute_ssim: bool = True) -> dict:
    """Delta-PSNR and delta-SSIM of one compressed video on its Y plane (paper Table 3).

    `enhanced_y`, `compressed_y`, `raw_y`: `(T, H, W)` or `(T, H, W, 1)` luma on 0-255. Per frame,
    delta = metric(enhanced, raw) - metric(compressed, raw); the video's value is the mean over its
    frames. Returns `{'delta_psnr', 'delta_ssim', 'psnr_enhanced', 'psnr_compressed', 'ssim_enhanced',
    'ssim_compressed', 'delta_psnr_frames', 'delta_ssim_frames'}`. Use :func:`delta_over_videos` for a
    dataset (mean over videos, not over all frames pooled). Multiply delta-SSIM by 1e4 to compare with
    Table 3.
    """
    n = len(raw_y)
    if not (len(enhanced_y) == len(compressed_y) == n):
        raise ValueError(f"frame counts differ: {len(enhanced_y)} enhanced, {len(compressed_y)} compressed, {n} raw")

    def plane(x):
        x = np.asarray(x)
        return x if x.ndim == 3 else x[..., None]

    pe = [psnr(plane(e), plane(r)) for e, r in zip(enhanced_y, raw_y)]
    pc = [psnr(plane(c), plane(r)) for c, r in zip(compressed_y, raw_y)]
    dp = [a - b for a, b in zip(pe, pc)]
    out = {"delta_psnr": float(np.mean(dp)), "psnr_enhanced": float(np.mean(pe)),
           "psnr_compressed": float(np.mean(pc)), "delta_psnr_frames": dp}
    if compute_ssim:
        se = [ssim(plane(e), plane(r)) for e, r in zip(enhanced_y, raw_y)]
        sc = [ssim(plane(c), plane(r)) for c, r in zip(compressed_y, raw_y)]
        ds = [a - b for a, b in zip(se, sc)]
        out.update(delta_ssim=float(np.mean(ds)), ssim_enhanced=float(np.mean(se)),
                   ssim_compressed=float(np.mean(sc)), delta_ssim_frames=ds)
    return out


def delta_over_videos(per_video: dict) -> dict:
    """Dataset delta metrics: mean over videos of each video's per-frame mean (STDF/MFQEv2 protocol)."""
    return dataset_metrics(per_video)


# ----------------------------------------------------------------------------- torch, for validation
def rgb_to_y_torch(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma `(..., 1, H, W)` in [16/255, 235/255] of RGB `(..., 3, H, W)` in [0, 1]."""
    w = torch.tensor(_Y_WEIGHTS / 255.0, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * w).sum(dim=-3, keepdim=True) + 16.0 / 255.0


def _prepare_torch(x, ref, crop_border, test_y):
    if x.shape != ref.shape:
        raise ValueError(f"tensor shapes differ: {tuple(x.shape)} vs {tuple(ref.shape)}")
    if crop_border > 0:
        x = x[..., crop_border:-crop_border, crop_border:-crop_border]
        ref = ref[..., crop_border:-crop_border, crop_border:-crop_border]
    if test_y and x.shape[-3] == 3:
        x, ref = rgb_to_y_torch(x), rgb_to_y_torch(ref)
    return x, ref


def psnr_torch(x: torch.Tensor, ref: torch.Tensor, crop_border: int = 0, test_y: bool = False) -> torch.Tensor:
    """PSNR per image of `(..., C, H, W)` tensors in [0, 1] -> `(...)`; not quantised to uint8 (unlike :func:`psnr`)."""
    x, ref = _prepare_torch(x.double(), ref.double(), crop_border, test_y)
    mse = ((x - ref) ** 2).mean(dim=(-3, -2, -1))
    return 10.0 * torch.log10(1.0 / mse)  # inf where mse == 0, as the NumPy version


def ssim_torch(x: torch.Tensor, ref: torch.Tensor, crop_border: int = 0, test_y: bool = False) -> torch.Tensor:
    """SSIM per image of `(..., C, H, W)` tensors in [0, 1] -> `(...)`, same window and constants as :func:`ssim`."""
    x, ref = _prepare_torch(x.double() * 255.0, ref.double() * 255.0, crop_border, test_y)
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    a = x.reshape(-1, 1, h, w)
    b = ref.reshape(-1, 1, h, w)
    k = torch.from_numpy(gaussian_kernel_1d()).to(a)
    win = (k[:, None] * k[None, :]).view(1, 1, SSIM_WINDOW, SSIM_WINDOW)

    def blur(t):
        return F.conv2d(t, win)  # no padding = 'valid'

    c1, c2 = (SSIM_K1 * 255.0) ** 2, (SSIM_K2 * 255.0) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    per_channel = ssim_map.mean(dim=(-2, -1)).view(*lead, -1)   # (..., C')
    return per_channel.mean(dim=-1)
