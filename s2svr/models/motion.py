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


# PWC-Lite's working memory in use (no autograd), bytes per pixel of the zoomed frame, for one frame pair and both
# directions: measured as the peak RSS of one call at 512^2 and 1024^2 (about 900 B/px; 920 and 840 seen)
FLOW_BYTES_PER_PIXEL = 900
FLOW_PAIRS_IN_USE = 4  # frame pairs per PWC-Lite call in use (no autograd): memory bounded whatever the clip length
FLOW_USE_BYTES = 1 << 30  # and fewer, down to one, where their working memory would pass this (large frames)


def pairs_per_call(flow_net: nn.Module | None, h: int, w: int, flow_size=None) -> int:
    """Frame pairs per PWC-Lite call in use for `h x w` LQ frames: `FLOW_PAIRS_IN_USE`, or fewer (one at least)
    where their working memory (`FLOW_BYTES_PER_PIXEL` of the zoomed frame, or of `flow_size` when set) would
    pass `FLOW_USE_BYTES`. At 320x180 and zoom 4 one pair needs about 0.9 GiB."""
    if flow_size is not None:
        fh, fw = (flow_size, flow_size) if isinstance(flow_size, int) else flow_size
    else:
        use = getattr(flow_net, "use", None)
        z = use.zoom_for(h, w) if use is not None else 1.0
        fh, fw = z * h, z * w
    return int(max(1, min(FLOW_PAIRS_IN_USE, FLOW_USE_BYTES // flow_pair_bytes(fh, fw))))


def flow_pair_bytes(fh: float, fw: float) -> float:
    """Bytes PWC-Lite holds for one frame pair at its working size `fh x fw` (the zoomed frame, or `flow_size`),
    padded to a multiple of 64."""
    return FLOW_BYTES_PER_PIXEL * (fh + 64) * (fw + 64)


def estimate_flows(flow_net: nn.Module, frames_lq: torch.Tensor, flow_size: int | None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """All adjacent flows of a clip `(B, T, C, H, W)`: in one batched call when training (autograd on), in calls of
    `pairs_per_call` pairs in use, so that a long clip's flows, or a large frame's, do not need all their memory at
    once.

    Returns `(flow_fw, flow_bw)`, each `(B, T-1, 2, H, W)`: flow_fw[:, t] = F_o(x_t, x_{t+1}),
    flow_bw[:, t] = F_o(x_{t+1}, x_t) (so `flow_bw[:, t-1]` is the o_t of Eq. 8).
    """
    b, t, c, h, w = frames_lq.shape
    prev = frames_lq[:, :-1].reshape(-1, c, h, w)
    cur = frames_lq[:, 1:].reshape(-1, c, h, w)
    step = len(prev) if torch.is_grad_enabled() else pairs_per_call(flow_net, h, w, flow_size)
    pairs = [estimate_flow_pair(flow_net, prev[i:i + step], cur[i:i + step], flow_size, with_fw=True)
             for i in range(0, len(prev), step)]
    flow_fw, flow_bw = (torch.cat([p[k] for p in pairs]) for k in (0, 1))
    return flow_fw.view(b, t - 1, 2, h, w), flow_bw.view(b, t - 1, 2, h, w)


def flow_memory(model: nn.Module, h: int, w: int, pairs: int = 1) -> int:
    """Bytes PWC-Lite holds while it computes `pairs` flow pairs of `h x w` frames in use (0 without PWC-Lite)."""
    flow = getattr(model, "flow", None)
    if flow is None or not hasattr(flow, "use"):
        return 0
    z = flow.use.zoom_for(h, w)
    return int(pairs * flow_pair_bytes(z * h, z * w))


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


def set_flow_use(model: nn.Module, zoom: float | None = None, max_side: int | None = None) -> None:
    """How a restorer's PWC-Lite runs in use, the one place that sets it (`s2svr restore --flow-zoom
    --flow-max-side`, the evaluation, the study): `zoom` replaces the zoom it runs at (built from its config: the
    training zoom, `flow.lq_zoom`; None keeps it), `max_side` caps the zoomed frame's longer side (None: no cap).
    What the net learned does not change (`s2svr.flow.use.FlowUse`)."""
    flow = getattr(model, "flow", None)
    if flow is None or not hasattr(flow, "use"):
        if zoom is None and max_side is None:
            return
        raise ValueError(f"{type(model).__name__} has no PWC-Lite flow net: --flow-zoom and --flow-max-side do "
                         "not apply")
    if zoom is not None and not zoom > 0:
        raise ValueError(f"--flow-zoom must be > 0, got {zoom}")
    if max_side is not None and max_side < 1:
        raise ValueError(f"--flow-max-side must be a positive number of pixels, got {max_side}")
    flow.use = flow.use.but(zoom=flow.use.zoom if zoom is None else float(zoom), max_side=max_side)
