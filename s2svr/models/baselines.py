"""Baselines trained and evaluated exactly like S2SVR: identity (bicubic / degraded input), single-frame, BasicVSR-style.

Explained in `notebooks/exp_sr.py` (the baselines and what each one isolates). Chosen by `model.arch` in a
config (`s2svr.configs.ModelConfig`); the trainer, evaluation and restoration treat them like S2SVR through the
attributes every model here has: `task`, `in_channels`, `scale`, `layout`, and `forward(frames_lq)` mapping
`(B, T, C_in, H, W)` in [0, 1] to `(B, T, C_in, sH, sW)` (not clamped).

- `identity`: no parameters. SR: x`scale` MATLAB bicubic (`s2svr.data.degrade.imresize`, cubic a = -0.5, the
  convention of the "Bicubic" rows of VSR tables; `method='torch'` gives PyTorch's a = -0.75 kernel instead).
  Deblurring and compressed video: the degraded input itself, so its score is the input's.
- `single_frame`: the S2SVR building blocks with the time axis removed: a shallow embedding (3x3 conv), residual
  blocks (`ResidualBlock`, width `num_feat`), the same task head. Depth: `2 * num_layers * num_blocks` blocks,
  as many as the S2SVR encoder and decoder hold together, so the comparison isolates temporal information.
- `basicvsr`: bidirectional recurrent propagation after BasicVSR (Chan et al., CVPR 2021): a backward branch runs
  from the last frame to the first, a forward branch from the first to the last; each step warps the branch's
  hidden state with flow from our PWC-Lite (child `flow`, trained with the same lr as S2SVR's), concatenates it with
  the current LQ frame and runs a 3x3 conv + `num_layers * num_blocks` residual blocks; the two hidden states
  of a frame are fused by a 1x1 conv and decoded by the same task head. Output t sees every frame of the clip,
  so it needs the whole clip (`layout = 'clip'`): evaluation restores clips whole, `s2svr restore` in chunks.

`layout` values: 'frame' (each frame alone: `stream` restores a video frame by frame with constant memory) and
'clip' (whole clip); S2SVR's 'paper' and 'official' are described in `s2svr.models.network`.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..flow.warp import flow_warp
from .convgru import ResidualBlock
from .heads import build_head
from .motion import check_flows, estimate_flows

BASELINES = ("identity", "single_frame", "basicvsr")


def _check_input(frames_lq: torch.Tensor, in_channels: int) -> None:
    if frames_lq.dim() != 5 or frames_lq.shape[2] != in_channels:
        raise ValueError(f"expected frames_lq (B, T, {in_channels}, H, W), got {tuple(frames_lq.shape)}")


class _FrameWise(nn.Module):
    """Models that restore every frame alone: they can stream a video with no state at all."""

    layout = "frame"

    def stream(self, frames: Iterable[torch.Tensor], grad: bool = False) -> Iterator[torch.Tensor]:
        """Restore LQ frames `(B, C_in, H, W)` one at a time; yields `(B, C_in, sH, sW)` with no delay."""
        for frame in frames:
            with torch.set_grad_enabled(grad):  # per call, so the generator never leaves grad mode changed
                y = self(frame.unsqueeze(1))[:, 0]
            yield y


class IdentityBaseline(_FrameWise):
    """No restoration: bicubic x`scale` upsampling for SR, the degraded frame itself for deblur and vqe.

    Args:
        task: 'sr', 'deblur' or 'vqe'.
        in_channels: 3 (RGB) or 1 (Y).
        scale: SR factor (taken as 1 for deblur and vqe).
        method: SR upsampling, 'matlab' (MATLAB `imresize` bicubic, the tables' "Bicubic" row; computed in NumPy
            float64, so it carries no gradient) or 'torch' (`F.interpolate(mode='bicubic', align_corners=False)`).
    """

    def __init__(self, *, task: str = "sr", in_channels: int = 3, scale: int = 4, method: str = "matlab"):
        super().__init__()
        if method not in ("matlab", "torch"):
            raise ValueError(f"method must be 'matlab' or 'torch', got {method!r}")
        self.task, self.in_channels, self.method = task, in_channels, method
        self.scale = scale if task == "sr" else 1

    def forward(self, frames_lq: torch.Tensor) -> torch.Tensor:
        """`(B, T, C_in, H, W)` -> `(B, T, C_in, sH, sW)`; for scale 1 the input itself (a copy)."""
        _check_input(frames_lq, self.in_channels)
        if self.scale == 1:
            return frames_lq.clone()
        b, t, c, h, w = frames_lq.shape
        x = frames_lq.reshape(b * t, c, h, w)
        if self.method == "torch":
            y = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        else:
            from ..data.degrade import imresize
            arr = x.detach().permute(0, 2, 3, 1).cpu().double().numpy()  # (BT, H, W, C): imresize's stack layout
            y = torch.from_numpy(np.ascontiguousarray(imresize(arr, self.scale))).permute(0, 3, 1, 2)
            y = y.to(device=frames_lq.device, dtype=frames_lq.dtype)
        return y.reshape(b, t, c, h * self.scale, w * self.scale)


def _conv_blocks(in_channels: int, num_feat: int, num_blocks: int) -> nn.Sequential:
    """3x3 conv in_channels -> num_feat, LeakyReLU(0.1), then `num_blocks` residual blocks of width num_feat."""
    return nn.Sequential(nn.Conv2d(in_channels, num_feat, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True),
                         *[ResidualBlock(num_feat) for _ in range(num_blocks)])


class SingleFrameBaseline(_FrameWise):
    """Each frame restored alone: y_t = head(blocks(embed(x_t)), x_t); no temporal information at all.

    Args:
        task, in_channels, scale, upsample: as for :class:`s2svr.models.S2SVR` (same head).
        num_feat: width C of the embedding and residual blocks.
        num_blocks: residual blocks in total (`build_baseline` gives `2 * num_layers * num_blocks` of the config).
    """

    def __init__(self, *, task: str = "sr", in_channels: int = 3, num_feat: int = 64, num_blocks: int = 120,
                 scale: int = 4, upsample: str = "bilinear"):
        super().__init__()
        self.task, self.in_channels, self.num_feat = task, in_channels, num_feat
        self.scale = scale if task == "sr" else 1
        self.body = _conv_blocks(in_channels, num_feat, num_blocks)
        self.head = build_head(task, num_feat=num_feat, in_channels=in_channels, scale=self.scale, upsample=upsample)

    def forward(self, frames_lq: torch.Tensor) -> torch.Tensor:
        """`(B, T, C_in, H, W)` -> `(B, T, C_in, sH, sW)`; the T frames are folded into the batch."""
        _check_input(frames_lq, self.in_channels)
        b, t, c, h, w = frames_lq.shape
        x = frames_lq.reshape(b * t, c, h, w)
        y = self.head(self.body(x), x)  # (BT, C_in, sH, sW)
        return y.reshape(b, t, *y.shape[1:])


class BasicVSRBaseline(nn.Module):
    """Bidirectional recurrent propagation (BasicVSR, Chan et al. 2021) with our PWC-Lite and task head.

    With x_i the LQ frames, W the warp of `s2svr.flow.warp.flow_warp` and R_b, R_f the two branches:

        h_i^b = R_b([x_i, W(h_{i+1}^b, F_o(x_i, x_{i+1}))]),   h_T^b = 0     (backward, i = T-1 .. 0)
        h_i^f = R_f([x_i, W(h_{i-1}^f, F_o(x_i, x_{i-1}))]),   h_{-1}^f = 0  (forward, i = 0 .. T-1)
        y_i = head(lrelu(conv1x1([h_i^f, h_i^b])), x_i)

    Args:
        task, in_channels, scale, upsample, flow_size: as for :class:`s2svr.models.S2SVR`.
        num_feat: hidden state width C.
        num_blocks: residual blocks per branch (`build_baseline` gives `num_layers * num_blocks` of the config).
        flow_net: F_o, default a new `s2svr.flow.pwclite.PWCLite()`.
    """

    layout = "clip"

    def __init__(self, *, task: str = "sr", in_channels: int = 3, num_feat: int = 64, num_blocks: int = 60,
                 scale: int = 4, upsample: str = "bilinear", flow_size: int | None = 256,
                 flow_net: nn.Module | None = None):
        super().__init__()
        self.task, self.in_channels, self.num_feat, self.flow_size = task, in_channels, num_feat, flow_size
        self.scale = scale if task == "sr" else 1
        if flow_net is None:
            from ..flow.pwclite import PWCLite
            flow_net = PWCLite()
        self.flow = flow_net
        self.backward_branch = _conv_blocks(in_channels + num_feat, num_feat, num_blocks)
        self.forward_branch = _conv_blocks(in_channels + num_feat, num_feat, num_blocks)
        self.fusion = nn.Sequential(nn.Conv2d(2 * num_feat, num_feat, 1), nn.LeakyReLU(0.1, inplace=True))
        self.head = build_head(task, num_feat=num_feat, in_channels=in_channels, scale=self.scale, upsample=upsample)

    def forward(self, frames_lq: torch.Tensor, flows=None) -> torch.Tensor:
        """`(B, T, C_in, H, W)` -> `(B, T, C_in, sH, sW)`; every output depends on the whole clip. `flows`: as
        for :class:`s2svr.models.S2SVR`, computed beforehand (default: the flow net runs here)."""
        _check_input(frames_lq, self.in_channels)
        check_flows(flows, frames_lq)
        b, t, c, h, w = frames_lq.shape
        if t > 1 and flows is not None:
            flow_fw, flow_bw = flows
        elif t > 1:
            # flow_fw[:, i] = F_o(x_i, x_{i+1}) aligns frame i+1 with frame i; flow_bw[:, i] = F_o(x_{i+1}, x_i)
            # aligns frame i with frame i+1 (s2svr.models.motion naming). One batched call for the clip.
            flow_fw, flow_bw = estimate_flows(self.flow, frames_lq, self.flow_size)  # (B, T-1, 2, H, W) each
        hidden = frames_lq.new_zeros(b, self.num_feat, h, w)
        backward = [None] * t
        for i in range(t - 1, -1, -1):
            if i < t - 1:
                hidden = flow_warp(hidden, flow_fw[:, i])
            hidden = self.backward_branch(torch.cat((frames_lq[:, i], hidden), dim=1))
            backward[i] = hidden
        hidden = frames_lq.new_zeros(b, self.num_feat, h, w)
        outputs = []
        for i in range(t):
            if i > 0:
                hidden = flow_warp(hidden, flow_bw[:, i - 1])
            hidden = self.forward_branch(torch.cat((frames_lq[:, i], hidden), dim=1))
            fused = self.fusion(torch.cat((hidden, backward[i]), dim=1))
            outputs.append(self.head(fused, frames_lq[:, i]))
            backward[i] = None  # no longer needed: frees the memory as the forward pass goes (no_grad runs)
        return torch.stack(outputs, dim=1)  # (B, T, C_in, sH, sW)


def build_baseline(model_cfg, flow_net: nn.Module | None = None) -> nn.Module:
    """The baseline named by `model_cfg.arch` (a `s2svr.configs.ModelConfig`), sized from the same fields as
    S2SVR: width `num_feat`, and as many residual blocks as S2SVR's encoder + decoder (2 * num_layers * num_blocks)
    in total. `layout` and `radius` do not apply; `flow_net` is used by 'basicvsr' only."""
    arch, m = model_cfg.arch, model_cfg
    if arch == "identity":
        return IdentityBaseline(task=m.task, in_channels=m.in_channels, scale=m.scale)
    if arch == "single_frame":
        return SingleFrameBaseline(task=m.task, in_channels=m.in_channels, num_feat=m.num_feat,
                                   num_blocks=2 * m.num_layers * m.num_blocks, scale=m.scale, upsample=m.upsample)
    if arch == "basicvsr":
        return BasicVSRBaseline(task=m.task, in_channels=m.in_channels, num_feat=m.num_feat,
                                num_blocks=m.num_layers * m.num_blocks, scale=m.scale, upsample=m.upsample,
                                flow_size=m.flow_size, flow_net=flow_net)
    raise ValueError(f"unknown baseline {arch!r} (expected one of {BASELINES})")
