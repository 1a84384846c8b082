"""Supervised flow loss (endpoint error to ground truth), for the Table 4 ablation "PWC-Lite, Sup.".

Explained in `notebooks/distillation.py`. The paper's
supervised PWC-Lite was trained on FlyingChairs; here it is trained on the same pairs as Algorithm 1 but
with their ground-truth flow. The loss is the mean endpoint error ``|F - F_gt|_2`` at every pyramid level,
the ground truth resized to the level with `resize_flow` (vectors rescaled), weighted by `w_scales`
(the photometric scale weights (1, 1, 1, 1, 0), so both trainings see the same levels).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from ..flow.warp import resize_flow


def epe_map(flow: torch.Tensor, flow_gt: torch.Tensor) -> torch.Tensor:
    """Endpoint error per pixel `(B, 1, H, W)`: the Euclidean length of `flow - flow_gt` (both `(B, 2, H, W)`)."""
    return (flow - flow_gt).pow(2).sum(1, keepdim=True).add(1e-12).sqrt()  # eps keeps the gradient finite at 0


def multiscale_epe_loss(flows: Sequence[torch.Tensor], flow_gt: torch.Tensor,
                        w_scales: Sequence[float] = (1.0, 1.0, 1.0, 1.0, 0.0)) -> torch.Tensor:
    """sum_l w_scales[l] * mean EPE(flows[l], F_u(flow_gt)) over a pyramid, finest first.

    Args:
        flows: `[(B, 2, h_l, w_l)]` in pixels of each level.
        flow_gt: `(B, 2, H, W)` in pixels of its own size (e.g. HQ size while the flows are on LQ frames).
    """
    total = flow_gt.new_zeros(())
    for level, flow in enumerate(flows):
        w = float(w_scales[level]) if level < len(w_scales) else 0.0
        if w:
            total = total + w * epe_map(flow, resize_flow(flow_gt, flow.shape[-2:])).mean()
    return total
