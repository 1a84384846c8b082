"""Photometric loss of the unsupervised flow, Eq. (11), with ARFlow's SSIM and census options.

Explained in `notebooks/flow_losses.py`.

::

    L_ph(F12) = sum_p rho(y1(p), y2(p + F12(p))) * O(p) / sum_p O(p)                          (11)

`O` is the visibility mask of the forward-backward check (`s2svr.flow.visibility_mask`, 1 = visible), and
the sum is normalised by the number of visible pixels (times channels), as ARFlow's `loss_photomatric`
does (`mean(|d| * O) / mean(O)`), so the loss does not shrink when more of the frame is occluded.
The paper's rho is the L1 distance; ARFlow (whose weights the paper reuses, see `totals.py`) mixes::

    rho = w_l1 * |y1 - y2w| + w_ssim * (1 - SSIM_3x3(y1 O, y2w O)) / 2 + w_census * census(y1 O, y2w O),

where `y2w = flow_warp(y2, F12)`. Frames `(B, C, H, W)` in [0, 1]; flows `(B, 2, H, W)` in pixels.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..flow.warp import flow_warp

SSIM_C1 = 0.01 ** 2  # SSIM constants for images in [0, 1] (Wang et al., 2004; ARFlow)
SSIM_C2 = 0.03 ** 2
MIN_VISIBLE = 1e-6   # guards the division when (almost) every pixel is occluded


def ssim_distance(x: torch.Tensor, y: torch.Tensor, window: int = 3) -> torch.Tensor:
    """ARFlow's SSIM distance `clamp((1 - SSIM) / 2, 0, 1)` with a `window x window` box filter.

    No padding (as ARFlow): returns `(B, C, H - window + 1, W - window + 1)`; 0 for identical inputs.
    """
    pool = lambda t: F.avg_pool2d(t, window, stride=1, padding=0)  # noqa: E731
    mu_x, mu_y = pool(x), pool(y)
    sigma_x = pool(x * x) - mu_x ** 2
    sigma_y = pool(y * y) - mu_y ** 2
    sigma_xy = pool(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + SSIM_C1) * (2 * sigma_xy + SSIM_C2)
    den = (mu_x ** 2 + mu_y ** 2 + SSIM_C1) * (sigma_x + sigma_y + SSIM_C2)
    return torch.clamp((1 - num / den) / 2, 0, 1)


def _ternary_transform(x: torch.Tensor, max_distance: int) -> torch.Tensor:
    """Soft census signature: (neighbour - centre) / sqrt(0.81 + (neighbour - centre)^2) on grey x 255."""
    if x.shape[1] == 3:
        grey = (0.2989 * x[:, 0] + 0.5870 * x[:, 1] + 0.1140 * x[:, 2]).unsqueeze(1)
    else:
        grey = x.mean(1, keepdim=True)
    grey = grey * 255
    k = 2 * max_distance + 1
    eye = torch.eye(k * k, device=x.device, dtype=x.dtype).view(k * k, 1, k, k)
    diff = F.conv2d(grey, eye, padding=max_distance) - grey  # (B, k*k, H, W)
    return diff / torch.sqrt(0.81 + diff ** 2)


def census_distance(x: torch.Tensor, y: torch.Tensor, max_distance: int = 1) -> torch.Tensor:
    """ARFlow's ternary-census distance (UnFlow), `(B, 1, H, W)`, 0 on a `max_distance` border."""
    t1, t2 = _ternary_transform(x, max_distance), _ternary_transform(y, max_distance)
    d = (t1 - t2) ** 2
    dist = (d / (0.1 + d)).mean(1, keepdim=True)
    inner = torch.zeros_like(dist)
    inner[..., max_distance:dist.shape[-2] - max_distance, max_distance:dist.shape[-1] - max_distance] = 1
    return dist * inner


def photometric_distance(img1: torch.Tensor, img1_recons: torch.Tensor, visible: torch.Tensor | None = None,
                         w_l1: float = 1.0, w_ssim: float = 0.0, w_census: float = 0.0) -> torch.Tensor:
    """Visible-normalised rho between frame 1 and its reconstruction (frame 2 warped onto it).

    Args:
        img1, img1_recons: `(B, C, H, W)` in [0, 1].
        visible: `(B, 1, H, W)`, 1 = counted (None: every pixel).
        w_l1, w_ssim, w_census: weights of the three distances inside rho (see module docstring).
    Returns:
        scalar: `sum_terms mean(term) / mean(visible)` (ARFlow's normalisation).
    """
    if visible is None:
        visible = img1.new_ones(img1.shape[0], 1, *img1.shape[-2:])
    loss = img1.new_zeros(())
    if w_l1 > 0:
        loss = loss + w_l1 * ((img1 - img1_recons).abs() * visible).mean()
    if w_ssim > 0:  # ARFlow masks the inputs of the windowed terms rather than their outputs
        loss = loss + w_ssim * ssim_distance(img1_recons * visible, img1 * visible).mean()
    if w_census > 0:
        loss = loss + w_census * census_distance(img1_recons * visible, img1 * visible).mean()
    return loss / visible.mean().clamp_min(MIN_VISIBLE)


def photometric_loss(img1: torch.Tensor, img2: torch.Tensor, flow_fw: torch.Tensor,
                     visible: torch.Tensor | None = None, w_l1: float = 1.0, w_ssim: float = 0.0,
                     w_census: float = 0.0, padding_mode: str = "border") -> torch.Tensor:
    """Eq. (11): rho(img1, img2 warped by flow_fw) on visible pixels, normalised by their count.

    Args:
        img1, img2: `(B, C, H, W)` in [0, 1], the size of `flow_fw`.
        flow_fw: `(B, 2, H, W)` in pixels, img1 -> img2 (`flow_warp(img2, flow_fw) ~ img1`).
        visible: `(B, 1, H, W)` 1 = visible, e.g. `visibility_mask(flow_fw, flow_bw)`; None = all pixels.
        padding_mode: 'border' as ARFlow (`warp_pad`); pixels that leave the frame are occluded anyway
            under the forward-backward check, whose own warp pads with zeros.
    Returns:
        scalar loss; 0 for identical frames and zero flow.
    """
    recons = flow_warp(img2, flow_fw, padding_mode=padding_mode)
    return photometric_distance(img1, recons, visible, w_l1=w_l1, w_ssim=w_ssim, w_census=w_census)


class PhotometricLoss(nn.Module):
    """Module form of :func:`photometric_loss` with the rho weights fixed at construction."""

    def __init__(self, w_l1: float = 1.0, w_ssim: float = 0.0, w_census: float = 0.0,
                 padding_mode: str = "border"):
        super().__init__()
        self.w_l1, self.w_ssim, self.w_census, self.padding_mode = w_l1, w_ssim, w_census, padding_mode

    def forward(self, img1, img2, flow_fw, visible=None):
        return photometric_loss(img1, img2, flow_fw, visible, w_l1=self.w_l1, w_ssim=self.w_ssim,
                                w_census=self.w_census, padding_mode=self.padding_mode)
