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
# # Motion compensation and temporal layouts
#
# A recurrent state summarises the frames seen so far, but it sits where the scene *was*. Before
# each step S2SVR therefore warps it to where the scene *is*, with the optical flow between the two
# low-quality frames (Sec. 3.1, "Motion Compensation", Fig. 2(b)). This chapter walks through
# `s2svr/models/motion.py` (`estimate_flow_pair`, `warp_states`, `align_window`), regenerates the
# paper's Fig. 7, and then compares the two temporal layouts of `s2svr/models/network.py`
# (`S2SVR` with `layout="paper"`, streamable with `init_stream`, `stream_step`, `stream_flush`,
# `stream`; and `layout="official"`, the authors' public code).

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from s2svr.configs.chapters import chapter_budget
from s2svr.report import show_source
from s2svr.report import start_chapter
from s2svr.flow.standins import KnownFlow, ZeroFlow
from s2svr.report.figures import plot_row
from s2svr.configs import load_config
from s2svr.data.embedded import embedded_flow_clips
from s2svr.models import S2SVR, estimate_flow_pair, warp_states
from s2svr.report.saliency import sharpness
from s2svr.train.evaluate import to_tensor
from s2svr.utils import proc_status_kb, reset_peak_rss

t_start = start_chapter(profile, seed)  # seed, one torch thread, the ci notice
cfg = load_config("deblur_gopro", profile=profile).model  # this profile's sizes
budget = chapter_budget("motion", profile)  # sizes per profile: s2svr/configs/chapters.yaml
lengths, cost_side = budget.lengths, budget.cost_side
print(cfg)

# %% [markdown]
# ## Eq. (8)
#
# With $F_o$ the flow estimator and $F_w$ the (backward, bilinear) warp of the chapter "Warping
# and occlusion":
#
# ```{math}
# :label: eq-motion-comp
# o_t = F_o(x_t, x_{t-1}), \qquad \hat{s}_{t-1} = F_w(s_{t-1}, o_t).
# ```
#
# $o_t$ is a flow *from frame $t$ back to frame $t-1$*: for every pixel of frame $t$ it says where
# that pixel was in frame $t-1$, so warping $s_{t-1}$ with it pulls the old state onto frame $t$.
# In the package:
#
# - `estimate_flow_pair(flow_net, prev, cur, flow_size)` returns `(flow_fw, flow_bw)`, both
#   `(B, 2, H, W)` in pixels: `flow_bw` $= F_o(x_t, x_{t-1}) = o_t$, and `flow_fw`
#   $= F_o(x_{t-1}, x_t)$ for recurrences (and attention candidates) that go the other way;
# - `warp_states(states, flow)` applies $F_w$ to the state of every layer.
#
# The flow estimator is whatever module is passed as `flow_net=` (PWC-Lite by default, trained
# without labels in part "Unsupervised flow"). Here we use two stand-ins with the same calling
# convention: `KnownFlow` returns the exact flow of a synthetic clip of the embedded flow set
# (layered photos moving independently), found by the frames' content, and `ZeroFlow` returns
# zero, i.e. *no* motion compensation.

# %%
# the test clip of the embedded flow set with the largest motion, sharp frames
clips = embedded_flow_clips(data_root, "test", "none")
clip = max(clips, key=lambda c: float(np.abs(c["flow_fw"]).mean()))
frames_lq = to_tensor(clip["frames_lq"])[None]  # (B, T, C, H, W) in [0, 1]
flow_fw = torch.from_numpy(clip["flow_fw"]).unsqueeze(0)  # (B, T-1, 2, H, W)
flow_bw = torch.from_numpy(clip["flow_bw"]).unsqueeze(0)
occ_bw = torch.from_numpy(clip["occ_bw"]).unsqueeze(0)  # 1 = occluded
b, t, c, h, w = frames_lq.shape
known = KnownFlow()
known.set_clip(frames_lq, flow_fw, flow_bw)
speed = flow_fw.norm(dim=2)  # (B, T-1, H, W) pixels per frame
print(f"{clip['name']}: {tuple(frames_lq.shape)}, mean |flow| "
      f"{speed.mean():.2f} px, max {speed.max():.1f} px")

# Eq. (8) on images: warp frame t-1 onto frame t and compare with frame t
prev, cur = frames_lq[:, t - 2], frames_lq[:, t - 1]
fw, bw = estimate_flow_pair(known, prev, cur, flow_size=None)
assert fw.shape == bw.shape == (b, 2, h, w)
(prev_on_cur,) = warp_states([prev], bw)  # \hat{x}_{t-1}
visible = 1 - occ_bw[:, t - 2]  # pixels of frame t seen in frame t-1


def err(a):
    """Mean |a - x_t| over the visible pixels."""
    diff = (a - cur).abs().mean(1, keepdim=True)
    return float((diff * visible).sum() / visible.sum())


print(f"mean |x_t - x_(t-1)| on visible pixels: {err(prev):.4f} unaligned, "
      f"{err(prev_on_cur):.4f} after Eq. (8)")
assert err(prev_on_cur) < 0.5 * err(prev)
plot_row([(prev, f"x_{t - 2}"), (cur, f"x_{t - 1}"),
          ((prev - cur).abs().mean(1), "|x_(t-1) - x_t|, not aligned"),
          ((prev_on_cur - cur).abs().mean(1) * visible[0],
           "after warping with o_t (visible)")], height=3.0)

# %% [markdown]
# ## Fig. 7 regenerated: feature saliency with and without motion compensation
#
# The paper's Fig. 7 shows "feature saliency maps" of a *trained* S2SVR with (W/I) and without
# (W/O) motion compensation: without it, the features are blurred by misaligned history; with it,
# they are sharp. We reproduce the experiment's design on the clip above: the saliency of the
# top encoder latent $z_t$ is its channel-mean absolute activation, and the *same network* (same
# weights) runs once with `KnownFlow` (exact motion compensation) and once with `ZeroFlow`
# (none). **Our network is randomly initialised, not trained**: the comparison isolates what the
# alignment alone does to the recurrent state; a trained network may show a stronger or weaker
# difference.

# %%
def build(flow_net, layout="paper", side_cfg=cfg):
    return S2SVR(task="deblur", layout=layout, num_feat=side_cfg.num_feat,
                 num_blocks=side_cfg.num_blocks, num_layers=side_cfg.num_layers,
                 radius=side_cfg.radius, flow_size=None,
                 flow_net=flow_net).eval()


def encoder_latents(model, frames):
    """Stream the clip; the top encoder latent z_t of each frame (T, C, H, W)."""
    state, out = model.init_stream(), []
    with torch.no_grad():
        for i in range(frames.shape[1]):
            model.stream_step(state, frames[:, i])
            out.append(state.latents[state.num_in - 1][0])
    return torch.stack(out)


model_mc = build(known)
model_no = build(ZeroFlow())
model_no.load_state_dict(model_mc.state_dict())  # the same weights
z_mc = encoder_latents(model_mc, frames_lq)
z_no = encoder_latents(model_no, frames_lq)
assert torch.equal(z_mc[0], z_no[0])  # first frame: no history, no warp yet
sal_mc, sal_no = z_mc.abs().mean(1), z_no.abs().mean(1)  # (T, H, W)
scale = float(torch.quantile(torch.cat([sal_mc, sal_no]).flatten(), 0.995))

show_source(sharpness)  # the package's score, used again by notebooks/report.py for Fig. 7

panels = [(frames_lq[:, t - 1], f"frame x_{t - 1}")]
for sal, tag in ((sal_no, "W/O"), (sal_mc, "W/I")):
    panels.append(((sal[t - 1] / scale).clamp(0, 1)[None],
                   f"saliency {tag} motion comp."))
plot_row(panels, height=3.4)
rows = [{"frame": i, "sharpness W/O": sharpness(sal_no[i]),
         "sharpness W/I": sharpness(sal_mc[i])} for i in range(t)]
sharp = pd.DataFrame(rows).set_index("frame")
display(sharp.style.format("{:.3f}"))

# %% [markdown]
# "Sharpness" is the mean gradient magnitude of the saliency map divided by its mean: edges of
# the moving layers count, a smear does not. At frame 0 both runs are identical (nothing to
# align); as the history grows, the run without motion compensation accumulates copies of the
# moving edges at their old positions, which shows as ghosted, smeared saliency, while the
# aligned run keeps every edge where the current frame has it. The table above is recomputed on
# every build.
#
# ## Two temporal layouts
#
# The equations (1)-(7) read as a forward encoder and a forward decoder whose attention looks $r$
# frames ahead. The public code does something else: its first encoder layer is bidirectional and
# its decoder runs backwards in time from the last frame. The package has both (`layout=`):
#
# | | `paper` | `official` |
# | --- | --- | --- |
# | encoder | forward, all layers | layer 1 forward + backward (fused), layers 2..L forward |
# | decoder | forward, from $s_{-1} = z_0$ | backward in time, from the encoder's last state |
# | output $y_i$ depends on | $x_0, \ldots, x_{i+r}$ | the whole clip |
# | runs as | a stream, delay $r$ frames | one call on the whole clip |
#
# ### Which output depends on which input
#
# We measure the dependency directly: perturb input frame $j$, run the network, and record how
# much each output frame $i$ changes. A tiny network with $r = 1$ on $T = 8$ random frames
# suffices; the flow is `ZeroFlow` so that only the network's own wiring is measured (a flow
# between frames $j-1, j$ can only add dependencies that the state carries anyway).

# %%
dep_cfg = load_config("deblur_gopro", profile="ci").model  # tiny sizes
T_dep, side_dep = 8, 16
x_dep = torch.rand(1, T_dep, 3, side_dep, side_dep)
dependency = {}
for layout in ("paper", "official"):
    net = build(ZeroFlow(), layout, dep_cfg)
    with torch.no_grad():
        base = net(x_dep)
        dep = torch.zeros(T_dep, T_dep)
        for j in range(T_dep):
            x_pert = x_dep.clone()
            x_pert[:, j] += 0.1 * torch.randn_like(x_pert[:, j])
            dep[:, j] = (net(x_pert) - base).abs().flatten(2).amax(2)[0]
    dependency[layout] = dep

r_dep = dep_cfg.radius
mask = torch.ones(T_dep, T_dep).tril(diagonal=r_dep).bool()  # j <= i + r
assert (dependency["paper"][~mask] == 0).all(), "paper: y_i saw x_(>i+r)"
assert (dependency["paper"][mask] > 0).all()
assert (dependency["official"] > 0).all(), "official: y_i sees every x_j"

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
for ax, layout in zip(axes, ("paper", "official")):
    d = dependency[layout].clamp_min(1e-12).log10().numpy()
    d[dependency[layout].numpy() == 0] = np.nan
    im = ax.imshow(d, cmap="viridis", vmin=-7, vmax=0)
    ax.set(title=f"layout '{layout}'", xlabel="perturbed input frame j",
           ylabel="output frame i", xticks=range(T_dep), yticks=range(T_dep))
fig.colorbar(im, ax=axes, label="log10 max |change of y_i| (blank: exactly 0)")
plt.show()
print(f"paper: y_i depends on x_j exactly when j <= i + {r_dep}; "
      "official: on all")

# %% [markdown]
# The `paper` layout is lower-triangular plus $r$ diagonals: output $i$ is exactly unchanged
# (not merely little changed) when any frame after $i + r$ changes, so it can be emitted as soon
# as frame $i + r$ has arrived. The `official` layout's matrix is full: the backward pass of the
# first encoder layer and the backward decoder carry information from the end of the clip to
# every output.
#
# ### Streaming delay
#
# `S2SVR.stream_step(state, frame)` returns the frames that became ready: none for the first $r$
# frames, then $y_{t-r}$ at input $t$; `stream_flush` returns the last $r$ at the end. Offline
# (`forward`) and streaming outputs agree exactly, since `forward` runs the same steps:

# %%
net = build(ZeroFlow(), "paper", dep_cfg)
state = net.init_stream()
ready_at = []
with torch.no_grad():
    streamed = []
    for i in range(T_dep):
        got = net.stream_step(state, x_dep[:, i])
        ready_at.append(len(got))
        streamed += got
    streamed += net.stream_flush(state)
    offline = net(x_dep)
print("frames returned after each input:", ready_at,
      "then", T_dep - sum(ready_at), "at flush")
assert ready_at == [0] * r_dep + [1] * (T_dep - r_dep)
assert torch.equal(torch.stack(streamed, 1), offline)

# %% [markdown]
# ### Measured cost: streaming against the whole clip
#
# How do time and memory grow with the length $T$ of the video? We restore clips of growing
# length with a small network ({ref}`cpu profile <profiles>` sizes, also under `profile = "paper"`, where only the
# frames and clips grow; frames of `cost_side` pixels, `ZeroFlow` so
# that the flow network's cost does not hide the rest) in three ways: the `paper` layout
# streamed frame by frame (`S2SVR.stream`), the `paper` layout on the whole clip (`forward`), and
# the `official` layout (whole clip, the only way it can run). The peak memory is the process's
# peak resident set size during the call, re-armed before each run through Linux's
# `/proc/self/clear_refs`, minus the resident size just before it; the input clip is created
# before the measurement in all three cases. Without autograd throughout.

# %%
def measure(fn):
    """Seconds and peak RSS growth (MB) of fn()."""
    reset_peak_rss()  # VmHWM := VmRSS (s2svr.utils)
    before = proc_status_kb("VmRSS")
    t0 = time.perf_counter()
    fn()
    seconds = time.perf_counter() - t0
    return seconds, (proc_status_kb("VmHWM") - before) / 1024


can_measure_memory = os.path.exists("/proc/self/clear_refs")
cost_cfg = load_config("deblur_gopro",
                       profile="ci" if profile == "ci" else "cpu")
cost_nets = {"paper": build(ZeroFlow(), "paper", cost_cfg.model),
             "official": build(ZeroFlow(), "official", cost_cfg.model)}
cost_nets["official"].load_state_dict(cost_nets["paper"].state_dict(),
                                      strict=False)  # + backward layer
ways = {
    "paper, streamed": lambda x: [y for y in cost_nets["paper"].stream(
        x[:, i] for i in range(x.shape[1]))],
    "paper, whole clip": lambda x: cost_nets["paper"](x),
    "official, whole clip": lambda x: cost_nets["official"](x),
}
with torch.no_grad():
    ways["paper, whole clip"](torch.rand(1, 2, 3, cost_side, cost_side))
rows = []
for T_cost in lengths:
    x_cost = torch.rand(1, T_cost, 3, cost_side, cost_side)
    for way, fn in ways.items():
        with torch.no_grad():
            seconds, mb = measure(lambda: fn(x_cost))
        rows.append({"T": T_cost, "way": way,
                     "ms per frame": 1e3 * seconds / T_cost,
                     "peak memory growth (MB)":
                         mb if can_measure_memory else np.nan})
cost = pd.DataFrame(rows)
display(cost.pivot(index="T", columns="way").style.format("{:.1f}"))

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for way in ways:
    sel = cost[cost.way == way]
    axes[0].plot(sel["T"], sel["ms per frame"], "o-", label=way)
    axes[1].plot(sel["T"], sel["peak memory growth (MB)"], "o-", label=way)
axes[0].set(xlabel="frames T", ylabel="ms per frame", xscale="log",
            title="time per frame")
axes[1].set(xlabel="frames T", ylabel="MB", xscale="log",
            title="peak memory growth")
for ax in axes:
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# What a `cpu`-profile run measured (frames of 64 pixels, $T$ = 4 to 32; the table above is
# recomputed on every build and is not meaningful under `profile = "ci"`):
#
# - **Time per frame** is roughly constant with $T$ for all three (about 90 to 200 ms per frame
#   here, depending on the load of the shared CPU): both layouts do the same work per frame, the
#   official one slightly more (one extra ResConvGRU pass for the backward first layer, about
#   10-25 % slower in our runs).
# - **Memory** is where they differ. The `official` layout keeps every latent, every layer's
#   outputs and every decoded frame alive until the clip is done: its peak grows with $T$, by
#   tens of MB at $T = 32$ (30 to 90 MB over our runs). The `paper` layout stays flat, streamed
#   *and* on the whole
#   clip: its `forward` runs the very same stream steps, whose `StreamState` holds at most $2r+1$
#   latents, frames and flows plus one state per layer and forgets everything older, so on the
#   whole clip only the list of restored frames grows (three channels per frame, small here).
#   The streamed run does not even keep that list.
#
# Peak-RSS figures are approximate (the allocator reuses memory it already holds, so a few MB up or
# down, and the zeros, are noise). The point they make is the design's: the `paper` layout can
# restore a video of any length with constant memory and a delay of $r$ frames, the `official`
# layout needs the whole clip in memory.

# %%
elapsed = time.perf_counter() - t_start
print(f"chapter ran in {elapsed:.1f} s (profile {profile})")
