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
# # The unsupervised flow losses
#
# The previous chapter ended with an untrained PWC-Lite whose flow is no better than zero. S2SVR
# trains it **without ground-truth flow** (Sec. 3.3): a flow is good if it explains one frame by
# the other (the *photometric* loss) and if it is smooth where the image is smooth (the
# *smoothness* loss). This chapter builds these losses from the package and tests them on
# frame pairs whose true flow we happen to know, something training never sees:
#
# - `s2svr/losses/photometric.py`: `photometric_loss` (Eq. (11)), with the SSIM and census
#   options `ssim_distance`, `census_distance`;
# - `s2svr/losses/smoothness.py`: `smoothness_loss`, `edge_weights` (Eq. (13));
# - `s2svr/losses/totals.py`: `FlowLoss`, the weighted, multi-scale, bidirectional total of
#   Eq. (14), with its guard against the "everything occluded" trivial zero;
# - `s2svr/flow/occlusion.py`: `visibility_mask`, explained in "Warping and occlusion".
#
# The distillation loss (Eqs. (15)-(17)) and the two training stages of Algorithm 1 are the
# subject of the next chapter, "Distillation and Algorithm 1".

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %%
import dataclasses
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from s2svr.configs.chapters import chapter_budget
from s2svr.report import show_source, start_chapter
from s2svr.report.figures import box_diagram, plot_row
from s2svr.configs.schema import FlowLossConfig, FlowOptimConfig
from s2svr.data.embedded import embedded_flow_pairs
from s2svr.flow import PWCLite, occlusion_mask, resize_flow, visibility_mask
from s2svr.data.flow_pairs import normalise_pair
from s2svr.losses import (FlowLoss, edge_weights, image_gradients, photometric_loss, resize_images,
                          smoothness_loss)
from s2svr.losses.photometric import photometric_distance
from s2svr.utils import seed_everything

t_start = start_chapter(profile, seed)  # seed, one torch thread, the ci notice
budget = chapter_budget("flow_losses", profile)  # sizes per profile: s2svr/configs/chapters.yaml
offset_steps = budget.offset_steps  # grid of the offset scan, per axis
num_pairs_occ = budget.num_pairs_occ  # pairs for precision/recall (None: all)
trap_side, trap_steps = budget.trap_side, budget.trap_steps  # the few optimisation steps

# %% [markdown]
# ## The method: the paper's Fig. 3
#
# Algorithm 1 trains two PWC-Lites. The **teacher** $F_t$ sees the high-quality frames
# $y_1, y_2$ and learns from the photometric and smoothness losses alone (Eq. (14)). The
# **student** $F_o$ sees the low-quality frames $x_1, x_2$ (the only ones available when
# restoring a video) with the same two losses plus a distillation loss that pulls its flow
# towards the frozen teacher's HQ flow, a pseudo-label (Eq. (17)). The diagram redraws the
# paper's Fig. 3; this chapter is about the blue loss boxes, the orange one belongs to the next.

# %%
hq, lq, net_c, flow_c, loss_c, dis_c = "#eeeeee", "#f3e6e6", "#e8f7ee", "#ffffff", "#dde8f5", "#fde3c8"
boxes = {
    "y": (0.2, 3.3, 1.7, 0.8, "HQ frames\n$y_1, y_2$", hq),
    "t": (2.6, 3.3, 1.9, 0.8, "teacher PWC-Lite\n$F_t$ ($\\theta_t$)", net_c),
    "fy": (5.2, 3.3, 1.4, 0.8, "$\\mathbf{F}_{12}^y$", flow_c),
    "lt": (7.4, 3.2, 3.4, 1.0, "$\\omega_{ph} \\mathcal{L}_{ph} + \\omega_{sm} \\mathcal{L}_{sm}$ on $y_1, y_2$\n"
           "Eqs. (11), (13): total Eq. (14)", loss_c),
    "x": (0.2, 0.5, 1.7, 0.8, "LQ frames\n$x_1, x_2$", lq),
    "s": (2.6, 0.5, 1.9, 0.8, "student PWC-Lite\n$F_o$ ($\\theta_o$)", net_c),
    "fx": (5.2, 0.5, 1.4, 0.8, "$\\mathbf{F}_{12}^x$", flow_c),
    "ls": (7.4, 0.1, 3.4, 1.0, "$\\omega_{ph} \\mathcal{L}_{ph} + \\omega_{sm} \\mathcal{L}_{sm}$ on $x_1, x_2$\n"
           "Eqs. (11), (13)", loss_c),
    "ld": (7.4, 1.6, 3.4, 0.9, "$+\\ \\omega_{dis} \\mathcal{L}_{dis}(\\mathbf{F}_{12}^x, \\mathbf{F}_{12}^y)$, Eq. (16)\n"
           "student total: Eq. (17)", dis_c),
}
arrows = [("y", "t"), ("t", "fy"), ("fy", "lt"), ("x", "s"), ("s", "fx"), ("fx", "ls"), ("fx", "ld"),
          ("fy", "ld", "pseudo-label (frozen teacher)", {"linestyle": "--", "color": "C1"}),
          ("y", "x", "degradation", {"color": "#777777"})]
box_diagram(boxes, arrows, size=(12, 4.6), xlim=(0, 11.0), ylim=(0, 4.4),
            title="Unsupervised optical flow (Fig. 3): step 1 teacher on HQ, step 2 student on LQ")

# %% [markdown]
# ## Data
#
# Pairs of the embedded flow set (chapter "The data"), 128 x 128 HQ frames with their true
# forward and backward flows and the true occlusion map of frame 1. We take the test pair with
# the largest occluded area, to have something to look at.

# %%
pairs = embedded_flow_pairs(data_root, "test", "none")
raw = max(pairs, key=lambda p: float(p["occ_fw"].mean()))
pair = normalise_pair(raw)
img1, img2 = pair["hq1"][None], pair["hq2"][None]  # (B, 3, H, W) in [0, 1]
flow_fw = pair["flow_fw"][None]  # (B, 2, H, W), true F_12
flow_bw = torch.from_numpy(raw["flow_bw"])[None]  # true F_21
occ_gt = pair["occlusion"][None]  # (B, 1, H, W), 1 = occluded in frame 2
b, _, h, w = img1.shape
print(f"{raw['name']}: {tuple(img1.shape)}, |F12| max {flow_fw.norm(dim=1).max():.2f} px, "
      f"true occlusion {occ_gt.mean():.1%} of frame 1")

# %% [markdown]
# ## The photometric loss, Eq. (11)
#
# The brightness-constancy assumption: a point looks the same in both frames. Pull frame 2
# onto frame 1 with the flow (the backward warp of "Warping and occlusion") and compare:
#
# ```{math}
# :label: flow-losses-eq-photometric
# \mathcal{L}_{ph}(\mathbf{F}_{12}) = \frac{\sum_{\mathbf{p}} \rho\big(y_1(\mathbf{p}),\,
#   y_2(\mathbf{p} + \mathbf{F}_{12}(\mathbf{p}))\big)\, O(\mathbf{p})}{\sum_{\mathbf{p}} O(\mathbf{p})}.
# ```
#
# The paper writes the numerator only (its Eq. (11)); the division by the number of counted
# pixels is ARFlow's (`mean(|d| O) / mean(O)`, in `photometric_distance`), so the loss does not
# fall just because more pixels are excluded. $O$ is 1 where frame 1's pixel is *visible* in
# frame 2, from the bidirectional (forward-backward) check of Wang et al. (2018): the
# inequality {eq}`eq-fb-occlusion` of the previous chapter, `visibility_mask(F12, F21)`. The
# paper gives it no equation of its own (its Eq. (12) is $\mathbf{F}^y_{12} = F_t(y_1, y_2)$, the
# teacher's flow); it needs the backward flow $\mathbf{F}_{21}$, which is why PWC-Lite is always
# run in both directions during training. $\rho$ is the L1 distance in the paper; ARFlow, whose
# recipe the paper's weights come from, uses
# $\rho = |y_1 - \hat{y}_1| + \tfrac{0.85}{0.15}\,\tfrac{1 - \mathrm{SSIM}_{3\times 3}}{2}$ and
# optionally a census term (`w_ssim`, `w_census` of `photometric_loss` and of `FlowLossConfig`). The code:

# %%
show_source(photometric_loss, photometric_distance)

# %% [markdown]
# **Is the true flow the minimum?** Add a constant offset $(\delta_x, \delta_y)$ to the true flow
# and measure $\mathcal{L}_{ph}$ with plain L1, keeping $O$ fixed (from the true flows):

# %%
visible = visibility_mask(flow_fw, flow_bw)  # (B, 1, H, W), from the true flows
offsets = torch.linspace(-3, 3, offset_steps)
scan = np.zeros((offset_steps, offset_steps))
with torch.no_grad():
    for i, dy in enumerate(offsets):
        for j, dx in enumerate(offsets):
            shift = torch.tensor([float(dx), float(dy)]).view(1, 2, 1, 1)
            scan[i, j] = float(photometric_loss(img1, img2, flow_fw + shift, visible))
i0, j0 = np.unravel_index(scan.argmin(), scan.shape)
argmin = (round(float(offsets[j0]), 6) + 0.0, round(float(offsets[i0]), 6) + 0.0)  # + 0.0: no "-0.00"
at_gt = float(photometric_loss(img1, img2, flow_fw, visible))
at_zero = float(photometric_loss(img1, img2, torch.zeros_like(flow_fw), visible))
print(f"L_ph (L1): {at_gt:.4f} at the true flow, {at_zero:.4f} at zero flow; "
      f"minimum of the scan at offset {argmin}")

# %% [markdown]
# The same scan along $\delta_x$ only ($\delta_y = 0$) for the three distances $\rho$ can mix:
# L1, the SSIM distance and the census distance, each divided by its largest value on the scan
# to compare the shapes.

# %%
rhos = {"L1 (paper)": dict(w_l1=1.0), "SSIM 3x3": dict(w_l1=0.0, w_ssim=1.0),
        "census": dict(w_l1=0.0, w_census=1.0)}
curves = {}
with torch.no_grad():
    for name, kw in rhos.items():
        curves[name] = np.array([float(photometric_loss(
            img1, img2, flow_fw + torch.tensor([float(dx), 0.0]).view(1, 2, 1, 1), visible, **kw))
            for dx in offsets])

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
ext = (-3 - 3 / (offset_steps - 1), 3 + 3 / (offset_steps - 1)) * 2
im = axes[0].imshow(scan, cmap="magma", extent=(ext[0], ext[1], ext[1], ext[0]))
axes[0].plot(0, 0, "c+", ms=14, mew=2, label="true flow")
axes[0].plot(*argmin, "wo", mfc="none", ms=12, label="minimum")
axes[0].set_xlabel(r"offset $\delta_x$ (px)")
axes[0].set_ylabel(r"offset $\delta_y$ (px)")
axes[0].set_title(r"$\mathcal{L}_{ph}$ (L1) of true flow + offset", fontsize=10)
axes[0].legend(fontsize=8, loc="lower right")
fig.colorbar(im, ax=axes[0], fraction=0.046)
for name, c in curves.items():
    axes[1].plot(offsets, c / c.max(), marker=".", label=name)
axes[1].axvline(0, color="gray", lw=0.8)
axes[1].set_xlabel(r"offset $\delta_x$ (px), $\delta_y = 0$")
axes[1].set_ylabel("loss / its maximum on the scan")
axes[1].legend(fontsize=8)
axes[1].set_title("the three distances inside rho", fontsize=10)
fig.tight_layout()
plt.show()
minima = {name: round(float(offsets[int(c.argmin())]), 6) + 0.0 for name, c in curves.items()}
display(Markdown(
    f"Minimum of the 2-D L1 scan: offset $({argmin[0]:+.2f}, {argmin[1]:+.2f})$ px, "
    + ("i.e. **the true flow** (to the scan's step of "
       f"{float(offsets[1] - offsets[0]):.2f} px)." if max(map(abs, argmin)) < 1e-6
       else "**not** exactly at the true flow.")
    + " Minima along $\\delta_x$: " + ", ".join(f"{k} at {v:+.2f} px" for k, v in minima.items())
    + ". "
    + ("Around it the loss rises on every side, but only over a basin about as wide as the image "
       "structures: a gradient can find the minimum from inside it only, one reason the network "
       "estimates flow coarse-to-fine." if max(map(abs, argmin)) < 1e-6 else "")))

# %% [markdown]
# ## The occlusion mask against the truth
#
# The forward-backward check sees only the two flows. With the *true* flows it should find
# the true occlusions: pixels of frame 1 that a moving layer covers in frame 2, or that leave the
# frame. We compare $1 - O$ with the dataset's occlusion map, pixel by pixel, on every test pair
# (precision: the fraction of flagged pixels that are truly occluded; recall: the fraction of
# truly occluded pixels that are flagged).

# %%
occ_check = occlusion_mask(flow_fw, flow_bw)  # (B, 1, H, W), 1 = occluded
disagree = torch.cat([occ_check * (1 - occ_gt), occ_gt * (1 - occ_check), torch.zeros_like(occ_gt)], 1)
plot_row([(img1, "frame 1"), (img2, "frame 2"), (occ_gt, "true occlusion"),
          (occ_check, "forward-backward check (true flows)"),
          (disagree, "red: flagged only, green: missed")], height=2.7)

tp = fp = fn = 0.0
use = pairs if num_pairs_occ is None else pairs[:num_pairs_occ]
for p in use:
    fw, bw = torch.from_numpy(p["flow_fw"])[None], torch.from_numpy(p["flow_bw"])[None]
    est, gt = occlusion_mask(fw, bw), torch.from_numpy(p["occ_fw"])[None]
    tp += float((est * gt).sum())
    fp += float((est * (1 - gt)).sum())
    fn += float(((1 - est) * gt).sum())
precision, recall = tp / (tp + fp), tp / (tp + fn)
display(pd.DataFrame({"precision": [precision], "recall": [recall],
                      "true occluded pixels": [int(tp + fn)], "flagged pixels": [int(tp + fp)]},
                     index=[f"{len(use)} test pairs, true flows"]).round(3))

# %% [markdown]
# Even with perfect flows the check is not the occlusion map. It flags an outline about one
# pixel wide along the moving layers' boundaries: there the backward flow is read between two
# pixels, by bilinear interpolation, and mixes the motions of two layers. And it can miss
# occlusions where the covering and the covered motion differ by less than its tolerance (about
# $\sqrt{0.5} \approx 0.7$ pixel, growing slowly with the flow's length), for instance where a
# pixel leaves the frame by less than that: outside the frame the backward flow reads zero, so
# only $|\mathbf{F}_{12}|$ itself is compared with the tolerance. What matters for Eq. (11) is
# that a flagged pixel is merely one the loss ignores, while a missed occlusion adds a term that no
# flow can make small.
#
# ## The smoothness loss, Eq. (13)
#
# The photometric loss says little in flat regions (any flow explains a flat patch) and nothing on
# occluded pixels. A first-order smoothness prior fills in: neighbouring flows should agree,
# except across image edges, where motion boundaries tend to be:
#
# ```{math}
# :label: flow-losses-eq-smoothness
# \mathcal{L}_{sm}(\mathbf{F}_{12}) = \sum_{d \in \{x, y\}} \sum_{\mathbf{p}}
#   \big|\partial_d \mathbf{F}_{12}(\mathbf{p})\big|\, e^{-\alpha |\partial_d y_1(\mathbf{p})|}.
# ```
#
# The paper's Eq. (13) has no $\alpha$ (i.e. $\alpha = 1$); ARFlow, whose weights
# $\omega_{sm} = 50$ the paper takes, uses $\alpha = 10$ with $|\partial_d y_1|$ the mean over
# the colour channels, and means instead of sums (`smoothness_loss`, `FlowLossConfig.smooth_alpha`).
# The edge weights $e^{-\alpha|\partial_d y_1|}$ are 1 on flat image regions and small on edges.
# With $\alpha = 1$ they hardly vary (intensities are in $[0, 1]$, so $e^{-|\partial y|} \ge e^{-1}$):

#
# In `s2svr/losses/smoothness.py`:

# %%
show_source(edge_weights, smoothness_loss)

# %% [markdown]
#
# %%
def weight_map(img, alpha):
    """Mean of the x and y edge weights, (B, 1, H-1, W-1), for display."""
    w_x, w_y = edge_weights(img, alpha)  # (B, 1, H, W-1), (B, 1, H-1, W)
    return (w_x[..., :-1, :] + w_y[..., :-1]) / 2


f_dx, f_dy = image_gradients(flow_fw)
flow_edges = (f_dx[..., :-1, :].abs().sum(1, keepdim=True) + f_dy[..., :-1].abs().sum(1, keepdim=True))
w1, w10 = weight_map(img1, 1.0), weight_map(img1, 10.0)
plot_row([(img1, "frame 1"), (w1, f"weights, alpha = 1 (min {w1.min():.2f})"),
          (w10, f"weights, alpha = 10 (min {w10.min():.2f})"),
          ((flow_edges / flow_edges.max()).clamp(0, 1), "|grad F12| (true motion edges)")],
         height=2.9, cmap="gray")

# %% [markdown]
# Does the weighting favour the true flow? Its gradients are zero inside each layer and large on
# the layer boundaries, which are also image edges. Compare the true flow with the same flow
# shifted 8 pixels to the right (`torch.roll`), whose motion edges no longer sit on image edges:
# the share of $\mathcal{L}_{sm}$ that survives the edge weighting
# ($\mathcal{L}_{sm}^{\alpha=10} / \mathcal{L}_{sm}^{\alpha=0}$, with $\alpha = 0$ plain total
# variation) should be smaller for the true flow.

# %%
rolled = torch.roll(flow_fw, shifts=8, dims=-1)
ratio_rows = {}
for name, fl in (("true F12", flow_fw), ("true F12 shifted 8 px", rolled)):
    tv = float(smoothness_loss(fl, img1, alpha=0.0))
    ratio_rows[name] = {"L_sm, alpha = 0 (TV)": tv, "L_sm, alpha = 1": float(smoothness_loss(fl, img1, 1.0)),
                        "L_sm, alpha = 10": float(smoothness_loss(fl, img1, 10.0))}
    ratio_rows[name]["alpha 10 / alpha 0"] = ratio_rows[name]["L_sm, alpha = 10"] / tv
ratios = pd.DataFrame(ratio_rows).T
display(ratios.round(4))
assert float(smoothness_loss(torch.ones_like(flow_fw) * 3.0, img1)) == 0.0  # constant flow: zero
r_true, r_roll = ratios["alpha 10 / alpha 0"]
display(Markdown(
    f"With $\\alpha = 10$, {r_true:.0%} of the true flow's total variation is counted against "
    f"{r_roll:.0%} for the shifted flow: "
    + ("the edge-aware weight **does** discount motion boundaries that sit on image edges."
       if r_true < r_roll else "here the edge-aware weight does **not** favour the true flow.")
    + " A constant flow has zero smoothness loss, which is why smoothness alone would pull every "
    "flow towards a single translation; the photometric term must pull back."))

# %% [markdown]
# ## The total, Eq. (14)
#
# The teacher's loss is
#
# ```{math}
# :label: flow-losses-eq-total
# \mathcal{L} = \omega_{ph}\, \mathcal{L}_{ph}(\mathbf{F}^y_{12}) + \omega_{sm}\, \mathcal{L}_{sm}(\mathbf{F}^y_{12}),
# \qquad \omega_{ph} = 0.15,\ \omega_{sm} = 50.
# ```
#
# `FlowLoss` implements it with ARFlow's conventions where the paper is silent (its weighted terms and
# their sum below); every choice is a field of `FlowLossConfig`, the `flow: loss:` section of the YAML configs
# (a recipe may change some of them from a step on: `flow: stage1:`, chapter "Distillation"):

# %%
cfg = FlowLossConfig()
keys = ["w_ph", "w_sm", "w_l1", "w_ssim", "w_census", "smooth_alpha", "w_scales", "w_sm_scales",
        "bidirectional", "min_visible", "occlusion"]
display(pd.DataFrame({"default": [str(getattr(cfg, k)) for k in keys]}, index=keys))
show_source(FlowLoss.photometric_term, FlowLoss.smoothness_term, FlowLoss.forward)

# %% [markdown]
# - $\omega_{ph} = 0.15$ and $\omega_{sm} = 50$ are ARFlow's `w_l1` and `w_smooth`; with
#   `w_ssim = 0.85` the photometric term is ARFlow's $0.15\,\mathrm{L1} + 0.85\,\mathrm{SSIM}$,
#   and `w_ssim = 0` gives the paper's plain L1.
# - It is **multi-scale**: $\mathcal{L}_{ph}$ on the four finest of PWC-Lite's five output
#   levels (`w_scales`), $\mathcal{L}_{sm}$ on the finest only (`w_sm_scales`), each level
#   against frames area-downsampled to its size; the mask $O$ is computed once at the finest level.
# - Smoothness sees the flow in units of the frame size (divided by $\min(H, W)$), so that
#   $\omega_{sm}$ means the same for any crop size.
# - It is **bidirectional**: every term is also computed for $\mathbf{F}_{21}$ and averaged.
#
# Evaluated on the true flows (both directions, resized to the five levels), on zero flow and on
# the untrained PWC-Lite of the previous chapter, with the paper's L1 and with ARFlow's mix:

# %%
def flow_levels(flow, n=5):
    """A flow (B, 2, H, W) at PWC-Lite's output sizes, finest first: H, H/2, ..., H/16."""
    return [resize_flow(flow, (flow.shape[-2] >> k, flow.shape[-1] >> k)) for k in range(n)]


net = PWCLite().eval()
with torch.no_grad():
    untrained = net.forward_pyramid(img1, img2, with_bw=True)
candidates = {
    "true flows": {"flows_fw": flow_levels(flow_fw), "flows_bw": flow_levels(flow_bw)},
    "zero flow": {"flows_fw": flow_levels(torch.zeros_like(flow_fw)),
                  "flows_bw": flow_levels(torch.zeros_like(flow_bw))},
    "untrained PWC-Lite": untrained}
rows = {}
for loss_name, loss_fn in (("L1 (paper)", FlowLoss.from_config(dataclasses.replace(cfg, w_ssim=0.0))),
                           ("L1 + SSIM (ARFlow, default)", FlowLoss.from_config(cfg))):
    for flow_name, pyr in candidates.items():
        with torch.no_grad():
            total, terms = loss_fn(pyr, img1, img2)
        rows[(loss_name, flow_name)] = {"w_ph L_ph": float(terms["ph"]), "w_sm L_sm": float(terms["sm"]),
                                        "total, Eq. (14)": float(total), "visible": float(terms["visible"])}
totals = pd.DataFrame(rows).T
display(totals.round(4))
best = {ln: totals.loc[ln]["total, Eq. (14)"].idxmin() for ln in totals.index.get_level_values(0).unique()}
display(Markdown("Lowest total: " + "; ".join(f"{ln}: **{fl}**" for ln, fl in best.items())
                 + ". The losses rank the true flow "
                 + ("first under both distances, as a training objective must."
                    if all(v == "true flows" for v in best.values())
                    else "not always first on this pair (see the table).")))

# %% [markdown]
# ## The trivial zero: "everything is occluded"
#
# Eq. (11) divides by the visible area. If the forward-backward check flags *every* pixel, the
# numerator is zero and so is the loss, whatever the flow: a perfect score for doing nothing.
# It is easy to get there. If $\mathbf{F}_{21} \approx \mathbf{F}_{12}$ (the two directions
# *agree* instead of being inverses), $|\mathbf{F}_{12} + \hat{\mathbf{F}}_{21}|^2 \approx
# 4|\mathbf{F}_{12}|^2$ exceeds the tolerance as soon as the flow is longer than about a third of
# a pixel. That is exactly what an untrained network produces: its two directions share one
# bias. And if only $\mathbf{F}_{12}$ is trained (the paper writes its equations for
# $\mathbf{F}_{12}$ only), $\mathbf{F}_{21}$ gets no gradient and drifts with the shared weights.
#
# `FlowLoss` has two defences (`totals.py`, see its docstring):
#
# - `bidirectional=True` (ARFlow's `with_bk`): $\mathbf{F}_{21}$ is trained by its own
#   photometric loss, so it moves towards the inverse of $\mathbf{F}_{12}$;
# - `min_visible=0.1`: a sample whose check keeps less than 10% of its pixels counts all of them
#   (the plain, unmasked loss), so there is always a gradient out of the trap. The paper says
#   nothing about this; UnFlow instead adds a penalty per occluded pixel.
#
# First, the trap itself: use the true $\mathbf{F}_{12}$ as *both* directions.

# %%
trap = {"flows_fw": flow_levels(flow_fw), "flows_bw": flow_levels(flow_fw)}  # F21 := F12
trap_rows = {}
for name, mv in (("no guard (min_visible = 0)", 0.0), ("guard (min_visible = 0.1)", 0.1)):
    loss_fn = FlowLoss.from_config(dataclasses.replace(cfg, bidirectional=False, min_visible=mv))
    with torch.no_grad():
        _, terms = loss_fn(trap, img1, img2)
    trap_rows[name] = {"visible (check)": float(terms["visible"]), "w_ph L_ph": float(terms["ph"])}
display(pd.DataFrame(trap_rows).T.round(4))

# %% [markdown]
# Then what it does to training: a few Adam steps (lr $10^{-4}$, the paper's flow learning rate)
# of an untrained PWC-Lite on this one pair, resized to a small side, under three settings:
# $\mathbf{F}_{12}$ only without the guard (the paper's equations read literally), both
# directions without the guard (ARFlow), and both directions with the guard (this package's
# default). We record the fraction of pixels the check keeps, before the guard.

# %%
a_small, b_small = resize_images(img1, (trap_side, trap_side)), resize_images(img2, (trap_side, trap_side))
settings = {"F12 only, no guard": dict(bidirectional=False, min_visible=0.0),
            "bidirectional, no guard": dict(bidirectional=True, min_visible=0.0),
            "bidirectional + guard (default)": dict(bidirectional=True, min_visible=0.1)}
history = {}
t0 = time.perf_counter()
for name, kw in settings.items():
    seed_everything(seed)
    model = PWCLite()
    opt = torch.optim.Adam(model.parameters(), lr=FlowOptimConfig().lr)  # 1e-4
    loss_fn = FlowLoss.from_config(dataclasses.replace(cfg, **kw))
    vis, ph = [], []
    for step in range(trap_steps + 1):
        pyr = model.forward_pyramid(a_small, b_small, with_bw=True)
        total, terms = loss_fn(pyr, a_small, b_small)
        vis.append(float(terms["visible"]))
        ph.append(float(terms["ph"]))
        if step < trap_steps:
            opt.zero_grad()
            total.backward()
            opt.step()
    history[name] = (vis, ph)
trap_seconds = time.perf_counter() - t0

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for name, (vis, ph) in history.items():
    axes[0].plot(vis, marker=".", label=name)
    axes[1].plot(ph, marker=".", label=name)
axes[0].set_ylabel("fraction kept by the check")
axes[1].set_ylabel(r"$\omega_{ph} \mathcal{L}_{ph}$ (as trained)")
for ax in axes:
    ax.set_xlabel("Adam step")
    ax.legend(fontsize=8)
fig.suptitle(f"untrained PWC-Lite, one pair at {trap_side} x {trap_side}, {trap_steps} steps", fontsize=10)
fig.tight_layout()
plt.show()
final = {name: vis[-1] for name, (vis, _) in history.items()}
lowest = {name: min(vis[1:]) for name, (vis, _) in history.items()}
display(pd.DataFrame({"kept at step 0": [v[0] for v, _ in history.values()],
                      "lowest kept after step 0": list(lowest.values()),
                      f"kept at step {trap_steps}": list(final.values()),
                      "w_ph L_ph at step 0": [p[0] for _, p in history.values()],
                      f"w_ph L_ph at step {trap_steps}": [p[-1] for _, p in history.values()]},
                     index=list(history)).round(3))
guarded = "bidirectional + guard (default)"
zeroed = [n for n, (_, p) in history.items() if p[-1] < 1e-3 * p[0]]
collapsed = [n for n, v in final.items() if v < 0.1]
g_ph = history[guarded][1]
display(Markdown(
    f"Measured in this run (profile {profile}, embedded pair `{raw['name']}` at {trap_side} px, CPU, "
    f"{trap_seconds:.0f} s for the three runs). "
    + (f"After {trap_steps} steps the check keeps less than 10% of the pixels for "
       + ", ".join(f"*{n}*" for n in collapsed) + ". " if collapsed
       else f"After {trap_steps} steps every setting keeps at least 10% of the pixels. ")
    + ("The photometric loss has fallen to (almost) zero, the trivial zero, for "
       + ", ".join(f"*{n}*" for n in zeroed) + ": from there it has no gradient left. "
       if zeroed else "No setting's photometric loss has fallen to zero. ")
    + (f"With the guard it is still {g_ph[-1]:.3f} "
       + ("and decreasing (from " if g_ph[-1] < g_ph[0] else "(from ")
       + f"{g_ph[0]:.3f}): the network keeps being trained by the frames"
       + (", while its two directions have not yet become inverses of each other (the check "
          "still rejects most pixels, so the guard counts all of them)." if guarded in collapsed
          else ", and the check keeps enough pixels for the masked loss to take over.")
       if guarded not in zeroed else "Here even the guarded setting lost its photometric signal.")
    + (" Training both directions alone did not avoid the trap in these steps."
       if "bidirectional, no guard" in zeroed else "")
    + " These are a handful of steps on one pair: they show the mechanism, not how training "
      "ends, which the next chapter measures."))

# %% [markdown]
# ## Summary
#
# - $\mathcal{L}_{ph}$ (Eq. (11)) compares a frame with its warped neighbour; the scan above
#   checks that the true flow minimises it. The forward-backward check removes the pixels no
#   flow can explain, and needs the backward flow.
# - $\mathcal{L}_{sm}$ (Eq. (13)) with ARFlow's $\alpha = 10$ lets the flow change across image
#   edges and keeps it flat elsewhere.
# - `FlowLoss` (Eq. (14)) adds them with $\omega_{ph} = 0.15$, $\omega_{sm} = 50$, multi-scale
#   and in both directions, and guards the trivial "all occluded" zero.
#
# The next chapter, "Distillation and Algorithm 1", adds the distillation loss (Eqs. (15)-(17)),
# trains the teacher on HQ frames and the student on LQ frames, and measures the flows.

# %%
print(f"chapter compute: {time.perf_counter() - t_start:.1f} s (profile {profile})")
