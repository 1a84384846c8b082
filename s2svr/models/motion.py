"""Motion compensation, Eq. (8): flows between adjacent LQ frames, warped recurrent states, aligned neighbours.

Explained in `notebooks/motion.py`.

Flow naming, for adjacent LQ frames x_{t-1}, x_t (all flows `(B, 2, H, W)` in pixels at the LQ size):

- `flow_bw[t]` = F_o(x_t, x_{t-1}) points back in time: `flow_warp(s_{t-1}, flow_bw[t])` aligns a state of
  frame t-1 with frame t. This is o_t of Eq. (8), used by every forward-in-time recurrence.
- `flow_fw[t-1]` = F_o(x_{t-1}, x_t) points forward: `flow_warp(s_t, flow_fw[t-1])` aligns a state of frame t
  with frame t-1, used by backward-in-time recurrences and by look-ahead attention candidates.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
import torch.nn as nn

from ..flow.warp import flow_warp


def estimate_flow_pair(flow_net: nn.Module, prev: torch.Tensor, cur: torch.Tensor, flow_size: int | None,
                       with_fw: bool = True) -> tuple[torch.Tensor | None, torch.Tensor]:
    """Flows between LQ frames prev = x_{t-1} and cur = x_t, `(B, C, H, W)` in [0, 1].

    Returns `(flow_fw, flow_bw)`: flow_fw = F_o(x_{t-1}, x_t) (None unless `with_fw`), flow_bw = F_o(x_t, x_{t-1}).
    Single-channel (Y) frames are repeated to 3 channels because the flow net is an RGB network.
    PWC-Lite runs at `flow_size x flow_size` when set (public code: 256) and resizes the flow back.
    """
    if prev.shape[1] == 1:
        prev, cur = prev.expand(-1, 3, -1, -1), cur.expand(-1, 3, -1, -1)
    if with_fw:
        # One call gives both directions: img1 = x_{t-1}, img2 = x_t.
        flow_fw, flow_bw = flow_net(prev, cur, with_bw=True, work_size=flow_size)
        return flow_fw, flow_bw
    return None, flow_net(cur, prev, work_size=flow_size)


def estimate_flows(flow_net: nn.Module, frames_lq: torch.Tensor, flow_size: int | None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """All adjacent flows of a clip `(B, T, C, H, W)` in one batched call.

    Returns `(flow_fw, flow_bw)`, each `(B, T-1, 2, H, W)`: flow_fw[:, t] = F_o(x_t, x_{t+1}),
    flow_bw[:, t] = F_o(x_{t+1}, x_t) (so `flow_bw[:, t-1]` is the o_t of Eq. 8).
    """
    b, t, c, h, w = frames_lq.shape
    prev = frames_lq[:, :-1].reshape(-1, c, h, w)
    cur = frames_lq[:, 1:].reshape(-1, c, h, w)
    flow_fw, flow_bw = estimate_flow_pair(flow_net, prev, cur, flow_size, with_fw=True)
    return flow_fw.view(b, t - 1, 2, h, w), flow_bw.view(b, t - 1, 2, h, w)


def check_flows(flows, frames_lq: torch.Tensor) -> None:
    """Precomputed `flows` = (flow_fw, flow_bw) must be `(B, T-1, 2, H, W)` each for frames `(B, T, C, H, W)`."""
    if flows is None:
        return
    b, t, _, h, w = frames_lq.shape
    for f in flows:
        if tuple(f.shape) != (b, t - 1, 2, h, w):
            raise ValueError(f"precomputed flows must be {(b, t - 1, 2, h, w)} for frames {tuple(frames_lq.shape)}, "
                             f"got {tuple(f.shape)}")


def warp_states(states: Sequence[torch.Tensor], flow: torch.Tensor) -> list[torch.Tensor]:
    """Eq. (8) for every layer: s_hat^l = F_w(s^l, o). states: list of `(B, C, H, W)`; flow `(B, 2, H, W)`."""
    return [flow_warp(s, flow) for s in states]


def align_window(latents: Mapping[int, torch.Tensor], i: int, radius: int,
                 flow_bw: Mapping[int, torch.Tensor], flow_fw: Mapping[int, torch.Tensor]) -> torch.Tensor:
    """The attention candidates z_{i-r..i+r} of Eq. (5), each aligned with frame i: `(B, 2r+1, C, H, W)`.

    Args:
        latents: frame index -> z_j `(B, C, H, W)`; indices outside the sequence are simply absent.
        i: the centre frame.
        flow_bw: k -> F_o(x_k, x_{k-1}); needed for k = i-r+1..i.
        flow_fw: k -> F_o(x_k, x_{k+1}); needed for k = i..i+r-1.

    Choices where the paper is silent:

    - A neighbour at distance d > 1 is aligned by chaining d warps through the adjacent flows
      (z_{i-2} -> frame i-1 -> frame i), which needs only the flows the recurrence computes anyway.
    - A neighbour missing at a sequence end is replaced by the centre z_i (public code, r = 1).
    """
    centre = latents[i]
    out = []
    for j in range(i - radius, i + radius + 1):
        if j not in latents:
            out.append(centre)
            continue
        a = latents[j]
        for k in range(j + 1, i + 1):      # j < i: bring a from frame k-1 to frame k
            a = flow_warp(a, flow_bw[k])
        for k in range(j - 1, i - 1, -1):  # j > i: bring a from frame k+1 to frame k
            a = flow_warp(a, flow_fw[k])
        out.append(a)
    return torch.stack(out, dim=1)
