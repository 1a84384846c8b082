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
# # PWC-Lite: the flow estimator
#
# S2SVR needs a flow estimator $F_o$ for the motion compensation of Eq. (8), and Sec. 3.3 ends
# with: "In implementation, we adopt a lightweight flow model pwclite (Liu et al., 2020) as our
# optical flow network." PWC-Lite is the network of ARFlow, a slimmed-down PWC-Net: **P**yramid,
# **W**arping, **C**ost volume. This chapter takes it apart, one component at a time, in the
# package's modules:
#
# - `s2svr/flow/pwclite.py`: `PWCLite` and its parts `FeaturePyramid`, `FlowEstimator`,
#   `ContextNetwork`;
# - `s2svr/flow/correlation.py`: `correlation`, the cost volume;
# - `s2svr/flow/visualize.py`: `flow_to_color`, the colour code used for every flow in the book.
#
# Warping itself (`flow_warp`, `resize_flow`) was the subject of the previous chapter, "Warping
# and occlusion". The network here is **untrained**: the point is to see what each part computes
# and why it must be trained, which the next two chapters do without ground truth.

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %%
import platform
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display

from s2svr.configs.chapters import chapter_budget
from s2svr.report import start_chapter
from s2svr.report.figures import box_diagram, plot_row
from s2svr.data.embedded import embedded_flow_pairs
from s2svr.flow import PWCLite, correlation, flow_to_color, flow_warp, resize_flow
from s2svr.flow.pwclite import normalise_features
from s2svr.report import show_source
from s2svr.train.flow_evaluate import endpoint_error
from s2svr.data.flow_pairs import normalise_pair
from s2svr.flow.pwclite import NUM_DECODE_LEVELS, PYRAMID_CHANNELS
from s2svr.utils import count_parameters

start_chapter(profile, seed)  # seed, one torch thread, the ci notice
budget = chapter_budget("pwclite", profile)  # sizes per profile: s2svr/configs/chapters.yaml
timing_sizes, timing_repeats = budget.timing_sizes, budget.timing_repeats
hardware = f"CPU ({platform.processor() or platform.machine()}), 1 thread"

# %% [markdown]
# ## The data of this chapter
#
# One frame pair of the embedded flow set (chapter "The data"): real photographs moving as
# layers over a real video frame, rendered at 128 x 128, so that the true flow
# `flow_fw` $=F_{1\to 2}$, the backward flow and the occlusion map are known exactly. We take the
# test pair with the most pixels that move by at least one pixel but stay within the search window
# of the cost volume below (at most 3.5 pixels along each axis).

# %%
pairs = embedded_flow_pairs(data_root, "test", "none")
raw = max(pairs, key=lambda p: float(((np.abs(p["flow_fw"]).max(0) >= 1)
                                       & (np.abs(p["flow_fw"]).max(0) <= 3.5)).mean()))
pair = normalise_pair(raw)  # float tensors (C, H, W) in [0, 1]
img1, img2 = pair["hq1"][None], pair["hq2"][None]  # (B, 3, H, W)
flow_gt = pair["flow_fw"][None]  # (B, 2, H, W), pixels, channel 0 = x
visible_gt = 1 - pair["occlusion"][None]  # (B, 1, H, W), 1 = visible in frame 2
b, _, h, w = img1.shape
speed = flow_gt.norm(dim=1)
print(f"{raw['name']}: frames {tuple(img1.shape)}, |flow| mean {speed.mean():.2f} px, "
      f"max {speed.max():.2f} px, occluded {1 - visible_gt.mean():.1%}")
# the pair is consistent: frame 2 warped by the true flow is frame 1 where visible
err_warp = float(((flow_warp(img2, flow_gt) - img1).abs() * visible_gt).sum()
                 / (3 * visible_gt.sum()))
err_none = float(((img2 - img1).abs() * visible_gt).sum() / (3 * visible_gt.sum()))
print(f"mean |x1 - x2| on visible pixels: {err_none:.4f} unaligned, "
      f"{err_warp:.4f} after warping with the true flow")
assert err_warp < 0.5 * err_none

# %% [markdown]
# ## The architecture at a glance
#
# Both frames go through the same **feature pyramid**: six stride-2 stages, so the features of
# level $l$ have $1/2^l$ of the resolution. Decoding starts at the coarsest level (1/64) with a
# zero flow and goes up to 1/4. At every level:
#
# 1. the flow of the coarser level is upsampled x2 (and its vectors doubled);
# 2. frame 2's features are **warped** by it onto frame 1 (the backward warp of the previous
#    chapter);
# 3. a **cost volume** compares each feature vector of frame 1 with those of the warped frame 2
#    in a $9\times 9$ window (search range 4);
# 4. a **flow estimator** reads the cost volume, frame 1's features (reduced to 32 channels by a
#    $1\times 1$ convolution) and the current flow, and predicts a flow *residual*;
# 5. a dilated **context network** refines that flow once more.
#
# The estimator and the context network are *shared* by the five levels. The 1/4 flow is finally
# upsampled x4 to the input size. In the diagram, grey boxes hold data, blue boxes are modules
# with parameters, the dashed arrow is the loop over levels.

# %%
boxes = {
    "x1": (0.2, 3.4, 1.3, 0.6, "frame 1", "#eeeeee"),
    "x2": (0.2, 1.0, 1.3, 0.6, "frame 2", "#eeeeee"),
    "pyr": (2.1, 1.7, 1.9, 1.6, "feature pyramid\n6 stride-2 stages\n16 ... 192 ch\n(shared)"),
    "f1": (4.7, 3.4, 1.2, 0.6, "$f_1^l$", "#eeeeee"),
    "f2": (4.7, 1.0, 1.2, 0.6, "$f_2^l$", "#eeeeee"),
    "up": (4.4, -0.3, 1.8, 0.7, "flow of level $l-1$\nupsampled x2", "#eeeeee"),
    "warp": (6.7, 1.0, 1.4, 0.6, "warp $f_2^l$", "#e8f7ee"),
    "red": (6.7, 3.4, 1.4, 0.6, "1x1 conv\n-> 32 ch"),
    "corr": (8.5, 2.0, 1.5, 0.8, "cost volume\n81 ch (r = 4)", "#fff1c9"),
    "est": (10.6, 2.8, 1.9, 1.0, "flow estimator\n(reduced dense, shared)\n+ flow of level $l-1$"),
    "ctx": (10.6, 1.1, 1.9, 0.9, "context network\ndilations 1 ... 16\n(shared)"),
    "out": (10.9, -0.3, 1.3, 0.7, "flow at\nlevel $l$", "#eeeeee"),
}
arrows = [("x1", "pyr"), ("x2", "pyr"), ("pyr", "f1"), ("pyr", "f2"),
          ("f2", "warp"), ("up", "warp"), ("f1", "red"), ("f1", "corr"), ("warp", "corr"),
          ("corr", "est"), ("red", "est"), ("est", "ctx", "feat + flow"), ("ctx", "out"),
          ("out", "up", "next level", {"linestyle": "--", "color": "C1"})]
box_diagram(boxes, arrows, size=(12, 4.4), xlim=(0, 12.8), ylim=(-0.5, 4.2),
            title="PWC-Lite: one decoding level (repeated from 1/64 to 1/4)")

# %% [markdown]
# ## The feature pyramid
#
# `FeaturePyramid` has six stages of two $3\times 3$ convolutions with LeakyReLU(0.1), the first
# of stride 2; the channels grow $3 \to 16 \to 32 \to 64 \to 96 \to 128 \to 192$. It returns the
# levels coarsest first. Frames 1 and 2 are stacked along the batch so one pass computes both
# pyramids (`forward_pyramid` does the same).

# %%
net = PWCLite().eval()
with torch.no_grad():
    pyr = net.feature_pyramid(torch.cat([img1, img2], 0))  # [1/64, ..., 1/2], each (2B, C_l, h, w)
for k, f in enumerate(pyr):
    level = len(pyr) - k  # 6 (1/64) ... 1 (1/2)
    assert f.shape == (2 * b, PYRAMID_CHANNELS[level], h >> level, w >> level)
    print(f"level 1/{2 ** level:<2d}: {tuple(f.shape[1:])}"
          + ("  (decoded)" if k < NUM_DECODE_LEVELS else "  (not decoded)"))

# %% [markdown]
# The 1/2 level is computed but not decoded: decoding stops at 1/4, as in PWC-Net, to save the
# cost of the two finest (and largest) levels. Each panel below shows, for frame 1, the channel
# of largest variance at that level (scaled to [0, 1]). These are *untrained* features, i.e.
# random convolutions of the image: they already follow its structure, but nothing has yet made
# them good for matching.


# %%
def strongest_channel(f: torch.Tensor) -> torch.Tensor:
    """(C, h, w) features -> (h, w) the channel of largest spatial variance, min-max to [0, 1]."""
    c = f[f.flatten(1).var(1).argmax()]
    return (c - c.min()) / (c.max() - c.min() + 1e-8)


plot_row([(img1, f"frame 1 ({h}x{w})")]
         + [(strongest_channel(f[0]).numpy(), f"1/{2 ** (len(pyr) - k)}: {f.shape[1]} ch, "
             f"{f.shape[-2]}x{f.shape[-1]}") for k, f in reversed(list(enumerate(pyr)))],
         height=2.4, cmap="gray")

# %% [markdown]
# ## The cost volume
#
# The cost volume (correlation layer) scores how well pixel $\mathbf{x}$ of frame 1 matches each
# candidate position $\mathbf{x} + \mathbf{d}$ of frame 2, for every displacement $\mathbf{d}$ in
# a $(2r+1)\times(2r+1)$ window:
#
# ```{math}
# :label: pwclite-eq-correlation
# \mathrm{cv}(\mathbf{x}, \mathbf{d}) = \frac{1}{C}\, \big\langle f_1(\mathbf{x}),\,
#   f_2(\mathbf{x} + \mathbf{d}) \big\rangle, \qquad
#   \mathbf{d} = (d_x, d_y),\ |d_x|, |d_y| \le r,
# ```
#
# with $C$ the number of channels and $f_2 = 0$ outside the frame. With the search range
# $r = 4$ this is $81$ channels, displacement $(d_x, d_y)$ in channel
# $k = (d_y + r)(2r+1) + (d_x + r)$. `correlation` pads $f_2$ once and loops over the 81
# shifts, one channel-wise product and sum each. Here is the definition written as the most
# naive loop possible, over pixels and displacements, checked against the package on a small
# random input:

# %%
def correlation_loop(f1, f2, r):
    """Eq. (pwclite-eq-correlation) pixel by pixel: (B, C, H, W) x 2 -> (B, (2r+1)^2, H, W)."""
    bb, c, hh, ww = f1.shape
    d = 2 * r + 1
    out = torch.zeros(bb, d * d, hh, ww, dtype=f1.dtype)
    for y in range(hh):
        for x in range(ww):
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    if 0 <= y + dy < hh and 0 <= x + dx < ww:  # zero outside the frame
                        out[:, (dy + r) * d + dx + r, y, x] = (
                            f1[:, :, y, x] * f2[:, :, y + dy, x + dx]).sum(1) / c
    return out


g = torch.Generator().manual_seed(seed)
f1_small = torch.randn(2, 6, 7, 9, generator=g, dtype=torch.float64)  # (B, C, H, W)
f2_small = torch.randn(2, 6, 7, 9, generator=g, dtype=torch.float64)
cv_small = correlation(f1_small, f2_small, search_range=4)
cv_loop = correlation_loop(f1_small, f2_small, 4)
assert cv_small.shape == (2, 81, 7, 9)
torch.testing.assert_close(cv_small, cv_loop)  # float64: equal to rounding
print(f"correlation == pixel loop: max |difference| = {(cv_small - cv_loop).abs().max():.1e} "
      f"over {cv_small.numel()} entries")

# %% [markdown]
# ### One pixel's cost volume on a real pair
#
# What does the cost volume look like when the features are good for matching? Training is
# what makes PWC-Lite's features good, so to look at the layer alone we feed it a hand-made
# feature instead: at every pixel, the $7\times 7$ grey-level patch around it with its mean removed
# and its norm set to 1 (49 channels). Then $C \cdot \mathrm{cv}(\mathbf{x}, \mathbf{d})$ is the
# normalised cross-correlation of the two patches, and the best match should sit at the true
# displacement $F_{1\to 2}(\mathbf{x})$ rounded to whole pixels. We pick the visible pixel of
# frame 1 with the most texture among those whose true motion fits in the search window.

# %%
def patch_features(img: torch.Tensor, k: int = 7) -> torch.Tensor:
    """(B, 3, H, W) -> (B, k*k, H, W): zero-mean, unit-norm grey k x k patches (a matching feature)."""
    grey = img.mean(1, keepdim=True)
    p = F.unfold(F.pad(grey, (k // 2,) * 4, mode="replicate"), k).view(img.shape[0], k * k, *img.shape[-2:])
    p = p - p.mean(1, keepdim=True)
    return p / (p.norm(dim=1, keepdim=True) + 1e-6)


r = net.search_range
d = 2 * r + 1
pf1, pf2 = patch_features(img1), patch_features(img2)
cv = correlation(pf1, pf2, r)  # (B, 81, H, W)
best = cv.argmax(1)  # (B, H, W) channel of the best match
best_dx, best_dy = best % d - r, best // d - r
true_dx, true_dy = flow_gt[:, 0].round(), flow_gt[:, 1].round()
border = torch.zeros_like(visible_gt[:, 0], dtype=torch.bool)
border[:, r + 3:h - r - 3, r + 3:w - r - 3] = True  # patches and window inside the frame
usable = (visible_gt[:, 0] > 0) & (flow_gt.abs().amax(1) <= r - 0.5) & border
hit = (best_dx == true_dx) & (best_dy == true_dy)
zero_hit = (true_dx == 0) & (true_dy == 0)  # what always answering d = 0 would get
print(f"pixels with a true motion inside the 9x9 window: {int(usable.sum())} of {h * w}")
print(f"best match at the rounded true displacement: {hit[usable].float().mean():.1%} "
      f"(answering d = 0 everywhere: {zero_hit[usable].float().mean():.1%})")

grey1 = img1.mean(1, keepdim=True)
contrast = (F.avg_pool2d(grey1 ** 2, 7, 1, 3) - F.avg_pool2d(grey1, 7, 1, 3) ** 2)[:, 0]  # local variance
contrast = torch.where(usable, contrast, torch.full_like(contrast, -1.0))
py, px = divmod(int(contrast[0].argmax()), w)
u, v = float(flow_gt[0, 0, py, px]), float(flow_gt[0, 1, py, px])
grid = cv[0, :, py, px].view(d, d).numpy()  # rows dy = -r..r, columns dx = -r..r
peak_dy, peak_dx = np.unravel_index(grid.argmax(), grid.shape)
peak = (int(peak_dx) - r, int(peak_dy) - r)
print(f"pixel (x={px}, y={py}): true flow ({u:+.2f}, {v:+.2f}) px, "
      f"cost-volume peak at d = {peak}")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
axes[0].imshow(img1[0].permute(1, 2, 0).numpy())
axes[0].plot(px, py, "c+", ms=14, mew=2)
axes[0].set_title(f"frame 1, pixel ({px}, {py})", fontsize=9)
axes[1].imshow(img2[0].permute(1, 2, 0).numpy())
axes[1].plot(px + u, py + v, "c+", ms=14, mew=2)
axes[1].set_title("frame 2, where the true flow sends it", fontsize=9)
for ax in axes[:2]:
    ax.set_xlim(px - 20, px + 20)
    ax.set_ylim(py + 20, py - 20)
    ax.axis("off")
im = axes[2].imshow(grid * pf1.shape[1], cmap="magma", extent=(-r - 0.5, r + 0.5, r + 0.5, -r - 0.5))
axes[2].plot(u, v, "c+", ms=14, mew=2, label="true displacement")
axes[2].plot(*peak, "wo", mfc="none", ms=12, label="peak")
axes[2].set_xlabel("$d_x$ (px)")
axes[2].set_ylabel("$d_y$ (px)")
axes[2].set_title("cost volume of this pixel (x C)", fontsize=9)
axes[2].legend(fontsize=7, loc="lower right")
fig.colorbar(im, ax=axes[2], fraction=0.046)
fig.tight_layout()
plt.show()
display(Markdown(
    f"The peak of this pixel's 81 costs is at $\\mathbf{{d}} = {peak}$ and the true displacement "
    f"rounds to $({int(round(u))}, {int(round(v))})$: "
    + ("**they coincide**." if peak == (int(round(u)), int(round(v))) else "**they differ** here.")
    + f" Over all {int(usable.sum())} usable pixels the best match is the rounded true displacement "
    f"for {hit[usable].float().mean():.0%} of them; sub-pixel motion, repeated texture and flat "
    "regions account for the rest, which is why a network reads the whole cost volume rather "
    "than taking its argmax."))

# %% [markdown]
# ## Warping by the coarser flow
#
# A $9\times 9$ window at 1/4 resolution covers $\pm 16$ input pixels; motions larger than that
# would be out of reach. PWC-Net's answer is coarse-to-fine: the coarser level's flow, upsampled,
# warps frame 2's features onto frame 1 first, so the cost volume only needs to find the
# *residual* motion. In `PWCLite._decode`:
#
# (the method below; `cost_norm` is the option of the next section)
# %%
show_source(PWCLite._decode)

# %% [markdown]
# The factor 2 is because a displacement of one pixel at level $l$ is two pixels at level
# $l - 1$. Because each level adds up to $\pm r$ of its own pixels, the displacement the five
# cost volumes can *see* adds up to:

# %%
scales = [2 ** (6 - k) for k in range(NUM_DECODE_LEVELS)]  # 64, 32, 16, 8, 4 input pixels per feature pixel
reach = sum(r * s for s in scales)
print(" + ".join(f"{r}x{s}" for s in scales) + f" = {reach} input pixels")

# %% [markdown]
# On our pair the effect of warping is visible with the patch features: warp frame 2's
# features by the true flow (standing in for a good coarser estimate) and the best match of the
# visible pixels should move to $\mathbf{d} = 0$, leaving only sub-pixel residuals to find.

# %%
cv_warped = correlation(pf1, flow_warp(pf2, flow_gt), r)
best_w = cv_warped.argmax(1)
centre = (2 * r + 1) * r + r  # channel of d = (0, 0)
vis_inner = (visible_gt[:, 0] > 0) & border
before = float((best == centre)[vis_inner].float().mean())
after = float((best_w == centre)[vis_inner].float().mean())
print(f"visible pixels whose best match is d = 0: {before:.1%} before warping, "
      f"{after:.1%} after warping frame 2 by the true flow")

# %% [markdown]
# ### A normalised cost volume (an option, not ARFlow's PWC-Lite)
#
# `PWCLite(cost_norm=True)` centres both frames' features by their joint per-channel mean and
# L2-normalises each pixel before the correlation, so the cost volume is a cosine similarity in
# $[-1, 1]$ (UFlow does this). ARFlow's PWC-Lite correlates the raw features; trained from scratch
# on a CPU budget it stays on a plateau where it outputs one global flow (chapter
# `notebooks/distillation.py` measures both). On our patch features the two volumes rank the
# displacements alike; what changes is their scale and offset, which an untrained network does not
# yet know how to read:

# %%
show_source(normalise_features)
n1, n2 = normalise_features(pf1, pf2)
cv_norm = correlation(n1, n2, r) * pf1.shape[1]
agree = float((cv_norm.argmax(1) == best)[vis_inner].float().mean())
print(f"raw cost volume: mean {cv.mean():.3f}, std {cv.std():.3f}; normalised: mean {cv_norm.mean():.3f}, "
      f"std {cv_norm.std():.3f}, in [{cv_norm.min():.2f}, {cv_norm.max():.2f}]; same best match on "
      f"{agree:.0%} of the visible pixels")
assert cv_norm.abs().max() <= 1 + 1e-4

# %% [markdown]
# ## The shared, reduced estimator and the context network
#
# PWC-Net has one flow estimator per level, a DenseNet whose layers each see all earlier
# outputs. PWC-Lite (ARFlow) makes two savings:
#
# - **one estimator for all levels**: possible because a $1\times 1$ convolution per level
#   (`conv_1x1`) reduces frame 1's features to 32 channels, so every level feeds the estimator
#   the same $81 + 32 + 2 = 115$ channels (cost volume, reduced features, current flow);
# - **"reduced dense" connections**: each of the five convolutions (128, 128, 96, 64, 32
#   channels) sees only the two previous outputs, not all of them.
#
# The estimator outputs a 32-channel feature and a flow residual. The context network, six
# $3\times 3$ convolutions with dilations 1, 2, 4, 8, 16, 1 and a last one to 2 channels (a
# receptive field of $1 + 2(1+2+4+8+16+1+1) = 67$ pixels at that level), reads feature and
# flow and adds a second residual. Counting the parameters of each component from the module:

# %%
rows = []
for k, stage in enumerate(net.feature_pyramid.stages):
    rows.append(("feature pyramid", f"stage {k + 1}: {PYRAMID_CHANNELS[k]} -> {PYRAMID_CHANNELS[k + 1]} ch",
                 count_parameters(stage)))
for k, m in enumerate(net.conv_1x1):
    rows.append(("1x1 reductions", f"level 1/{scales[k]}: {m[0].in_channels} -> {m[0].out_channels} ch",
                 count_parameters(m)))
rows.append(("flow estimator", f"{net.flow_estimator.conv1[0].in_channels} ch in, shared",
             count_parameters(net.flow_estimator)))
rows.append(("context network", f"{net.context_network.convs[0][0].in_channels} ch in, shared",
             count_parameters(net.context_network)))
table = pd.DataFrame(rows, columns=["component", "part", "parameters"])
total = count_parameters(net)
assert table["parameters"].sum() == total  # nothing left out
by_component = table.groupby("component", sort=False)["parameters"].sum()
summary = pd.DataFrame({
    "parameters (counted)": list(by_component) + [total],
    "share": [f"{n / total:.1%}" for n in by_component] + ["100%"]},
    index=list(by_component.index) + ["total"])
display(table.set_index(["component", "part"]))
display(summary)
paper_params = 2.24e6  # paper, Table 4 (PWC-Lite, Sup. and Unsup. columns)
display(pd.DataFrame({"parameters": [f"{total:,} ({total / 1e6:.2f} M)", f"{paper_params / 1e6:.2f} M"]},
                     index=["counted from PWCLite() (this package)", "paper (Table 4, PWC-Lite)"]))
display(Markdown("The count "
                 + ("agrees with the paper's to the paper's precision."
                    if round(total / 1e6, 2) == round(paper_params / 1e6, 2) else "**differs** from the paper's.")
                 + f" {by_component['feature pyramid'] / total:.0%} of it is in the feature pyramid "
                 f"(its two coarsest stages alone: {int(table['parameters'][4:6].sum()) / total:.0%}); the "
                 f"shared estimator and context network hold {(by_component['flow estimator'] + by_component['context network']) / total:.0%}."))

# %% [markdown]
# ## Any input size
#
# Six stride-2 stages divide the size by 64, so the network works at the next multiple of 64
# (`network_size`). Frames of another size are **resized** (bilinearly) to it, not padded: a
# zero border would enter the photometric loss of the next chapter as a fake edge. The flow is
# then resized back to the input size by `resize_flow`, which also rescales the vectors. The
# public S2SVR code goes further and always runs PWC-Lite at 256 x 256 (`work_size=256`).

# %%
odd = F.interpolate(torch.cat([img1, img2]), size=(100, 150), mode="bilinear", align_corners=False)
with torch.no_grad():
    out_native = net(odd[:1], odd[1:])
    out_256 = net(odd[:1], odd[1:], work_size=256)
print(f"input (100, 150): works at {net.network_size(100, 150)}, returns {tuple(out_native.shape)}; "
      f"with work_size=256 returns {tuple(out_256.shape)}")
assert out_native.shape == out_256.shape == (1, 2, 100, 150)
# resize_flow rescales vectors: a constant (1, 1) px flow at 64 x 64 is (2, 1.5) px at 128 x 96
const = torch.ones(1, 2, 64, 64)
big = resize_flow(const, (96, 128))
assert torch.allclose(big[:, 0], torch.full_like(big[:, 0], 2.0))
assert torch.allclose(big[:, 1], torch.full_like(big[:, 1], 1.5))
with torch.no_grad():
    levels = net.forward_pyramid(img1, img2)
print("forward_pyramid flows, finest first:", [tuple(f.shape[-2:]) for f in levels["flows_fw"]])

# %% [markdown]
# ## The flow of an untrained PWC-Lite
#
# `PWCLite.init_weights` uses Kaiming initialisation for every convolution but scales the two
# convolutions that output flow by 0.01, so an untrained network starts close to zero flow rather
# than at flows of tens of pixels (the docstring explains why). The colour code of
# `flow_to_color` is the Middlebury colour wheel: hue is the direction, saturation the magnitude,
# white is zero motion. Below, the ground truth and the untrained output are drawn on the same
# scale (the largest true motion), and the untrained output once more on its own scale.

# %%
with torch.no_grad():
    flow_untrained = net(img1, img2)  # (B, 2, H, W)
max_gt = float(speed.max())
yy, xx = torch.meshgrid(torch.linspace(-1, 1, 101), torch.linspace(-1, 1, 101), indexing="ij")
wheel = flow_to_color(torch.stack([xx, yy]), max_flow=1.0)  # the key: direction -> colour
wheel[(xx ** 2 + yy ** 2 > 1).numpy()] = 255
mag_untrained = float(flow_untrained.norm(dim=1).max())
plot_row([(img1, "frame 1"),
          (flow_to_color(flow_gt[0], max_flow=max_gt), f"ground truth (max {max_gt:.1f} px)"),
          (flow_to_color(flow_untrained[0], max_flow=max_gt), "untrained PWC-Lite, same scale"),
          (flow_to_color(flow_untrained[0]), f"untrained, own scale (max {mag_untrained:.2f} px)"),
          (wheel, "colour key (right = red)")], height=2.7)

epe_untrained = endpoint_error(flow_untrained, flow_gt)
epe_zero = endpoint_error(torch.zeros_like(flow_gt), flow_gt)
display(pd.DataFrame({"EPE, all pixels (px)": [epe_zero, epe_untrained],
                      "max |flow| (px)": [0.0, mag_untrained]},
                     index=["zero flow", "untrained PWC-Lite"]).round(3))
display(Markdown(
    f"Measured on `{raw['name']}` (embedded flow set, 128 x 128): the untrained network's flow "
    f"is at most {mag_untrained:.2f} px long and its end-point error is {epe_untrained:.2f} px, "
    + ("no better than" if epe_untrained >= epe_zero - 0.05 else "slightly below")
    + f" the {epe_zero:.2f} px of answering zero flow. Its colours carry no information about the "
    "scene's motion: that has to be learned, and the following chapters learn it without any "
    "ground-truth flow, from the frames alone."))

# %% [markdown]
# ## How long a forward pass takes
#
# Measured in this run (one thread, `torch.no_grad()`, median of a few repeats after a warm-up),
# for a single pair and for a pair in both directions (`with_bw=True`, the form the training
# losses need; the pyramid is shared, only the decoder runs twice):

# %%
timing = []
for s in timing_sizes:
    x = torch.rand(1, 3, s, s)
    row = {"size": f"{s} x {s}"}
    for label, kw in (("forward (ms)", {}), ("forward + backward flow (ms)", {"with_bw": True})):
        with torch.no_grad():
            net(x, x, **kw)  # warm-up
            times = []
            for _ in range(timing_repeats):
                t0 = time.perf_counter()
                net(x, x, **kw)
                times.append(time.perf_counter() - t0)
        row[label] = 1000 * float(np.median(times))
    timing.append(row)
timing = pd.DataFrame(timing).set_index("size").round(1)
display(timing)
print(f"measured: profile {profile}, {hardware}, {timing_repeats} repeat(s)")

# %% [markdown]
# The convolutions' cost is proportional to the number of pixels, so beyond the smallest sizes
# (where fixed overheads dominate) the time should grow about 4x per doubling of the side; the
# machine is shared with other processes, so these numbers are indicative only. S2SVR calls PWC-Lite twice per frame pair
# (both directions) on every step of a sequence, which is one reason the public code runs it at a
# fixed 256 x 256.
#
# ## Summary
#
# PWC-Lite is a 2.2 M-parameter pyramid of features, a coarse-to-fine loop that warps, correlates
# within $\pm 4$ pixels and refines the flow, and one small estimator and context network shared
# by all levels. Untrained, it starts near zero flow by design of its initialisation. The next chapter, "The unsupervised
# flow losses", builds the losses that train it from the frames alone; the chapter after,
# "Distillation and Algorithm 1", trains it as the paper does.
