"""Forward-backward occlusion check (Wang et al., 2018), the mask O of Eq. (11).

Explained in the book's chapter "Warping and occlusion". A pixel of frame 1 is occluded when following
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
