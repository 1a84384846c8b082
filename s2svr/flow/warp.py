"""Backward warping and flow resizing, used by motion compensation (Eq. 8) and by the flow losses (Eq. 11).

Explained in `notebooks/warping.py`. Conventions: flow `(B, 2, H, W)` in pixels,
channel 0 = x (right), channel 1 = y (down); `flow_fw` maps frame 1 to frame 2, so warping frame 2 with
`flow_fw` brings it onto frame 1: `flow_warp(x2, flow_fw)(p) = x2(p + flow_fw(p))`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def base_grid(b: int, h: int, w: int, device=None, dtype=None) -> torch.Tensor:
    """Pixel coordinates `(B, 2, H, W)`: channel 0 = x in [0, W-1], channel 1 = y in [0, H-1]."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype),
                            torch.arange(w, device=device, dtype=dtype), indexing="ij")
    return torch.stack((xs, ys), 0).unsqueeze(0).expand(b, 2, h, w)


def flow_warp(x: torch.Tensor, flow: torch.Tensor, padding_mode: str = "zeros",
              interp_mode: str = "bilinear", align_corners: bool = True) -> torch.Tensor:
    """Sample `x` at `p + flow(p)`: the spatial warping module F_w of Eq. (8).

    Args:
        x: features or frames `(B, C, H, W)`.
        flow: `(B, 2, H, W)` in pixels, channel 0 = x.
        padding_mode: 'zeros' (public code), 'border' or 'reflection' for samples that leave the frame.
        align_corners: True as in the public code: pixel centres sit at integer coordinates 0..W-1.
    Returns:
        `(B, C, H, W)`, same dtype as `x`.
    """
    if x.dim() != 4 or flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f"flow_warp expects x (B,C,H,W) and flow (B,2,H,W), got {tuple(x.shape)} and {tuple(flow.shape)}")
    if x.shape[-2:] != flow.shape[-2:] or x.shape[0] != flow.shape[0]:
        raise ValueError(f"flow_warp: x {tuple(x.shape)} and flow {tuple(flow.shape)} differ in batch or size")
    b, _, h, w = x.shape
    coords = base_grid(b, h, w, device=flow.device, dtype=flow.dtype) + flow
    if align_corners:
        gx = 2.0 * coords[:, 0] / max(w - 1, 1) - 1.0
        gy = 2.0 * coords[:, 1] / max(h - 1, 1) - 1.0
    else:
        gx = (2.0 * coords[:, 0] + 1.0) / w - 1.0
        gy = (2.0 * coords[:, 1] + 1.0) / h - 1.0
    grid = torch.stack((gx, gy), dim=-1)  # (B, H, W, 2)
    return F.grid_sample(x, grid.to(x.dtype), mode=interp_mode, padding_mode=padding_mode,
                         align_corners=align_corners)


def resize_flow(flow: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """Resize a flow field to `size = (H', W')` and rescale its vectors: u * W'/W, v * H'/H."""
    h, w = flow.shape[-2:]
    nh, nw = int(size[0]), int(size[1])
    if (nh, nw) == (h, w):
        return flow
    kwargs = {} if mode == "nearest" else {"align_corners": False}
    out = F.interpolate(flow, size=(nh, nw), mode=mode, **kwargs)
    scale = torch.tensor([nw / w, nh / h], device=flow.device, dtype=flow.dtype).view(1, 2, 1, 1)
    return out * scale
