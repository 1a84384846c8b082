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
# # Degradations: bicubic x4, blur, HEVC QP37
#
# The three tasks of the paper differ only in how the low-quality input was made from the clean video:
# downscaled four times with MATLAB's bicubic `imresize` (REDS, Vimeo-90K), blurred by averaging frames of
# a 240 fps camera (GOPRO), or compressed by an HEVC encoder at a fixed quantiser (MFQEv2). A restorer
# learns to invert exactly one of these processes, so the book makes each of them from its definition,
# bit-exactly where the definition allows it. This chapter walks through `s2svr/data/degrade.py`
# (`cubic`, `imresize`, `bicubic_x4`, `synthesize_blur`, `hfr_camera_path`, `hevc_compress`), with the
# camera paths of `s2svr/data/synthetic_flow.py` and the YUV conversions of `s2svr/data/video_io.py`.
# Frames at this layer are uint8 arrays `(T, H, W, C)`.

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from s2svr.configs.chapters import chapter_budget
from s2svr.report.figures import grid_jpeg, image_slider, plot_row, zoom_box
from s2svr.data import embedded_recipe
from s2svr.data.degrade import (bicubic_x4, cubic, hevc_compress, hfr_camera_path, imresize,
                                output_size, synthesize_blur, _contributions)
from s2svr.data.embedded import build_embedded, embedded_sequences
from s2svr.data.video_io import read_yuv420_frame
from s2svr.metrics import psnr, sequence_metrics
from s2svr.report import show_source

if profile == "ci":
    print("profile ci: numbers are not meaningful (few frames)")
budget = chapter_budget("degradations", profile)  # sizes per profile: s2svr/configs/chapters.yaml
num_hfr = budget.num_hfr  # frames rendered at high frame rate
num_slider = budget.num_slider  # slider positions
qps = budget.qps
root = build_embedded(data_root, progress=False)  # no-op when the cache is up to date

# %% [markdown]
# ## Bicubic x4, as MATLAB does it
#
# Every x4 video super-resolution benchmark of Table 1 makes its input with MATLAB's
# `imresize(img, 1/4, 'bicubic')`. "Bicubic" is not one function: OpenCV's `INTER_CUBIC`, for one, uses
# another kernel parameter ($a = -0.75$) and no antialiasing, and libraries differ in padding and rounding;
# a network trained on one downscaler can lose a fraction of a dB on another. MATLAB interpolates with
# Keys' cubic convolution kernel with $a = -\tfrac12$,
#
# ```{math}
# :label: eq-keys-cubic
# k(x) = \begin{cases}
#   \tfrac32 |x|^3 - \tfrac52 |x|^2 + 1, & |x| \le 1,\\[2pt]
#   -\tfrac12 |x|^3 + \tfrac52 |x|^2 - 4|x| + 2, & 1 < |x| \le 2,\\[2pt]
#   0, & \text{otherwise,}
# \end{cases}
# ```
#
# which is `cubic` in the package:

# %%
show_source(cubic)

# %% [markdown]
# It interpolates ($k(0) = 1$, $k(\pm1) = k(\pm2) = 0$) and its integer
# translates sum to one, so a constant signal stays constant:

# %%
x = np.linspace(-3, 3, 601)
assert cubic(np.array([0.0]))[0] == 1 and np.all(cubic(np.array([-2.0, -1.0, 1.0, 2.0])) == 0)
inner = np.linspace(-1, 1, 201)
partition = cubic(inner[:, None] - np.arange(-3, 4)[None, :]).sum(1)  # sum_j k(x - j)
assert np.allclose(partition, 1.0), "the kernel's translates must sum to one"
fig, ax = plt.subplots(figsize=(6, 2.6))
ax.plot(x, cubic(x), label="k(x), a = -1/2")
ax.plot(x, 0.25 * cubic(0.25 * x), label="k_s(x) = s k(s x), s = 1/4 (antialiased)")
ax.axhline(0, color="grey", lw=0.5)
ax.set_xlabel("distance in input pixels")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# To resize by a factor $s$, output pixel $i$ (1-based) sits at $u_i = i/s + \tfrac12(1 - 1/s)$ in input
# pixel units (pixel centres aligned), and is a normalised weighted sum of the input pixels $x_j$ near it,
#
# ```{math}
# :label: eq-imresize
# y_i = \frac{\sum_j k_s(u_i - j)\, x_{m(j)}}{\sum_j k_s(u_i - j)}, \qquad
# k_s(x) = \begin{cases} s\,k(s x), & s < 1 \text{ (antialiasing)},\\ k(x), & s \ge 1, \end{cases}
# ```
#
# where $m(j)$ mirrors indices that fall outside the image (symmetric padding, the edge pixel repeated).
# When *downscaling*, MATLAB stretches the kernel by $1/s$: at $s = 1/4$ each output pixel averages a
# 16-pixel window, a low-pass filter matched to the new sampling rate. The 2-D resize applies
# {eq}`eq-imresize` to the rows, then to the columns, and MATLAB's output size is
# $\lceil s \cdot \text{size} \rceil$. `imresize` implements this; the one known difference from MATLAB is
# that uint8 input is rounded once at the end instead of after each 1-D pass (at most one grey level on a
# few pixels, as in BasicSR's port). The weights $k_s(u_i - j)$, normalised, and the two 1-D passes:

# %%
show_source(_contributions, imresize)

# %% [markdown]
# A constant image must stay constant at every scale, and the output size is MATLAB's:

# %%
assert output_size(130, 0.25) == 33 and output_size(256, 0.25) == 64
for scale in (0.25, 0.3, 0.5, 2.0, 4.0):
    flat = np.full((37, 50, 3), 128, np.uint8)
    out = imresize(flat, scale)
    assert out.shape[:2] == (output_size(37, scale), output_size(50, scale))
    assert np.all(out == 128), f"a constant image changed at scale {scale}"
    flat_f = np.full((37, 50), 0.7)
    assert np.allclose(imresize(flat_f, scale), 0.7)
print("constant images stay constant at scales 1/4, 0.3, 1/2, 2, 4")
print("(uint8 exactly, float to rounding)")

# %% [markdown]
# **Why antialiasing matters.** A zone plate $\tfrac12 + \tfrac12\cos(\pi r^2 / N)$ has a local frequency
# that grows with the distance $r$ from the centre, up to the Nyquist limit at the edge of an $N \times N$
# image. After a x4 downscale, every frequency above a quarter of that limit cannot be represented. With
# the stretched kernel they are filtered out and the outer rings fade to grey; with the plain kernel
# (`antialias=False`, what a naive resize does) they fold back as false rings, *aliasing*, which no
# restorer can tell apart from real texture.

# %%
n = 512
yy, xx = np.mgrid[0:n, 0:n] - (n - 1) / 2
zone = 0.5 + 0.5 * np.cos(np.pi * (xx ** 2 + yy ** 2) / n)  # float in [0, 1]
small_aa = imresize(zone, 0.25)
small_naive = imresize(zone, 0.25, antialias=False)
m = small_aa.shape[0]
yy, xx = np.mgrid[0:m, 0:m] - (m - 1) / 2
outer = np.hypot(xx, yy) >= m / 5  # beyond the new Nyquist radius (m / 8) and some
std_aa, std_naive = small_aa[outer].std(), small_naive[outer].std()
print("std of the x4 result beyond the new Nyquist radius:")
print(f"  {std_aa:.3f} antialiased, {std_naive:.3f} without")
assert std_aa < 0.2 * std_naive
plot_row([(zone, f"zone plate {n}x{n}"), (small_aa, "imresize 1/4 (antialiased)"),
          (small_naive, "imresize 1/4, antialias=False")], cmap="gray", height=3.2, width=10.0)

# %% [markdown]
# The same on real footage: a crop of a bikes frame (a test shot of the embedded dataset), downscaled
# x4 with and without antialiasing, each shown enlarged back with nearest neighbour so that its pixels
# stay visible. Without antialiasing, thin lines break into dots and fine patterns turn into coarser false
# ones.

# %%
frame = embedded_recipe.source_frames("bikes")[130]  # (272, 640, 3) uint8
box = (172, 404, 96, 160)  # (top, left, height, width): the crop with the most fine detail
small = {"antialiased": imresize(frame, 0.25),
         "antialias=False": imresize(frame, 0.25, antialias=False)}
crop4 = (box[0] // 4, box[1] // 4, box[2] // 4, box[3] // 4)
plot_row([(zoom_box(frame, box), "original (crop)")]
         + [(zoom_box(v, crop4, 4), f"x4 down, {k}") for k, v in small.items()],
         height=2.6, width=11.0)

# %% [markdown]
# `bicubic_x4` is `imresize(., 1/4)` applied to every frame of a clip (in chunks, to bound memory); it
# is how the embedded SR subset, and with MATLAB the REDS and Vimeo-90K inputs, were made:

# %%
sr_test = embedded_sequences(root, "sr", "test")[0]
frames_gt = sr_test.gt.read(range(3))  # (3, 136, 320, 3)
frames_lq = bicubic_x4(frames_gt)  # (3, 34, 80, 3)
assert frames_lq.shape == (3, 34, 80, 3)
assert all(np.array_equal(frames_lq[t], imresize(frames_gt[t], 0.25)) for t in range(3))
assert np.array_equal(frames_lq, sr_test.lq.read(range(3))), "the stored LQ is bicubic_x4 of the GT"
print(f"{sr_test.name}: stored LQ frames == bicubic_x4(GT frames)")
print(f"  {frames_gt.shape} -> {frames_lq.shape}")

# %% [markdown]
# ## Blur from a high-frame-rate camera
#
# GOPRO (Nah et al., 2017) filmed at 240 fps and made each blurred frame by averaging $N$ consecutive
# sharp frames (7 to 13), the middle one being the ground truth: a long exposure simulated by summing
# short ones,
#
# ```{math}
# :label: eq-gopro-blur
# B_i = \Big[\frac{1}{N} \sum_{k=0}^{N-1} S_{iN+k}\Big], \qquad
# G_i = S_{iN + \lfloor N/2 \rfloor},
# ```
#
# with $[\cdot]$ rounding to uint8. GOPRO's `blur` folders, which the paper evaluates on, average the
# stored sRGB values as written; its `blur_gamma` folders average $S^{2.2}$ and take the $1/2.2$ power,
# closer to the linear light a sensor integrates (`gamma=2.2` in `synthesize_blur`), which implements
# {eq}`eq-gopro-blur`:

# %%
show_source(synthesize_blur)

# %% [markdown]
# The embedded footage is 25-30 fps, so `hfr_camera_path` makes the high-frame-rate video: output frame
# $i$ shows real frame $i$ (the scene's own motion stays real), seen through a virtual camera moving along
# a smooth random path (`synthetic_flow.CameraPath`: drift, hand-shake sinusoids, slight rotation and
# zoom), rendered at $N$ sub-frame poses spread over one frame interval. Here with $N = 13$, on a test shot
# (bikes frames 190 on):

# %%
window = 13
src = embedded_recipe.source_frames("bikes")[190:190 + num_hfr]  # (T, 272, 640, 3)
hfr = hfr_camera_path(src, window, (160, 160), seed=seed, speed=(8.0, 14.0))  # (T * 13, 160, 160, 3)
assert hfr.shape == (num_hfr * window, 160, 160, 3)
groups = hfr.reshape(num_hfr, window, 160, 160, 3)  # sub-frames of each output frame
mid = window // 2

blurred = {}
for n_avg in range(1, window + 1, 2):  # the centred n_avg sub-frames of each frame
    sub = groups[:, mid - n_avg // 2: mid + n_avg // 2 + 1].reshape(-1, 160, 160, 3)
    blur, sharp = synthesize_blur(sub, n_avg)  # (T, 160, 160, 3) each
    assert np.array_equal(sharp, groups[:, mid]), "the ground truth is the middle sub-frame"
    blurred[n_avg] = blur
assert np.array_equal(blurred[1], groups[:, mid]), "one sub-frame is no blur"

sharp = groups[:, mid]
windows = [w for w in blurred if w > 1]
blur_psnr = [sequence_metrics(blurred[w], sharp, compute_ssim=False)["psnr"] for w in windows]
assert all(a > b for a, b in zip(blur_psnr, blur_psnr[1:])), "longer exposures must blur more"
for w, p in zip(windows, blur_psnr):
    print(f"N = {w:2d} sub-frames: PSNR(blurred, sharp) = {p:.2f} dB")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.0), gridspec_kw={"width_ratios": [1, 2]})
axes[0].plot(windows, blur_psnr, "o-")
axes[0].set_xlabel("sub-frames averaged, N")
axes[0].set_ylabel("PSNR vs sharp (dB, RGB)")
axes[0].set_title("longer exposure, stronger blur", fontsize=9)
strip = np.concatenate([sharp[0], blurred[5][0], blurred[window][0]], axis=1)
axes[1].imshow(strip)
axes[1].set_title(f"sharp | N = 5 | N = {window}", fontsize=9)
axes[1].axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# Averaging in linear light (`gamma=2.2`) weights bright pixels more; on this footage the difference is
# small next to the blur itself:

# %%
blur_gamma, _ = synthesize_blur(hfr, window, gamma=2.2)
p_lin = sequence_metrics(blur_gamma, sharp, compute_ssim=False)["psnr"]
print(f"N = {window}: {blur_psnr[-1]:.2f} dB averaging stored values (GOPRO 'blur')")
print(f"{'':7s} {p_lin:.2f} dB with gamma 2.2 ('blur_gamma')")

# %% [markdown]
# The embedded deblurring subset is made this way with $N = 9$ and mean camera speeds of 4-14 pixels per
# frame (its card in the previous chapter lists the clips and their PSNR).
#
# ## HEVC at QP 37, low-delay P
#
# MFQEv2 and the paper's Table 3 compress the raw YUV 4:2:0 videos with the HEVC reference encoder HM 16.5
# in its *low-delay P* (LDP) configuration at QP 37: the first frame is intra-coded (I), every later frame
# is predicted (P) from frames before it only, so a decoder can play the stream as it arrives. The
# quantiser sets the step with which transform coefficients are rounded,
#
# ```{math}
# :label: eq-qstep
# Q_\text{step} = 2^{(\text{QP} - 4)/6},
# ```
#
# so every +6 in QP doubles the step; QP 37 ($Q_\text{step} \approx 45$) is the strongest compression of
# the usual 22 / 27 / 32 / 37 series. `hevc_compress` encodes with x265 (through PyAV) at constant QP,
# with `bframes=0`, `keyint` = the clip's length and `scenecut=0` (one I-frame, then P-frames only), and
# decodes again; the planes it returns are exactly the decoder's output:

# %%
show_source(hevc_compress)

# %% [markdown]
# On the embedded carphone clip, the raw frames of the compressed-video test set:

# %%
vqe_test = {s.name: s for s in embedded_sequences(root, "vqe", "test")}["vqe/carphone"]
w, h = vqe_test.gt.size
t_max = len(vqe_test)
planes = [read_yuv420_frame(vqe_test.gt.path, w, h, i) for i in range(t_max)]
raw = tuple(np.stack([p[c] for p in planes]) for c in range(3))  # Y (T, H, W), U, V (T, H/2, W/2)
(y_c, u_c, v_c), info = hevc_compress(raw, qp=37, return_info=True)
types = "".join(t[0] for t in info["pict_types"])
print(f"{t_max} frames {w}x{h}, {info['bytes'] / 1000:.1f} kB; decoded picture types:")
print(types)
assert types == "I" + "P" * (t_max - 1), "low-delay P: one I-frame, then P-frames only"
stored_y = np.stack([read_yuv420_frame(vqe_test.lq.path, w, h, i)[0] for i in range(t_max)])
assert np.array_equal(stored_y, y_c), "the stored QP37 input is this encoder's output, bit for bit"
print("the embedded x265_LDP/QP37 file is reproduced bit for bit")

# %% [markdown]
# Quality is measured on the luma plane Y read straight from the YUV file, per frame (the next chapter
# says why this convention). The I-frame costs many more bits and comes out better; the P-frames that
# follow predict from already-degraded references, so their quality is lower and fluctuates with the
# motion:

# %%
psnr_y = [psnr(y_c[t][..., None], raw[0][t][..., None]) for t in range(t_max)]
fig, ax = plt.subplots(figsize=(8, 2.8))
ax.plot(range(1, t_max), psnr_y[1:], ".-", label="P-frames")
ax.plot([0], psnr_y[:1], "o", color="C3", label="I-frame")
ax.set_xlabel("frame")
ax.set_ylabel("PSNR-Y (dB)")
ax.set_title(f"carphone, x265 QP 37 low-delay P: mean {np.mean(psnr_y):.2f} dB", fontsize=9)
ax.legend(fontsize=8)
plt.show()
assert psnr_y[0] > np.mean(psnr_y[1:]), "the I-frame is coded with more bits"
print(f"PSNR-Y: I-frame {psnr_y[0]:.2f} dB, P-frames {np.mean(psnr_y[1:]):.2f} dB on average")

# %% [markdown]
# Each step of 5 in QP multiplies the step of {eq}`eq-qstep` by $2^{5/6} \approx 1.8$: a few dB of PSNR
# lost, a large share of the bits saved:

# %%
for qp in qps:
    (y_q, _, _), info_q = hevc_compress(raw, qp=qp, return_info=True)
    p_q = np.mean([psnr(y_q[t][..., None], raw[0][t][..., None]) for t in range(t_max)])
    print(f"QP {qp}: Q_step = {2 ** ((qp - 4) / 6):5.1f}, "
          f"{info_q['bytes'] / 1000:5.1f} kB, PSNR-Y {p_q:.2f} dB")

# %% [markdown]
# **x265 is a stand-in for HM 16.5, not HM.** Both produce standard HEVC bitstreams with one I-frame and
# P-frames, but the encoders decide differently. HM's LDP configuration codes its four-frame groups with
# QP offsets (+3, +2, +3, +1 above the base QP, so P-frames at QP 38-40) and four reference pictures,
# with HM's slow rate-distortion-optimised decisions; `hevc_compress` keeps every P-frame at QP 37, lets x265
# give the I-frame a lower QP (its `ipratio`), and uses x265's faster `medium` decisions. The compressed
# PSNR of the same video therefore differs from HM's by a fraction of a dB, and the *deltas* of Table 3
# (enhanced minus compressed) are only comparable between methods evaluated on the same compressed
# files. With HM available, `data_scripts/prepare_mfqe.py --hm-encoder ...` makes the paper's inputs.
#
# ## The three degradations side by side
#
# One test clip (`deblur/bikes_190` of the embedded deblurring subset, 160x160) through each process:
# bicubic x4 (shown upsampled back with `imresize`), the stored GOPRO-style blur, and x265 at QP 37.
# Drag the slider to move through the frames; the bottom row zooms on one region. The images were
# computed when the book was built, so the slider works without a kernel.

# %%
db_test = {s.name: s for s in embedded_sequences(root, "deblur", "test")}["deblur/bikes_190"]
count = min(num_slider, len(db_test))
sharp_clip = db_test.gt.read(range(count))  # (T, 160, 160, 3)
variants = {"GT": sharp_clip,
            "bicubic x4, up x4": imresize(bicubic_x4(sharp_clip), 4.0),
            "blurred (N = 9)": db_test.lq.read(range(count)),
            "x265 QP 37": hevc_compress(sharp_clip, qp=37)}
zoom = (40, 56, 48, 48)  # (top, left, height, width)
images = []
for t in range(count):
    top_row = [(v[t], f"{name}, {psnr(v[t], sharp_clip[t]):.1f} dB" if name != "GT" else name)
               for name, v in variants.items()]
    bottom_row = [(zoom_box(v[t], zoom), "zoom") for v in variants.values()]
    images.append(grid_jpeg([top_row, bottom_row], height=2.2, width=8.8))
display(image_slider(images, [str(t) for t in range(count)], description="frame",
                     width="640px"))
