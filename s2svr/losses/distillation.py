"""Distillation loss from the HQ teacher flow to the LQ student flow, Eq. (16).

Explained in `notebooks/distillation.py`.

    L_dis(F12^x, F12^y) = sum_p | F12^y(p) - F_u(F12^x)(p) |                                  (16)

F12^y is the frozen teacher's flow on the HQ frames, F12^x the student's flow on the LQ frames, and F_u
brings the student's flow to the teacher's size: `resize_flow` (bilinear), which also multiplies the
vectors by the size ratio (x4 for x4 SR), so both flows are in HQ pixels. The sum over pixels is taken as
a mean over pixels and both flow channels, so omega_dis = 0.1 does not depend on the crop size.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..flow.warp import resize_flow


def distillation_loss(flow_student: torch.Tensor, flow_teacher: torch.Tensor) -> torch.Tensor:
    """Eq. (16): ``mean |teacher - F_u(student)|``.

    Args:
        flow_student: `(B, 2, h, w)` student flow on the LQ frames, in LQ pixels.
        flow_teacher: `(B, 2, H, W)` teacher flow on the HQ frames, in HQ pixels (treated as a constant
            pseudo-label: no gradient flows into the teacher).
    Returns:
        scalar; 0 when the student's flow resized to (H, W) equals the teacher's.
    """
    up = resize_flow(flow_student, flow_teacher.shape[-2:])  # (B, 2, H, W), vectors x H/h, W/w
    return (flow_teacher.detach() - up).abs().mean()


class DistillationLoss(nn.Module):
    """Module form of :func:`distillation_loss`."""

    def forward(self, flow_student, flow_teacher):
        return distillation_loss(flow_student, flow_teacher)
