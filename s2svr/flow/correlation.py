"""Cost volume (correlation layer) of PWC-Net / PWC-Lite in plain PyTorch.

Explained in `notebooks/pwclite.py`. PWC-Lite (ARFlow): search range 4, so an
81-channel cost volume; plain-PyTorch correlation is enough (ARFlow ships a CUDA one beside a native one).

For every pixel `x` and displacement `d = (dx, dy)` with `|dx|, |dy| <= r`:

    cv(x, d) = <f1(x), f2(x + d)> / C

normalised by the channel count `C` like the CUDA package ARFlow uses (`kernel_size=1`, `corr_multiply=1`).
Samples of `f2` outside the frame are zero. Channel `k = (dy + r) * (2r + 1) + (dx + r)` (dy-major), the
order of that CUDA package, so ARFlow checkpoints see the same channel layout.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def correlation(f1: torch.Tensor, f2: torch.Tensor, search_range: int = 4) -> torch.Tensor:
    """Cost volume between `f1` and `f2`, both `(B, C, H, W)`.

    Returns `(B, (2r+1)^2, H, W)` (81 channels for r = 4), same dtype as the inputs.

    Pads `f2` once and loops over the displacements: memory stays at one `(B, C, H, W)` product per
    step plus the output, whereas `unfold` would hold `(2r+1)^2` copies of `f2` at once.
    """
    if f1.shape != f2.shape or f1.dim() != 4:
        raise ValueError(f"correlation expects two equal (B,C,H,W) tensors, got {tuple(f1.shape)} and {tuple(f2.shape)}")
    r = int(search_range)
    if r < 0:
        raise ValueError(f"search_range must be >= 0, got {search_range}")
    b, c, h, w = f1.shape
    d = 2 * r + 1
    f2p = F.pad(f2, (r, r, r, r))  # (B, C, H+2r, W+2r), zeros outside the frame
    out = f1.new_empty(b, d * d, h, w)
    for i in range(d):  # dy = i - r
        for j in range(d):  # dx = j - r
            out[:, i * d + j] = (f1 * f2p[:, :, i:i + h, j:j + w]).sum(1)
    return out / c
