# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Metrics and their conventions
#
# Tables 1-3 of the paper report PSNR and SSIM, and differences between methods of a few hundredths of
# a dB. At that scale the *conventions* matter as much as the restorer: RGB or luma, a cropped border or
# not, rounding to uint8 or not, averaging over frames or over videos first. Published numbers are only
# comparable when all of them match, and papers rarely print them. This chapter states each convention
# as an equation or a line of code, checks it, and records which one each of the book's tables uses. It
# walks through `s2svr/metrics.py` (`psnr`, `ssim`, `rgb_to_y`, `to_uint8`, `sequence_metrics`,
# `dataset_metrics`, `delta_metrics`, `delta_over_videos`, and the torch versions `psnr_torch`,
# `ssim_torch` used for validation during training), with the per-dataset choice made by
# `metric_convention` in `s2svr/train/evaluate.py`.

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %%
from pathlib import Path

import numpy as np
import torch
from IPython.display import Markdown, display
from scipy.signal import convolve2d

from s2svr import metrics
from s2svr.configs import EXPERIMENTS, load_config
from s2svr.configs.chapters import chapter_budget
from s2svr.data.degrade import imresize
from s2svr.data.embedded import build_embedded, embedded_sequences
from s2svr.data.registry import get_sequences
from s2svr.data.sequence import rgb_to_y_uint8
from s2svr.metrics import (dataset_metrics, delta_metrics, delta_over_videos, psnr, rgb_to_y,
                           sequence_metrics, ssim, to_uint8)
from s2svr.report import show_source
from s2svr.train.evaluate import metric_convention

rng = np.random.default_rng(seed)
if profile == "ci":
    print("profile ci: numbers are not meaningful (3 frames per test clip)")
max_frames = chapter_budget("metrics", profile).max_frames  # frames per test clip; None = all
root = build_embedded(data_root, progress=False)  # no-op when the cache is up to date
frame_gt = embedded_sequences(root, "sr", "test")[0].gt.read([0])[0]  # (136, 320, 3) uint8

# %% [markdown]
# ## PSNR
#
# For an image $x$ and its reference $y$, both with $N$ values (pixels times channels) on the 0-255
# scale,
#
# ```{math}
# :label: eq-psnr
# \text{PSNR}(x, y) = 10 \log_{10} \frac{255^2}{\text{MSE}(x, y)}, \qquad
# \text{MSE}(x, y) = \frac1N \sum_{n=1}^{N} (x_n - y_n)^2 .
# ```
#
# `psnr` takes `(H, W, C)` arrays on the 0-255 scale (a float image in [0, 1] must be scaled first: a
# silent factor of 255 is the most common PSNR bug). Identical images have infinite PSNR, and the package
# returns `inf`, as BasicSR does, rather than a large finite number that would quietly enter an average:

# %%
noisy = np.clip(frame_gt + rng.normal(0, 5, frame_gt.shape), 0, 255)  # float, 0-255
mse = np.mean((noisy - frame_gt.astype(np.float64)) ** 2)
assert np.isclose(psnr(noisy, frame_gt), 10 * np.log10(255 ** 2 / mse))
assert psnr(frame_gt, frame_gt) == float("inf")
print(f"Gaussian noise of sigma 5 grey levels: PSNR = {psnr(noisy, frame_gt):.2f} dB "
      f"(MSE {mse:.1f})")

# %% [markdown]
# ## SSIM
#
# SSIM (Wang et al., 2004) compares local means, variances and the covariance of the two images in a
# Gaussian window $w$ (11x11, $\sigma = 1.5$) around every pixel $p$,
#
# ```{math}
# :label: eq-ssim
# \text{SSIM}(p) = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
#                       {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)},
# \qquad \mu_x = \sum_q w(q)\, x(p+q),\;\;
# \sigma_{xy} = \sum_q w(q)\, x(p+q)\,y(p+q) - \mu_x\mu_y,
# ```
#
# with $C_1 = (0.01 \cdot 255)^2$ and $C_2 = (0.03 \cdot 255)^2$. The image's SSIM is the mean of the map
# over the pixels where the whole window fits (no padding), per channel, then the mean over channels: the
# convention of BasicSR's `calculate_ssim`, which the compared methods use. Written from scratch with a
# 2-D convolution, it must equal `s2svr.metrics.ssim`, which uses a separable filter:

# %%
def ssim_from_scratch(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of (H, W, C) arrays on 0-255: 'valid' 11x11 Gaussian window,
    mean over the map, then over channels."""
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
    win = np.outer(g, g) / np.outer(g, g).sum()  # (11, 11), sums to 1
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = []
    for c in range(x.shape[-1]):
        a, b = x[..., c].astype(np.float64), y[..., c].astype(np.float64)
        mean = lambda img: convolve2d(img, win, mode="valid")  # noqa: E731 (symmetric window)
        mu_a, mu_b = mean(a), mean(b)
        var_a, var_b = mean(a * a) - mu_a ** 2, mean(b * b) - mu_b ** 2
        cov = mean(a * b) - mu_a * mu_b
        ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
            (mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
        scores.append(ssim_map.mean())
    return float(np.mean(scores))


mine, theirs = ssim_from_scratch(noisy, frame_gt), ssim(noisy, frame_gt)
assert abs(mine - theirs) < 1e-10, (mine, theirs)
assert ssim(frame_gt, frame_gt) == 1.0
# the torch version (validation during training) agrees up to float rounding
as_tensor = lambda img: torch.from_numpy(np.asarray(img) / 255.0).permute(2, 0, 1)  # noqa: E731
assert abs(float(metrics.ssim_torch(as_tensor(noisy), as_tensor(frame_gt))) - theirs) < 1e-6
print(f"SSIM from scratch {mine:.8f} == s2svr.metrics.ssim {theirs:.8f}")

# %% [markdown]
# ## RGB or luma
#
# Many video papers score only the luma Y of ITU-R BT.601, computed as MATLAB's `rgb2ycbcr` does, because
# that is what their predecessors did. For $R, G, B \in [0, 1]$ it maps to "studio range" values,
#
# ```{math}
# :label: eq-rgb2ycbcr
# \begin{pmatrix} Y \\ C_b \\ C_r \end{pmatrix} =
# \begin{pmatrix} 16 \\ 128 \\ 128 \end{pmatrix} +
# \begin{pmatrix} 65.481 & 128.553 & 24.966 \\ -37.797 & -74.203 & 112.0 \\ 112.0 & -93.786 & -18.214
# \end{pmatrix}
# \begin{pmatrix} R \\ G \\ B \end{pmatrix},
# ```
#
# so $Y \in [16, 235]$. `rgb_to_y` keeps $Y$ as a float (BasicSR does not round it before scoring);
# the loaders' `rgb_to_y_uint8`, which feeds the compressed-video task with Y frames, rounds it. The
# pure colours land where the first row of {eq}`eq-rgb2ycbcr` says:

# %% [markdown]
# The package's lines (`s2svr/metrics.py`; `BT601_Y` is the first row of {eq}`eq-rgb2ycbcr`, the one copy in the
# package):

# %%
show_source(rgb_to_y)

# %%
pure = {"black": (0, 0, 0), "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255),
        "white": (255, 255, 255)}
expected = {"black": 16.0, "red": 16 + 65.481, "green": 16 + 128.553, "blue": 16 + 24.966,
            "white": 235.0}
for name, rgb in pure.items():
    y = float(rgb_to_y(np.array(rgb, np.float64).reshape(1, 1, 3))[0, 0, 0])
    assert np.isclose(y, expected[name]), (name, y)
    y8 = int(rgb_to_y_uint8(np.array(rgb, np.uint8).reshape(1, 1, 3))[0, 0, 0])
    assert y8 == round(expected[name])
    print(f"{name:5s} RGB {str(rgb):15s} -> Y = {y:7.3f} (uint8: {y8})")

# %% [markdown]
# Luma PSNR is not RGB PSNR: on the same bicubic x4 reconstruction, the Y channel (where most of the
# detail and little of the chroma error lives, and whose range is 219 rather than 255 grey levels) scores
# higher. A table that mixes the two conventions compares numbers about a dB apart:

# %%
sr_seq = embedded_sequences(root, "sr", "test")[0]
up = imresize(sr_seq.lq.read([0])[0], 4.0)  # bicubic x4 reconstruction of frame 0
for test_y in (False, True):
    print(f"{'Y  ' if test_y else 'RGB'}: PSNR {psnr(up, frame_gt, test_y=test_y):.2f} dB, "
          f"SSIM {ssim(up, frame_gt, test_y=test_y):.4f}")
assert psnr(up, frame_gt, test_y=True) > psnr(up, frame_gt)

# %% [markdown]
# ## Cropped borders and rounding
#
# `crop_border` removes that many pixels on every side before scoring. Image SR papers usually crop the
# scale factor (4) because every method guesses badly at the border; the video SR tables the paper copies
# its baselines from (BasicSR's configurations for BasicVSR on REDS4 and Vimeo-90K-T) crop nothing, and this book's evaluation
# uses `crop_border=0`. The crop changes the number:

# %%
for border in (0, 4, 8):
    print(f"crop_border={border}: PSNR {psnr(up, frame_gt, crop_border=border):.3f} dB")

# %% [markdown]
# A network outputs floats; the paper's numbers are computed on the images as saved, rounded to uint8
# (`to_uint8`, the rounding of BasicSR's `tensor2img`; `s2svr.train.evaluate` rounds before scoring). The
# rounding adds at most half a grey level of error and changes PSNR in the second decimal, which is the
# size of the gaps in Table 1; `psnr_torch`, used only to monitor training, does not round:

# %%
restored = np.clip(frame_gt / 255.0 + rng.normal(0, 0.01, frame_gt.shape), 0, 1)  # a float "output"
p_float = float(metrics.psnr_torch(as_tensor(restored * 255.0), as_tensor(frame_gt)))
p_uint8 = psnr(to_uint8(restored), frame_gt)
assert to_uint8(restored).dtype == np.uint8
assert np.isclose(p_float, psnr(restored * 255.0, frame_gt)), "torch and NumPy agree on floats"
print(f"float output: {p_float:.3f} dB; rounded to uint8: {p_uint8:.3f} dB "
      f"({p_uint8 - p_float:+.3f})")

# %% [markdown]
# ## Averages: frames, videos, datasets, and deltas
#
# A video's score is the mean of its per-frame scores (`sequence_metrics`), and a dataset's is the mean
# over its videos (`dataset_metrics`). For compressed video, Table 3 reports the improvement over the
# compressed input, on the Y plane, per frame, then averaged per video and over videos,
#
# ```{math}
# :label: eq-delta
# \Delta\text{PSNR} = \frac{1}{V} \sum_{v=1}^{V} \frac{1}{T_v} \sum_{t=1}^{T_v}
#   \Big[\text{PSNR}(\hat{y}_{v,t}, y_{v,t}) - \text{PSNR}(c_{v,t}, y_{v,t})\Big],
# ```
#
# with $\hat{y}$ the enhanced, $c$ the compressed and $y$ the raw luma, and the same for $\Delta$SSIM
# (reported $\times 10^{-4}$). MFQEv2's 18 test videos have from 150 to 600 frames, so the order matters:
# pooling all frames first would weight a long video more. A worked example with two videos of unequal
# length, made of random texture and noise so that the answer is known: in video A (10 frames) the
# "enhancer" halves the noise (+6 dB), in video B (100 frames) it removes only a little of it:

# %%
def toy_video(frames: int, sigma_in: float, sigma_out: float):
    """Raw Y texture, a 'compressed' copy with noise sigma_in, an 'enhanced' one with sigma_out."""
    raw = rng.uniform(16, 235, (frames, 48, 48))
    noise = rng.normal(0, 1, raw.shape)
    return raw + sigma_out * noise, raw + sigma_in * noise, raw  # enhanced, compressed, raw


per_video = {"A (10 frames)": delta_metrics(*toy_video(10, 8.0, 4.0)),
             "B (100 frames)": delta_metrics(*toy_video(100, 8.0, 7.0))}
for name, m in per_video.items():
    print(f"{name:15s} delta-PSNR {m['delta_psnr']:+.3f} dB, "
          f"delta-SSIM {1e4 * m['delta_ssim']:+.1f} x 1e-4")
over_videos = delta_over_videos(per_video)["delta_psnr"]
pooled = np.mean(np.concatenate([m["delta_psnr_frames"] for m in per_video.values()]))
assert np.isclose(over_videos, np.mean([m["delta_psnr"] for m in per_video.values()]))
assert abs(over_videos - pooled) > 1.0
print(f"per frame -> per video -> over videos (Table 3): {over_videos:+.3f} dB")
print(f"all frames pooled (wrong order):                 {pooled:+.3f} dB")

# %% [markdown]
# ## Which convention each table uses
#
# The choice is made in one place, `metric_convention`, from each experiment's configuration; the table
# below is generated from it, so it cannot drift from what the evaluation does:

# %% mystnb={"markdown_format": "gfm"}
paper_table = {"sr_reds4": "Table 1, REDS4", "sr_vimeo": "Table 1, Vimeo-90K-T",
               "deblur_gopro": "Table 2, GOPRO", "vqe_mfqe": "Table 3, MFQEv2 (QP 37)"}
rows = ["| paper table | config | metric | channels | crop_border | averaged |",
        "| --- | --- | --- | --- | --- | --- |"]
conventions = {}
for name in EXPERIMENTS:
    conv = metric_convention(load_config(name, "paper"))
    conventions[name] = conv
    metric = "delta-PSNR / delta-SSIM" if conv["kind"] == "delta" else "PSNR / SSIM"
    channels = "Y" if conv["test_y"] else "RGB"
    rows.append(f"| {paper_table[name]} | `{name}` | {metric} | {channels} | "
                f"{conv['crop_border']} | per frame, per video, over videos |")
assert [conventions[n]["test_y"] for n in paper_table] == [False, True, False, True]
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## Measured on the embedded test sets
#
# The numbers every restorer in this book starts from: the degraded inputs themselves scored against the
# ground truth, on the embedded test sets of the three tasks, with the conventions above (the x4 input
# upsampled back with MATLAB bicubic, the "Bicubic" row of Table 1).

# %% mystnb={"markdown_format": "gfm"}
def score(sequences, test_y: bool, prepare=lambda lq: lq, mode: str = "rgb") -> dict:
    """Mean over the videos of each video's mean per-frame PSNR/SSIM of the degraded input."""
    per_video = {}
    for seq in sequences:
        frames = range(len(seq) if max_frames is None else min(len(seq), max_frames))
        lq, gt = seq.lq.read(frames, mode), seq.gt.read(frames, mode)
        per_video[seq.name] = sequence_metrics(prepare(lq), gt, test_y=test_y)
    return dataset_metrics(per_video)


upsample = lambda lq: imresize(lq, 4.0)  # noqa: E731 (MATLAB bicubic x4 back up)
test_sets = {task: embedded_sequences(root, task, "test") for task in ("sr", "deblur", "vqe")}
measured = {
    "sr_rgb": score(test_sets["sr"], False, prepare=upsample),
    "sr_y": score(test_sets["sr"], True, prepare=upsample),
    "deblur": score(test_sets["deblur"], False),
    "vqe_y": score(test_sets["vqe"], False, mode="y"),  # Y read straight from the YUV files
}
for m in measured.values():
    assert 15 < m["psnr"] < 50 and 0 < m["ssim"] < 1
rows = ["| task, input | convention | PSNR (dB) | SSIM |", "| --- | --- | --- | --- |"]
labels = {"sr_rgb": ("x4 SR, bicubic", "RGB (REDS4's)"),
          "sr_y": ("x4 SR, bicubic", "Y (Vimeo-90K-T's)"),
          "deblur": ("deblurring, blurred input", "RGB (GOPRO's)"),
          "vqe_y": ("compressed, x265 QP 37", "Y, from the YUV file")}
for key, m in measured.items():
    rows.append(f"| {labels[key][0]} | {labels[key][1]} | {m['psnr']:.2f} | {m['ssim']:.4f} |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# Set beside the paper's Table 1 (the numbers marked "paper" are copied from it; the others are measured
# here, now):

# %% mystnb={"markdown_format": "gfm"}
paper_bicubic = {"REDS4 (RGB)": (26.14, 0.7292), "Vimeo-90K-T (Y)": (31.32, 0.8684)}
mine = {"REDS4 (RGB)": measured["sr_rgb"], "Vimeo-90K-T (Y)": measured["sr_y"]}
# With the {ref}`paper profile <profiles>` and a real test set on disk, its bicubic row is measured too.
real_sets = {"REDS4 (RGB)": ("reds", "data/REDS", False),
             "Vimeo-90K-T (Y)": ("vimeo", "data/vimeo90k", True)}
real = {}
for name, (ds, path, test_y) in real_sets.items():
    if profile == "paper" and Path(path).is_dir():
        real[name] = score(get_sequences(ds, path, "sr", "test"), test_y, prepare=upsample)
print("real test sets measured: " + (", ".join(real) if real else "none on this machine"))
rows = ["| Bicubic x4 | paper: PSNR / SSIM | embedded test set, measured: PSNR / SSIM |"
        + (" real test set, measured |" if real else ""),
        "| --- | --- | --- |" + (" --- |" if real else "")]
for name, (p, s) in paper_bicubic.items():
    row = (f"| {name} | {p:.2f} / {s:.4f} (paper) | "
           f"{mine[name]['psnr']:.2f} / {mine[name]['ssim']:.4f} (measured) |")
    if real:
        row += (f" {real[name]['psnr']:.2f} / {real[name]['ssim']:.4f} (measured) |" if name in real
                else " not on disk |")
    rows.append(row)
display(Markdown("\n".join(rows)))

# %% [markdown]
# The measured and the paper's numbers are not expected to agree, and the difference says nothing about
# the code: the embedded test set is four short clips of street footage and a 176x144 head-and-shoulders
# sequence (downscaled x2 for the bikes clips, which packs more detail into each pixel), while REDS4 is
# four 100-frame 1280x720 clips and Vimeo-90K-T 7,824 448x256 septuplets, each with its own amount of
# fine texture. What carries over is the *relation* between conventions (Y scores above RGB on the same
# frames) and, in later chapters, the gains of restorers over these baselines on the same frames. Table 2
# has no row for the blurred input and Table 3 reports only deltas, so the deblurring and compressed-video
# numbers above have no paper counterpart; the compressed ones also depend on x265 standing in for HM 16.5.
