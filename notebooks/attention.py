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
# # Local attention
#
# A sequence-to-sequence translator attends over the whole source sentence. A video frame needs
# only its neighbours, so S2SVR restricts the attention to a window of $2r + 1$ latents around
# the frame being decoded (Sec. 3.1, Fig. 2(a)). This chapter writes down Eqs. (5)-(7), walks
# through `s2svr/models/attention.py` (`LocalAttention`) and `align_window` of
# `s2svr/models/motion.py`, and looks at the weights a small S2SVR actually produces.

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
from IPython.display import display

from s2svr.configs.chapters import chapter_budget
from s2svr.report import show_source
from s2svr.report import start_chapter
from s2svr.flow.standins import KnownFlow
from s2svr.report.figures import image_slider, plot_row, row_jpeg
from s2svr.configs import load_config
from s2svr.data.embedded import embedded_flow_clips
from s2svr.losses.restoration import charbonnier_loss
from s2svr.models import S2SVR, LocalAttention
from s2svr.train.evaluate import to_tensor

t_start = start_chapter(profile, seed)  # seed, one torch thread, the ci notice
# this {ref}`profile <profiles>`'s sizes; profile paper trains the cpu-size network longer (the
# paper-size network would need hours of CPU for a few hundred steps)
cfg = load_config("deblur_gopro",
                  profile="cpu" if profile == "paper" else profile).model
budget = chapter_budget("attention", profile)  # sizes per profile: s2svr/configs/chapters.yaml
train_steps, crop = budget.train_steps, budget.crop
print(cfg)

# %% [markdown]
# ## Eqs. (5)-(7)
#
# At decoding step $i$ the attention forms a *context* $c_i$, a weighted sum of the latents
# $z_j$ of the encoder in a window of radius $r$ around frame $i$:
#
# ```{math}
# :label: eq-context
# c_i = \sum_{j=i-r}^{i+r} \alpha_{ij}\, z_j .
# ```
#
# The weights are a softmax over the window,
#
# ```{math}
# :label: eq-softmax
# \alpha_{ij} = \frac{\exp(e_{ij})}{\sum_{k=i-r}^{i+r} \exp(e_{ik})},
# ```
#
# of scores given by a two-layer network of the previous decoder state $s_{i-1}$ and the
# candidate $z_j$ (the "additive" attention of Bahdanau et al.):
#
# ```{math}
# :label: eq-score
# e_{ij} = V_a \tanh\big(W_a [s_{i-1}, z_j]\big).
# ```
#
# In S2SVR, $W_a$ and $V_a$ are $3\times 3$ convolutions ($2C \to C$ and $C \to C$, no bias), so
# $e_{ij}$ is a feature map with $C$ channels and the softmax {eq}`eq-softmax` runs over the
# $2r+1$ candidates *separately for every channel and pixel*: `alpha` has shape
# `(B, 2r+1, C, H, W)`. `LocalAttention(num_feat, radius).forward(query, candidates)` takes
# $s_{i-1}$ `(B, C, H, W)` and the stacked candidates `(B, 2r+1, C, H, W)` and returns
# `(context, alpha)`. Below, the three equations written out with the module's weights, checked
# against it:

# %% [markdown]
# The package's lines for Eqs. (5)-(7) (`s2svr/models/attention.py`):

# %%
show_source(LocalAttention.forward)

# %%
C, r, side = 8, cfg.radius, 16
attention = LocalAttention(num_feat=C, radius=r)
s_prev = torch.randn(2, C, side, side)  # s_{i-1} (B, C, H, W)
cands = torch.randn(2, 2 * r + 1, C, side, side)  # (B, 2r+1, C, H, W)

conv = nn.functional.conv2d
e = torch.stack([
    conv(torch.tanh(conv(torch.cat((s_prev, cands[:, k]), 1),
                         attention.w_a.weight, padding=1)),
         attention.v_a.weight, padding=1)
    for k in range(2 * r + 1)], dim=1)  # e_ij, Eq. (7): (B, 2r+1, C, H, W)
alpha_ref = e.exp() / e.exp().sum(1, keepdim=True)  # Eq. (6)
context_ref = (alpha_ref * cands).sum(1)  # Eq. (5)

with torch.no_grad():
    context, alpha = attention(s_prev, cands)
assert alpha.shape == (2, 2 * r + 1, C, side, side)
assert context.shape == (2, C, side, side)
assert torch.allclose(alpha, alpha_ref, atol=1e-5)
assert torch.allclose(context, context_ref, atol=1e-5)
assert (alpha >= 0).all()
assert torch.allclose(alpha.sum(1), torch.ones(2, C, side, side), atol=1e-6)
print(f"Eqs. (5)-(7) by hand == LocalAttention; alpha {tuple(alpha.shape)} "
      f"sums to one over the {2 * r + 1} candidates")

# %% [markdown]
# Because $W_a$ and $V_a$ have no bias, a constant added to every score would cancel in the
# softmax anyway. The context is a convex combination: each channel of $c_i$ lies between the
# smallest and the largest candidate at that pixel.
#
# ## Aligned candidates
#
# The latents of neighbouring frames do not sit on frame $i$: an object moves between frames. The
# network therefore warps every candidate onto frame $i$ before the attention sees it
# (`align_window(latents, i, radius, flow_bw, flow_fw)`, the motion compensation of Eq. (8)); a
# neighbour missing at a sequence end is replaced by the centre latent $z_i$, so that the softmax
# always has $2r+1$ entries. At $i = 0$, for instance, the candidate $j = i - 1$ *is* $z_0$.
#
# ## An attention explorer
#
# What do the weights look like in a network? We build a small S2SVR for deblurring (sizes of the
# `deblur_gopro` config, profile shown above) and run it on a test clip of the embedded flow set:
# five synthetic frames of layered, moving photos, blurred, whose optical flow is known exactly.
# The flow network $F_o$ is replaced by a stand-in that returns this ground-truth flow (built with
# the package's `flow_net=` argument), so the candidates are perfectly aligned and the
# weights reflect the attention itself, not a poor flow. The stand-in finds a frame pair by its
# content:

# %%
flow_net = KnownFlow()
model = S2SVR(task="deblur", layout="paper", num_feat=cfg.num_feat,
              num_blocks=cfg.num_blocks, num_layers=cfg.num_layers,
              radius=cfg.radius, flow_size=None, flow_net=flow_net)
test_clip = embedded_flow_clips(data_root, "test", "blur")[0]
frames_lq = to_tensor(test_clip["frames_lq"])[None]  # (B, T, C, H, W) in [0, 1]
frames_gt = to_tensor(test_clip["frames_gt"])[None]
flow_fw = torch.from_numpy(test_clip["flow_fw"]).unsqueeze(0)  # (B,T-1,2,H,W)
flow_bw = torch.from_numpy(test_clip["flow_bw"]).unsqueeze(0)
t = frames_lq.shape[1]
print(f"{test_clip['name']}: frames_lq {tuple(frames_lq.shape)}, flow up to "
      f"{flow_fw.norm(dim=2).max():.1f} px")


def attention_maps(model):
    """Run the test clip; alpha averaged over channels: (T, 2r+1, H, W)."""
    flow_net.set_clip(frames_lq, flow_fw, flow_bw)
    with torch.no_grad():
        out, alpha = model(frames_lq, return_attention=True)
    assert alpha.shape[:3] == (1, t, 2 * cfg.radius + 1)
    assert torch.allclose(alpha.sum(2), torch.ones(()), atol=1e-5)
    return out, alpha[0].mean(2)


_, maps_init = attention_maps(model)

# %% [markdown]
# First at initialisation, then after a brief training: `train_steps` Adam steps (30 in the `cpu`
# profile, about half a minute) of the Charbonnier loss on random crops of the embedded flow set's
# *train* clips, with their ground-truth flows. Thirty steps teach the network little more than
# "output something close to the input"; read the maps below as the behaviour of a barely trained
# network, **not** of the paper's trained model.

# %%
train_clips = embedded_flow_clips(data_root, "train", "blur")
optim = torch.optim.Adam(model.parameters(), lr=2e-4)
gen = torch.Generator().manual_seed(seed)
losses = []
t_train = time.perf_counter()
model.train()
for step in range(train_steps):
    k = int(torch.randint(len(train_clips), (1,), generator=gen))
    clip = train_clips[k]
    hh, ww = clip["frames_lq"].shape[1:3]
    y0 = int(torch.randint(hh - crop + 1, (1,), generator=gen))
    x0 = int(torch.randint(ww - crop + 1, (1,), generator=gen))
    win = (slice(y0, y0 + crop), slice(x0, x0 + crop))
    lq = to_tensor(clip["frames_lq"][:, win[0], win[1]])[None]
    gt = to_tensor(clip["frames_gt"][:, win[0], win[1]])[None]
    fw = torch.from_numpy(clip["flow_fw"][..., win[0], win[1]]).unsqueeze(0)
    bw = torch.from_numpy(clip["flow_bw"][..., win[0], win[1]]).unsqueeze(0)
    flow_net.set_clip(lq, fw, bw)
    loss = charbonnier_loss(model(lq), gt)
    optim.zero_grad()
    loss.backward()
    optim.step()
    losses.append(loss.item())
model.eval()
print(f"{train_steps} steps in {time.perf_counter() - t_train:.1f} s; "
      f"Charbonnier loss {losses[0]:.4f} -> {losses[-1]:.4f}")
frames_out, maps = attention_maps(model)

# %% [markdown]
# The slider runs over the decoded frames $i$. Each position shows the blurred input $x_i$ and the
# channel-averaged weight maps $\bar\alpha_{i,j}(\mathbf{p}) = \frac1C\sum_c \alpha_{ij}(c,
# \mathbf{p})$ for $j = i-1, i, i+1$. A uniform attention would be $1/3$ everywhere, and the
# weights of this barely trained network stay close to it, so the colour scale is stretched to the
# range of all the maps, printed below (dark = the smallest weight, bright = the largest). The
# images were computed when the book was built, so the slider works on the static page.

# %%
offsets = list(range(-cfg.radius, cfg.radius + 1))
lo, hi = float(maps.min()), float(maps.max())
print(f"channel-mean weights range from {lo:.3f} to {hi:.3f} (uniform: "
      f"{1 / len(offsets):.3f}); colour scale stretched to this range")
stretched = (maps - lo) / max(hi - lo, 1e-8)
slides = []
for i in range(t):
    panels = [(frames_lq[:, i], f"input x_{i}")]
    for k, d in enumerate(offsets):
        j = i + d
        note = "" if 0 <= j < t else " (missing: = z_i)"
        panels.append((stretched[i, k][None], f"alpha_{i},{j}{note}"))
    slides.append(row_jpeg(panels, height=3.0, width=12.0))
display(image_slider(slides, [f"i = {i}" for i in range(t)],
                     description="decoded frame i", width="100%",
                     index=t // 2))

# %% [markdown]
# ## Mean weight per relative offset
#
# Averaged over channels and pixels, how much weight does step $i$ give to the previous frame,
# to itself and to the next one? Left: before and after the brief training, averaged over the
# frames; right: per frame after training (at $i = 0$ and $i = T-1$ the missing neighbour is a copy
# of the centre, so it and the centre share the centre's weight between them).

# %%
mean_init = maps_init.mean((0, 2, 3)).numpy()  # (2r+1,)
mean_trained = maps.mean((0, 2, 3)).numpy()
per_frame = maps.mean((2, 3)).numpy()  # (T, 2r+1)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
width_bar = 0.38
pos = np.arange(len(offsets))
axes[0].bar(pos - width_bar / 2, mean_init, width_bar, label="initialisation")
axes[0].bar(pos + width_bar / 2, mean_trained, width_bar,
            label=f"after {train_steps} steps")
axes[0].axhline(1 / len(offsets), color="k", lw=0.8, ls=":", label="uniform")
axes[0].set(xticks=pos, xticklabels=[f"j - i = {d:+d}" for d in offsets],
            ylabel="mean alpha", title="mean weight per offset")
axes[0].legend(fontsize=8)
for k, d in enumerate(offsets):
    axes[1].plot(range(t), per_frame[:, k], "o-", label=f"j - i = {d:+d}")
axes[1].set(xlabel="decoded frame i", ylabel="mean alpha",
            title="per frame, after training")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()
for d, a0, a1 in zip(offsets, mean_init, mean_trained):
    print(f"offset {d:+d}: mean alpha {a0:.3f} at init, "
          f"{a1:.3f} after training")
assert np.isclose(mean_trained.sum(), 1.0, atol=1e-4)

# %% [markdown]
# At initialisation the weights are close to uniform: $W_a$ and $V_a$ start small and random, so
# the scores $e_{ij}$ differ little between candidates. Whatever structure the maps show after a
# few dozen steps comes from a barely trained network on synthetic data; the printed means above
# are the honest summary. The paper does not show attention maps; a trained model
# (chapters in part "Experiments") is needed to say which neighbour the network prefers where.
#
# The restored frame of the briefly trained network, for reference:

# %%
i = t // 2
plot_row([(frames_lq[:, i], f"blurred input x_{i}"),
          (frames_out[:, i], f"output after {train_steps} steps"),
          (frames_gt[:, i], "ground truth")], height=3.0)
elapsed = time.perf_counter() - t_start
print(f"chapter ran in {elapsed:.1f} s (profile {profile})")
