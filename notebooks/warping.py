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
# # Warping and occlusion
#
# S2SVR aligns everything it carries from one frame to the next with optical flow. Before the
# encoder or the decoder takes a step, its state from the previous frame is *warped* by the flow
# between the two low-quality frames (the motion compensation of the paper's Eq. (8)), and the
# unsupervised flow loss of Eq. (11) compares a frame with its warped neighbour only where the
# neighbour can actually see it, outside an *occlusion mask*. This chapter walks through the two
# functions behind both, in `s2svr/flow/warp.py` and `s2svr/flow/occlusion.py`:
# `flow_warp`, `resize_flow`, `occlusion_mask` and `visibility_mask`.
#
# Conventions used throughout the book: a flow field is a tensor `(B, 2, H, W)` in pixels,
# channel 0 is the horizontal displacement $u$ (to the right), channel 1 the vertical one $v$
# (down). `flow_fw` $= F_{1\to 2}$ tells, for every pixel of frame 1, where it went in frame 2.

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"  # unused: this chapter needs only skimage photos
output_dir = "outputs"

# %%
import math

import numpy as np
import torch
from IPython.display import display
from skimage import data as skdata
from skimage.transform import resize

from s2svr.configs.chapters import chapter_budget
from s2svr.report import show_source
from s2svr.report.figures import image_slider, plot_row
from s2svr.flow import flow_warp, occlusion_mask, resize_flow, visibility_mask

torch.manual_seed(seed)
budget = chapter_budget("warping", profile)  # sizes per profile: s2svr/configs/chapters.yaml
size = budget.size  # side of the test image
num_steps = budget.num_steps  # slider positions

# %% [markdown]
# ## Backward warping
#
# To bring frame 2 onto frame 1 we do not push the pixels of frame 2 forward; we *pull*: every
# pixel $\mathbf{p}$ of the result looks up frame 2 where the flow says $\mathbf{p}$ went,
#
# ```{math}
# :label: eq-backward-warp
# \hat{x}_1(\mathbf{p}) \;=\; x_2\big(\mathbf{p} + F_{1\to 2}(\mathbf{p})\big)
#   \;=\; \sum_{\mathbf{q}\,\in\,\mathcal{N}(\mathbf{p} + F_{1\to 2}(\mathbf{p}))}
#   \big(1 - |q_x - p'_x|\big)\big(1 - |q_y - p'_y|\big)\, x_2(\mathbf{q}),
# ```
#
# where $\mathbf{p}' = \mathbf{p} + F_{1\to 2}(\mathbf{p})$ is generally not a whole pixel and
# $\mathcal{N}(\mathbf{p}')$ are its four integer neighbours (bilinear interpolation). Samples that
# fall outside the frame read zero (`padding_mode="zeros"`, as in the authors' code). The same
# function warps images, feature maps and hidden states alike: in Eq. (8) it is the spatial warping
# module $F_w$ that aligns the recurrent state $s_{t-1}$ with frame $t$.
#
# `flow_warp` implements {eq}`eq-backward-warp` with `torch.nn.functional.grid_sample`. A flow of
# zero must give back the input exactly, and a flow that is a whole number of pixels must be an
# exact shift:

# %% [markdown]
# The package's lines (`s2svr/flow/warp.py`):

# %%
show_source(flow_warp)

# %%
def to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) photo -> (1, 3, size, size) float tensor in [0, 1]."""
    img = resize(img, (size, size), anti_aliasing=True)
    return torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).float()


x1 = to_tensor(skdata.astronaut())  # (B, C, H, W) in [0, 1]
b, _, h, w = x1.shape

zero = torch.zeros(b, 2, h, w)
# equal up to float rounding: grid_sample maps pixel -> [-1, 1] -> pixel
assert torch.allclose(flow_warp(x1, zero), x1, atol=1e-5), "identity warp failed"

shift = torch.zeros(b, 2, h, w)
shift[:, 0] = 3.0  # every pixel looks 3 pixels to its right
shifted = flow_warp(x1, shift)
assert torch.allclose(shifted[..., :-3], x1[..., 3:], atol=1e-5)
assert shifted[..., -3:].abs().max() == 0, "outside the frame must read zero"
print("identity and integer-shift warps are exact (to float rounding)")


# %% [markdown]
# ## A synthetic camera motion
#
# For a flow that is not constant we build one from a known motion: frame 2 is frame 1 rotated by
# an angle $\theta$ and zoomed by a factor $s$ about the centre $\mathbf{c}$. A point
# $\mathbf{p}$ of frame 1 lands at $A(\mathbf{p}) = \mathbf{c} + sR_\theta(\mathbf{p}-\mathbf{c})$ in
# frame 2, so the forward flow is $F_{1\to 2}(\mathbf{p}) = A(\mathbf{p}) - \mathbf{p}$ and the
# backward flow is $F_{2\to 1}(\mathbf{q}) = A^{-1}(\mathbf{q}) - \mathbf{q}$. We *make* frame 2 by
# warping frame 1 with the backward flow, then warp it back with the forward flow.

# %%
def similarity_flow(h: int, w: int, angle_deg: float, zoom: float):
    """Flow (1, 2, H, W) of p -> c + zoom * R(angle) (p - c), c the centre."""
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32),
                            torch.arange(w, dtype=torch.float32), indexing="ij")
    cx, cy = (w - 1) / 2, (h - 1) / 2
    t = math.radians(angle_deg)
    dx, dy = xs - cx, ys - cy
    ax = cx + zoom * (math.cos(t) * dx - math.sin(t) * dy)
    ay = cy + zoom * (math.sin(t) * dx + math.cos(t) * dy)
    return torch.stack((ax - xs, ay - ys)).unsqueeze(0)


angle, zoom = 12.0, 1.15
flow_fw = similarity_flow(h, w, angle, zoom)  # frame 1 -> frame 2
flow_bw = similarity_flow(h, w, -angle, 1 / zoom)  # inverse: frame 2 -> frame 1
x2 = flow_warp(x1, flow_bw)  # frame 2: zoomed in and rotated
x1_hat = flow_warp(x2, flow_fw)  # frame 2 brought back onto frame 1
visible = visibility_mask(flow_fw, flow_bw)  # (B, 1, H, W), 1 = visible
occluded = 1 - visible

err = (x1_hat - x1).abs().mean(1, keepdim=True)  # (B, 1, H, W)
err_visible = float((err * visible).sum() / visible.sum())
err_occluded = float((err * occluded).sum() / occluded.sum())
print(f"flow magnitude up to {flow_fw.norm(dim=1).max():.1f} px")
print(f"mean |x1_hat - x1|: {err_visible:.4f} on visible pixels, "
      f"{err_occluded:.4f} on the {int(occluded.sum())} occluded ones")
# Two bilinear resamplings blur a little; on visible pixels little remains.
assert err_visible < 0.03 < err_occluded

# %%
plot_row([(x1, "frame 1"),
          (x2, f"frame 2 (rotated {angle:g} deg, zoom {zoom:g})"),
          (x1_hat, "frame 2 warped onto frame 1"),
          (occluded, "occluded (forward-backward check)")])

# %% [markdown]
# The corners of frame 1 leave the field of view of frame 2 after the zoom: frame 2 has nothing to
# show there, so the warped image is black and those pixels are flagged as occluded.
#
# ## Flow magnitude, interactively
#
# Scaling the flow by a factor $\lambda$ moves along the same motion: $\lambda = 0$ is the identity
# and $\lambda = 1$ is the full rotation and zoom. Drag the slider; the images were computed when
# the book was built and are stored in the page, so the slider works without a running kernel.

# %%
scales = np.linspace(0.0, 1.0, num_steps)
display(image_slider([flow_warp(x1, float(s) * flow_bw) for s in scales], [f"{s:.2f}" for s in scales],
                     description="scale of the flow"))

# %% [markdown]
# ## Resizing a flow field
#
# PWC-Lite works at 256 x 256 and its flow is resized back to the frame size (Sec. 3.3 of the
# paper; `resize_flow`). Resizing must also *rescale the vectors*: a displacement of 10 pixels at
# width 128 is 20 pixels at width 256. A flow that is linear in the coordinates, like our similarity
# motion, stays the same motion after resizing, up to where pixel centres sit:

# %%
small = similarity_flow(h // 2, w // 2, angle, zoom)
up = resize_flow(small, (h, w))
assert up.shape == flow_fw.shape
# the vectors are doubled: compare mean displacements (resampling keeps them)
ratio = float(up.abs().mean() / small.abs().mean())
assert abs(ratio - 2.0) < 0.05, ratio
print(f"mean |flow| grows by {ratio:.3f} when the field is upsampled x2")

# %% [markdown]
# ## The occlusion mask
#
# The photometric loss of Eq. (11) compares $x_1$ with $\hat{x}_1$ only where frame 2 sees what
# frame 1 sees. Where a pixel of frame 1 is covered in frame 2, no flow explains it and the loss
# must not push the flow to try. S2SVR, like ARFlow, finds those pixels with the forward-backward
# consistency check: follow $F_{1\to 2}$, then the backward flow found there; on a visible pixel the
# two cancel,
#
# ```{math}
# :label: eq-fb-occlusion
# O(\mathbf{p}) = \Big[\, \big|F_{1\to 2}(\mathbf{p}) + \hat{F}_{2\to 1}(\mathbf{p})\big|^2 >
#   \alpha_1 \big(|F_{1\to 2}(\mathbf{p})|^2 + |\hat{F}_{2\to 1}(\mathbf{p})|^2\big) + \alpha_2 \Big],
# \qquad \hat{F}_{2\to 1}(\mathbf{p}) = F_{2\to 1}\big(\mathbf{p} + F_{1\to 2}(\mathbf{p})\big),
# ```
#
# where $\hat{F}_{2\to 1}$ is the backward flow warped onto frame 1 by {eq}`eq-backward-warp`, with
# $\alpha_1 = 0.01$ and $\alpha_2 = 0.5$ (`occlusion_mask`; `visibility_mask` is $1 - O$).
#
# A scene where the answer is known exactly: a patch (the cat's face) slides $d$ pixels to the
# right over a still background (the coffee cup). In frame 1 the background just right of the patch
# is covered in frame 2: those $d$ columns are the occluded pixels, and nothing else.

# %%
bg = to_tensor(skdata.coffee())  # the still background
cat = to_tensor(skdata.chelsea()[40:240, 100:300])[..., ::3, ::3]  # the patch
ph, pw = cat.shape[-2:]
top, left, d = size // 3, size // 5, max(2, size // 16)  # d: the motion

frame1, frame2 = bg.clone(), bg.clone()
frame1[..., top:top + ph, left:left + pw] = cat
frame2[..., top:top + ph, left + d:left + d + pw] = cat

fw = torch.zeros(1, 2, size, size)
fw[:, 0, top:top + ph, left:left + pw] = d  # the patch moves right
bw = torch.zeros(1, 2, size, size)
bw[:, 0, top:top + ph, left + d:left + d + pw] = -d  # and back

occ = occlusion_mask(fw, bw)
expected = torch.zeros_like(occ)
# background of frame 1 that the patch covers in frame 2:
expected[..., top:top + ph, left + pw:left + pw + d] = 1
assert torch.equal(occ, expected), "the check missed the known occlusion"

warped = flow_warp(frame2, fw)
photo_err = (warped - frame1).abs().amax(1, keepdim=True)  # (B, 1, H, W)
err_visible = float((photo_err * (1 - occ)).max())
assert err_visible < 1e-4, "a visible pixel is not explained by the flow"
print(f"occluded pixels: {int(occ.sum())} (= {ph} rows x {d} columns)")
print(f"largest photometric error: {err_visible:.1e} on visible pixels, "
      f"{float((photo_err * occ).max()):.2f} on occluded ones")

# %%
plot_row([(frame1, "frame 1"),
          (frame2, f"frame 2 (patch moved {d} px right)"),
          (photo_err, "|frame 1 - warped frame 2|"),
          (occ, "occlusion mask O")])

# %% [markdown]
# The photometric error and the mask agree: the only pixels that warping cannot explain are the
# ones the check flags. Inside the patch, flow $d$ forward and $-d$ backward cancel; on the still
# background both flows are zero. What this chapter does not show is how well the check works on
# *estimated* flows, which are smooth across the patch boundary and blur the mask: that is the
# subject of the chapter on unsupervised flow training.
