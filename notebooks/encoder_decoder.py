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
# # Encoder and decoder
#
# S2SVR follows the sequence-to-sequence recipe of machine translation as closely as it can
# (Sec. 3.1): an *encoder* reads the low-quality frames one by one into latents, a *decoder*
# writes the restored frames one by one, and a *local attention* lets every decoding step look at
# the few latents around it. This chapter writes down Eqs. (1)-(4) and walks through
# `s2svr/models/encoder.py` (`Encoder`), `s2svr/models/decoder.py` (`Decoder`,
# `OutputEmbedding`), `s2svr/models/heads.py` (`SRHead`, `RestorationHead`) and the network
# that orders them, `s2svr/models/network.py` (`S2SVR`), with the model builders
# `build_model` and `parameter_breakdown` of `s2svr/models/__init__.py`.
#
# Vocabulary: a video is a tensor `(B, T, C, H, W)` in $[0, 1]$ (`frames_lq`), a feature map
# `(B, num_feat, H, W)`; frames are indexed from 0 in the code and from 1 in the paper.

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %%
import time

import pandas as pd
import torch
from IPython.display import display

from s2svr.configs.chapters import chapter_budget
from s2svr.report import start_chapter
from s2svr.report.figures import box_diagram, plot_row
from s2svr.configs import load_config
from s2svr.data.embedded import embedded_sequences
from s2svr.experiments.paper import PARAMETERS
from s2svr.models import (S2SVR, Decoder, Encoder, OutputEmbedding, SRHead,
                          build_model, parameter_breakdown)
from s2svr.report import show_source

t_start = start_chapter(profile, seed)  # seed, one torch thread, the ci notice
cfg = load_config("sr_reds4", profile=profile).model  # this profile's sizes
budget = chapter_budget("encoder_decoder", profile)  # sizes per profile: s2svr/configs/chapters.yaml
num_frames = budget.num_frames
print(cfg)

# %% [markdown]
# ## The encoder, Eq. (1)
#
# With $X = \{x_1, \ldots, x_N\}$ the low-quality frames, the encoder reads them in order and
# turns them into latents $Z = \{z_1, \ldots, z_N\}$:
#
# ```{math}
# :label: eq-encoder
# z_i = F_e(z_{i-1}, x_i),
# ```
#
# where $F_e$ is a stack of `num_layers` ResConvGRU layers (Eq. (9), chapter "ConvGRU and
# ResConvGRU"). The recurrent state $z_{i-1}$ is first warped onto frame $i$ by the flow between
# $x_{i-1}$ and $x_i$ (Eq. (8), chapter "Motion compensation and temporal layouts").
#
# `Encoder(in_channels, num_feat, num_blocks, num_layers)` first embeds a frame with one
# $3\times 3$ convolution to `num_feat` channels (so that the inter-layer residual of Eq. (9)
# applies to the first layer too). `Encoder.step(states, x)` is one application of
# {eq}`eq-encoder`: it takes the warped states of all layers (or `None` at the first frame) and a
# frame `(B, C_in, H, W)` and returns the latent $z_i$ (the top layer's output) with the states
# the layers carry to the next frame, each `(B, num_feat, H, W)`. As Eq. (9) is written, a layer
# carries its output $z_i^l$ (`carry='output'`); the public code's encoder carries $F_b$'s output
# without the inter-layer residual (`carry='block'`), and the chapter "Restorer study" shows why
# that matters on clips longer than the training ones. `Encoder.forward(frames_lq, flow_fw,
# flow_bw)` runs the whole clip. The package's step, line for line:

# %%
show_source(Encoder.step)

# %% [markdown]
# With zero flows (no warp), stepping frame by frame and running the whole clip must agree:

# %%
clip = embedded_sequences(data_root, "sr", "test")[0]
frames = clip.lq.read(list(range(num_frames)))  # uint8 (T, H, W, 3)
frames_lq = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)
frames_lq = frames_lq.unsqueeze(0)  # (B, T, C, H, W) in [0, 1]
b, t, c, h, w = frames_lq.shape
print(f"{clip.name}: frames_lq {tuple(frames_lq.shape)}")

encoder = Encoder(in_channels=c, num_feat=cfg.num_feat,
                  num_blocks=cfg.num_blocks, num_layers=cfg.num_layers)
zero_flow = torch.zeros(b, t - 1, 2, h, w)
with torch.no_grad():
    latents, last_states = encoder(frames_lq, zero_flow, zero_flow)
    states = None
    for i in range(t):
        z_i, states = encoder.step(states, frames_lq[:, i])  # Eq. (1)
        assert len(states) == cfg.num_layers
        assert z_i.shape == (b, cfg.num_feat, h, w)
        assert torch.allclose(z_i, latents[i], atol=1e-5)
assert all(torch.allclose(s, l, atol=1e-5) for s, l in zip(states, last_states))
print(f"{t} latents z_i, each {tuple(latents[0].shape)}: step() == forward()")

# %% [markdown]
# ## The decoder, Eqs. (2)-(4)
#
# The decoder produces the output video autoregressively. By the chain rule, the conditional
# distribution of the restored video factorises over time,
#
# ```{math}
# :label: eq-chain-rule
# P(Y \mid X) = P(y_1, \ldots, y_N \mid z_1, \ldots, z_N)
#   = \prod_{t=1}^{N} P(y_t \mid y_1, \ldots, y_{t-1};\, z_1, \ldots, z_N),
# ```
#
# and S2SVR generates each frame from the latents and the frames decoded so far,
#
# ```{math}
# :label: eq-decoder
# y_t = F_d(y_1, \ldots, y_{t-1};\, z_1, \ldots, z_N).
# ```
#
# $F_d$ is a ResConvGRU $F_r$, whose state $s_i$ summarises the past outputs, followed by a
# feed-forward network $F_f$:
#
# ```{math}
# :label: eq-decoder-step
# s_i = F_r(s_{i-1}, y_{i-1}, c_i), \qquad y_i = F_f(s_i),
# ```
#
# with $c_i$ the context vector of the local attention (Eqs. (5)-(7), chapter "Local attention").
# In the package, the paper's Eq. (4) ({eq}`eq-decoder-step` on this page) is split over three
# modules:
#
# - `OutputEmbedding` brings the previous output $y_{i-1}$ `(B, C_in, sH, sW)` back to a feature
#   map `(B, num_feat, H, W)` (four convolutions, two of them stride 2 for $\times 4$ SR);
# - `Decoder.step(states, u, context)` is $F_r$: layer $l$ reads $[s_i^{l-1}, c_i]$
#   (`2 num_feat` channels) with $s_i^0 = u_i$, the warped embedding of $y_{i-1}$, and adds
#   $s_i^{l-1}$ back as the residual of Eq. (9);
# - the task head (`SRHead` for super-resolution) is $F_f$: convolutions, two PixelShuffle
#   $\times 2$, plus the bilinearly upsampled LQ frame as a global residual.
#
# The three pieces in the package: $F_r$ (`Decoder.step`), $F_f$ (`SRHead.forward`), and
# `S2SVR.decode_step`, which chains the attention of Eq. (7), $F_r$ and $F_f$ at frame $i$:

# %%
show_source(Decoder.step, SRHead.forward, S2SVR.decode_step)

# %% [markdown]
# Checked on a random decoder: the re-embedding brings $y_{i-1}$ back to the latents' size, and every
# layer's state $s_i^l$ has the shape of $z_i$:

# %%
decoder = Decoder(in_channels=c, num_feat=cfg.num_feat,
                  num_blocks=cfg.num_blocks, num_layers=cfg.num_layers,
                  scale=cfg.scale)
y_prev = torch.rand(b, c, cfg.scale * h, cfg.scale * w)  # (B, C, sH, sW)
with torch.no_grad():
    u = decoder.embed_output(y_prev)  # (B, num_feat, H, W)
    context = latents[0]  # any (B, num_feat, H, W) stands in for c_i here
    s_i, carried = decoder.step(last_states, u, context)
assert isinstance(decoder.embed_output, OutputEmbedding)
assert u.shape == (b, cfg.num_feat, h, w)
assert [s.shape for s in carried] == [(b, cfg.num_feat, h, w)] * cfg.num_layers
print(f"y_(i-1) {tuple(y_prev.shape)} -> u_i {tuple(u.shape)} -> "
      f"s_i {tuple(s_i.shape)}, states carried by {len(carried)} layers")

# %% [markdown]
# ## The whole network
#
# `S2SVR` (built from a config by `build_model`) owns five child modules: `flow` (PWC-Lite, the
# flow estimator $F_o$ of Eq. (8)), `encoder`, `attention`, `decoder` and `head`. Its `forward`
# maps `frames_lq` `(B, T, C, H, W)` to the restored video `(B, T, C, sH, sW)`; with
# `return_attention=True` it also returns the attention weights `(B, T, 2r+1, C, H, W)`. Here the
# model is randomly initialised: the output is the bilinear upsampling of the input plus a small
# random residual, which is all the shapes need.

# %%
model = build_model(cfg).eval()
with torch.no_grad():
    frames_out, alpha = model(frames_lq, return_attention=True)
s, r = cfg.scale, cfg.radius
assert frames_out.shape == (b, t, c, s * h, s * w)  # (B, T, C, sH, sW)
assert alpha.shape == (b, t, 2 * r + 1, cfg.num_feat, h, w)
print(f"frames_lq {tuple(frames_lq.shape)} -> "
      f"output {tuple(frames_out.shape)}, alpha {tuple(alpha.shape)}")
plot_row([(frames_lq[:, t // 2], f"LQ frame {t // 2} ({h}x{w})"),
          (frames_out[:, t // 2], "output of the untrained S2SVR"),
          (torch.from_numpy(clip.gt.read([t // 2])[0]).permute(2, 0, 1) / 255,
           "ground truth")], height=2.6)

# %% [markdown]
# ## The architecture at a glance
#
# The diagram below redraws the paper's Fig. 2 for three consecutive time steps of the `paper`
# layout. Solid arrows carry feature maps, dashed orange arrows the previous output $y_{i-1}$,
# dotted green arrows the flows used for warping (Eq. (8)). The attention of step $i$ reads the
# latents $z_{i-1}, z_i, z_{i+1}$ ($r = 1$), all warped onto frame $i$, and is queried by the
# decoder state $s_{i-1}$.

# %%
boxes, arrows = {}, []
flow_style = {"linestyle": ":", "color": "C2"}
out_style = {"linestyle": "--", "color": "C1"}
for i in range(3):
    cx = 2.0 + 3.8 * i
    boxes[f"x{i}"] = (cx - 0.6, 0.1, 1.2, 0.5, f"$x_{i}$ (LQ)", "#eeeeee")
    boxes[f"enc{i}"] = (cx - 0.95, 1.4, 1.9, 0.75,
                        "encoder $F_e$\nResConvGRU ×L", "#dde8f5")
    boxes[f"att{i}"] = (cx - 0.95, 2.85, 1.9, 0.65,
                        "local attention\n$c_i$, Eqs. (5)-(7)", "#fff1c9")
    boxes[f"dec{i}"] = (cx - 0.95, 4.1, 1.9, 0.75,
                        "decoder $F_r$\nResConvGRU ×L", "#e2f2de")
    boxes[f"head{i}"] = (cx - 0.75, 5.4, 1.5, 0.5, f"head $F_f$ → $y_{i}$",
                         "#f6dede")
    arrows += [(f"x{i}", f"enc{i}"), (f"enc{i}", f"att{i}"),
               (f"att{i}", f"dec{i}"), (f"dec{i}", f"head{i}")]
    if i > 0:
        boxes[f"flow{i}"] = (cx - 2.55, 0.1, 1.3, 0.5, f"flow $F_o$: $o_{i}$",
                             "#e8f7ee")
        arrows += [(f"x{i - 1}", f"flow{i}"), (f"x{i}", f"flow{i}"),
                   (f"enc{i - 1}", f"enc{i}", "warp"),
                   (f"dec{i - 1}", f"dec{i}", "warp"),
                   (f"flow{i}", (cx - 1.9, 1.75), None, flow_style),
                   (f"enc{i - 1}", f"att{i}", None, {"color": "#777777"}),
                   (f"dec{i - 1}", f"att{i}", "query", {"color": "#777777"}),
                   (f"head{i - 1}", f"dec{i}", "$y_{i-1}$", out_style)]
    if i < 2:
        arrows.append((f"enc{i + 1}", f"att{i}", None, {"color": "#777777"}))
box_diagram(boxes, arrows, size=(12, 6.2), xlim=(0.4, 11.6), ylim=(0, 6.1),
            title="S2SVR, paper layout: three time steps")

# %% [markdown]
# ## Choices where the paper is silent
#
# The paper gives Eqs. (1)-(9) and Fig. 2 but not every wire. The package's docstrings
# (`network.py`, `encoder.py`, `decoder.py`) record what it does where the text says nothing,
# following the authors' public code where it can:
#
# - **Embedding.** One $3\times 3$ convolution + LeakyReLU maps a frame to `num_feat` channels
#   before the first encoder layer, so Eq. (9)'s residual applies there too.
# - **Initial decoder state.** $s_{-1}^l = z_0^l$, the encoder's layer-$l$ state at the first
#   frame (the causal counterpart of the public code's "encoder state at the last frame").
# - **The first previous output.** There is no $y_{-1}$; its embedding is replaced by the top
#   latent $z_0$, as the public code feeds the top encoder output at its first decoder step.
# - **Where the context enters.** $c_i$ is concatenated to the input of *every* decoder layer
#   (the public code fuses it into every layer after the first).
# - **The attention query.** $s_{i-1}$ of Eq. (7) is the top decoder state $s_{i-1}^L$, after
#   motion compensation onto frame $i$.
# - **Re-embedding $y_{i-1}$.** Four convolutions $C_\text{in} \to C/2 \to C \to 2C \to C$, the two
#   middle ones $5\times 5$ with stride 2 for $\times 4$ SR (public code).
# - **Sequence ends.** Attention neighbours missing at the ends are replaced by the centre latent;
#   neighbours at distance $> 1$ are aligned by chained warps.
# - **Temporal layout.** The equations read as a forward encoder and a forward decoder whose
#   attention looks $r$ frames ahead (layout `paper`, streamable); the public code instead has a
#   bidirectional first encoder layer and a decoder running backwards in time (layout
#   `official`). Both exist; the chapter "Motion compensation and temporal layouts" compares them.
# - **Depth.** The paper gives no number of residual blocks; 20 per layer is the value that brings
#   both the SR and the deblurring parameter counts within 3 % of the paper's (next section).

# %% [markdown]
# ## Parameters per component
#
# `parameter_breakdown(model)` counts the parameters of each child module. For the paper configs
# (flow network included, as in the paper's count; the models are built on PyTorch's `meta`
# device, which gives every tensor its shape but no storage, so counting is instant):

# %%
# the paper's counts, millions (s2svr/experiments/paper.py); Table 1 gives one count for REDS and Vimeo
PAPER_TOTAL = {name: float(m) * 1e6 for name, m in PARAMETERS.items()}
PAPER_TOTAL["sr_vimeo"] = PAPER_TOTAL["sr_reds4"]
rows = {}
for name in ("sr_reds4", "sr_vimeo", "deblur_gopro", "vqe_mfqe"):
    paper_cfg = load_config(name, profile="paper").model
    with torch.device("meta"):  # shapes only: counting needs no memory or init
        counts = parameter_breakdown(build_model(paper_cfg))
    row = {k: f"{v / 1e6:.3f} M" for k, v in counts.items()}
    paper = PAPER_TOTAL.get(name)
    row["paper"] = f"{paper / 1e6:.2f} M" if paper else "not given"
    row["measured vs paper"] = (f"{100 * (counts['total'] / paper - 1):+.1f} %"
                                if paper else "-")
    rows[f"{name} (C={paper_cfg.num_feat})"] = row
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")
table = pd.DataFrame(rows).T
display(table)

# %% [markdown]
# The measured totals are within 3 % of the paper's 13.4 M (SR) and 8.44 M (deblurring); the
# paper gives no count for compressed-video enhancement. Encoder and decoder hold about 80 % of
# the parameters, almost all of them in the residual blocks of Eq. (9); the local attention is two
# convolutions and weighs less than 1 %.

# %%
elapsed = time.perf_counter() - t_start
print(f"chapter ran in {elapsed:.1f} s (profile {profile})")
