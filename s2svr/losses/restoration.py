"""Charbonnier loss of the restoration network (Sec. 4.1, public code).

Explained in the book's chapter on restoration training. Convention: `mean(sqrt((pred - target)^2 + eps^2))`,
so equal tensors give exactly `eps`. With eps = 1e-6 this is BasicSR's `CharbonnierLoss(eps=1e-12)`, which
adds eps without squaring it: sqrt(d^2 + 1e-12) either way.
"""
from __future__ import annotations

import torch
import torch.nn as nn


def charbonnier_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-6,
                     reduction: str = "mean") -> torch.Tensor:
    """Charbonnier (smooth L1) distance; `pred`, `target` of equal shape, e.g. `(B, T, C, H, W)` in [0, 1].

    reduction: 'mean' (default), 'sum' or 'none'.
    """
    if pred.shape != target.shape:
        raise ValueError(f"charbonnier_loss: shapes differ {tuple(pred.shape)} vs {tuple(target.shape)}")
    loss = torch.sqrt((pred - target) ** 2 + eps * eps)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"charbonnier_loss: unknown reduction {reduction!r}")


class CharbonnierLoss(nn.Module):
    """Module form of :func:`charbonnier_loss`."""

    def __init__(self, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__()
        self.eps, self.reduction = eps, reduction

    def forward(self, pred, target):
        return charbonnier_loss(pred, target, self.eps, self.reduction)
