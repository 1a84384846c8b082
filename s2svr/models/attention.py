"""Local attention over the encoder latents, Eqs. (5)-(7).

Explained in `notebooks/attention.py`. The candidates z_j,
j = i-r..i+r, reach this module already warped onto frame i and with missing neighbours at the sequence
ends replaced by the centre (see `s2svr.models.motion.align_window`).
"""
from __future__ import annotations

import torch
import torch.nn as nn


class LocalAttention(nn.Module):
    """Context vector c_i of the decoder step i.

        e_ij = V_a tanh(W_a [s_{i-1}, z_j])                                   Eq. (7)
        alpha_ij = exp(e_ij) / sum_{k=i-r}^{i+r} exp(e_ik)                    Eq. (6)
        c_i = sum_{j=i-r}^{i+r} alpha_ij z_j                                  Eq. (5)

    W_a is a 3x3 convolution 2C -> C and V_a a 3x3 convolution C -> C, both without bias (a bias shared by all
    candidates would cancel in the softmax anyway). e_ij therefore has C channels: the softmax runs over the
    2r+1 candidates separately for every channel and pixel, so alpha is `(B, 2r+1, C, H, W)`.

    Args:
        num_feat: channels C of s_{i-1} and z_j.
        radius: r; the module takes 2r+1 candidates.
    """

    def __init__(self, num_feat: int, radius: int):
        super().__init__()
        if radius < 0:
            raise ValueError(f"radius must be >= 0, got {radius}")
        self.num_feat = num_feat
        self.radius = radius
        self.w_a = nn.Conv2d(2 * num_feat, num_feat, 3, 1, 1, bias=False)
        self.v_a = nn.Conv2d(num_feat, num_feat, 3, 1, 1, bias=False)

    def forward(self, query: torch.Tensor, candidates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """query s_{i-1} `(B, C, H, W)`; candidates z_{i-r..i+r} aligned to frame i `(B, 2r+1, C, H, W)`.

        Returns the context c_i `(B, C, H, W)` and the weights alpha `(B, 2r+1, C, H, W)` (>= 0, sum 1 over dim 1).
        """
        b, n, c, h, w = candidates.shape
        if n != 2 * self.radius + 1:
            raise ValueError(f"LocalAttention(radius={self.radius}) expects {2 * self.radius + 1} candidates, got {n}")
        pairs = torch.cat((query.unsqueeze(1).expand(b, n, c, h, w), candidates), dim=2)  # (B, 2r+1, 2C, H, W)
        energy = self.v_a(torch.tanh(self.w_a(pairs.flatten(0, 1))))  # (B*(2r+1), C, H, W)
        alpha = torch.softmax(energy.view(b, n, c, h, w), dim=1)  # (B, 2r+1, C, H, W)
        context = (alpha * candidates).sum(dim=1)  # (B, C, H, W)
        return context, alpha
