"""Forward-backward occlusion check (Wang et al., 2018), the mask O of Eq. (11).

Explained in `notebooks/warping.py`. A pixel of frame 1 is occluded when following
`flow_fw` and then the backward flow found there does not come back close to where it started::

    |F12 + warp(F21, F12)|^2 > alpha1 * (|F12|^2 + |warp(F21, F12)|^2) + alpha2,  alpha1 = 0.01, alpha2 = 0.5.
"""
from __future__ import annotations

import torch

from .warp import flow_warp

ALPHA1 = 0.01
ALPHA2 = 0.5


def occlusion_mask(flow_fw: torch.Tensor, flow_bw: torch.Tensor, alpha1: float = ALPHA1,
                   alpha2: float = ALPHA2) -> torch.Tensor:
    """Occlusion of frame 1, `(B, 1, H, W)` with 1 = occluded, 0 = visible (float, no gradient)."""
    with torch.no_grad():
        bw_at_fw = flow_warp(flow_bw, flow_fw, padding_mode="zeros")
        diff = (flow_fw + bw_at_fw).pow(2).sum(1, keepdim=True)
        mag = flow_fw.pow(2).sum(1, keepdim=True) + bw_at_fw.pow(2).sum(1, keepdim=True)
        return (diff > alpha1 * mag + alpha2).to(flow_fw.dtype)


def visibility_mask(flow_fw: torch.Tensor, flow_bw: torch.Tensor, **kwargs) -> torch.Tensor:
    """`1 - occlusion_mask`: 1 where the photometric loss of Eq. (11) is counted."""
    return 1.0 - occlusion_mask(flow_fw, flow_bw, **kwargs)


def range_map(flow_bw: torch.Tensor) -> torch.Tensor:
    """How much of frame 2 lands on each pixel of frame 1 when it is moved by `flow_bw` (F21), `(B, 1, H, W)`.

    Every frame-2 pixel is splatted bilinearly onto frame 1 at `p + F21(p)`; a frame-1 pixel that receives
    (almost) nothing is not seen in frame 2, i.e. occluded. No gradient.
    """
    with torch.no_grad():
        b, _, h, w = flow_bw.shape
        ys, xs = torch.meshgrid(torch.arange(h, device=flow_bw.device, dtype=flow_bw.dtype),
                                torch.arange(w, device=flow_bw.device, dtype=flow_bw.dtype), indexing="ij")
        x = (xs + flow_bw[:, 0]).reshape(b, -1)  # (B, HW) target positions in frame 1
        y = (ys + flow_bw[:, 1]).reshape(b, -1)
        x0, y0 = x.floor(), y.floor()
        out = flow_bw.new_zeros(b, h * w)
        for dx in (0, 1):
            for dy in (0, 1):
                xi, yi = x0 + dx, y0 + dy
                wgt = (1 - (x - xi).abs()) * (1 - (y - yi).abs())
                ok = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
                idx = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).long()
                out.scatter_add_(1, idx, wgt * ok)
        return out.view(b, 1, h, w)


def occlusion_from_range(flow_bw: torch.Tensor, threshold: float = 0.2) -> torch.Tensor:
    """Occlusion of frame 1 from the backward flow alone (ARFlow's `occ_from_back`): 1 where `range_map < threshold`.

    Unlike the forward-backward check it does not need F12 and F21 to agree, so it gives a usable mask from
    the first step; ARFlow trains with it before switching to the check.
    """
    return (range_map(flow_bw) < threshold).to(flow_bw.dtype)
