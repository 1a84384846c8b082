"""Task heads: the feed-forward network F_f of Eq. (4), y_i = F_f(s_i), with a global residual.

Explained in `notebooks/encoder_decoder.py`. Outputs are not clamped
(the losses see the raw values); clamp to [0, 1] before saving or measuring.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class SRHead(nn.Module):
    """x`scale` super-resolution: y_i = PixelShuffle(convs(s_i)) + up(x_i).

    Convolutions C -> 4C -> 2C -> in_channels * scale^2 (48 for RGB x4) with LeakyReLU(0.1), then log2(scale)
    PixelShuffle(2); the LQ frame upsampled by `upsample` ('bilinear' in the public code, or 'bicubic') is the
    global residual, so the network learns only the missing detail.
    """

    def __init__(self, num_feat: int, in_channels: int = 3, scale: int = 4, upsample: str = "bilinear"):
        super().__init__()
        n_up = int(round(math.log2(scale)))
        if 2 ** n_up != scale or scale < 2:
            raise ValueError(f"SRHead needs scale 2, 4, 8, ..., got {scale}")
        if upsample not in ("bilinear", "bicubic"):
            raise ValueError(f"upsample must be 'bilinear' or 'bicubic', got {upsample!r}")
        self.scale = scale
        self.upsample = upsample
        self.body = nn.Sequential(
            nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(4 * num_feat, 2 * num_feat, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(2 * num_feat, in_channels * scale ** 2, 3, 1, 1),
            *[nn.PixelShuffle(2) for _ in range(n_up)])

    def forward(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """state s_i `(B, C, H, W)`, LQ frame x_i `(B, C_in, H, W)` -> y_i `(B, C_in, scale*H, scale*W)`."""
        base = F.interpolate(x, scale_factor=self.scale, mode=self.upsample, align_corners=False)
        return self.body(state) + base


class RestorationHead(nn.Module):
    """Same-size restoration (deblurring, compressed video): y_i = convs(s_i) + x_i.

    Convolutions C -> C -> C -> in_channels with LeakyReLU(0.1) (public code); the LQ frame is the residual.
    """

    def __init__(self, num_feat: int, in_channels: int = 3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(num_feat, in_channels, 3, 1, 1))

    def forward(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """state s_i `(B, C, H, W)`, LQ frame x_i `(B, C_in, H, W)` -> y_i `(B, C_in, H, W)`."""
        return self.body(state) + x


def identity_start(head: nn.Module) -> nn.Module:
    """Zero the head's last convolution, so that y_i = global residual at the first step: an SR model starts as
    its upsampling, a restorer as its input, and every model (single-frame or multi-frame) learns the correction
    from the same start (`model.head_init: identity`)."""
    last = [m for m in head.modules() if isinstance(m, nn.Conv2d)][-1]
    nn.init.zeros_(last.weight)
    if last.bias is not None:
        nn.init.zeros_(last.bias)
    return head


def build_head(task: str, num_feat: int, in_channels: int, scale: int, upsample: str = "bilinear") -> nn.Module:
    """'sr' -> :class:`SRHead`; 'deblur' and 'vqe' -> :class:`RestorationHead` (scale must be 1)."""
    if task == "sr":
        return SRHead(num_feat=num_feat, in_channels=in_channels, scale=scale, upsample=upsample)
    if task in ("deblur", "vqe"):
        if scale != 1:
            raise ValueError(f"task {task!r} restores at the input size: scale must be 1, got {scale}")
        return RestorationHead(num_feat=num_feat, in_channels=in_channels)
    raise ValueError(f"unknown task {task!r} (expected 'sr', 'deblur' or 'vqe')")
