"""The flow network a config asks for (`flow.net.type`): PWC-Lite (trained by Algorithm 1) or a classical flow.

Chapter `notebooks/distillation.py`. 'dis' and 'farneback' need no training, so a restoration run with them
isolates what learning the flow adds (a Table 4 control).
"""
from __future__ import annotations

import torch.nn as nn

from .classical import DISFlow, FarnebackFlow
from .pwclite import PWCLite
from .use import FlowUse


def flow_use(flow_cfg, frames: str = "lq") -> FlowUse:
    """How a config's PWC-Lite runs on `frames` ('hq': the teacher's zoom, 'lq': `lq_zoom`, the students' and the
    restorers'), and with its padding (`flow.pad`)."""
    return FlowUse(zoom=flow_cfg.zoom_of(frames), pad=flow_cfg.pad)


def build_flow_net(flow_cfg, frames: str = "lq") -> nn.Module:
    """A new flow network for a `s2svr.configs.FlowConfig`: its layers from `net`, and for PWC-Lite its use from
    :func:`flow_use` (a restorer's flow net sees the degraded frames, hence `frames='lq'`: `flow.lq_zoom`)."""
    net = flow_cfg.net.type
    if net == "pwclite":
        return PWCLite(cost_norm=flow_cfg.net.cost_norm).using(flow_use(flow_cfg, frames))
    if net == "dis":
        return DISFlow()
    if net == "farneback":
        return FarnebackFlow()
    raise ValueError(f"flow.net.type must be 'pwclite', 'dis' or 'farneback', got {net!r}")
