"""The flow network a config asks for (`flow.net`): PWC-Lite (trained by Algorithm 1) or a classical flow.

Chapter `notebooks/distillation.py`. 'dis' and 'farneback' need no training, so a restoration run with them
isolates what learning the flow adds (a Table 4 control).
"""
from __future__ import annotations

import torch.nn as nn

from .classical import DISFlow, FarnebackFlow
from .pwclite import PWCLite

FLOW_NETS = ("pwclite", "dis", "farneback")


def build_flow_net(flow_cfg, frames: str = "lq") -> nn.Module:
    """A new flow network for a `s2svr.configs.FlowConfig` (`net`, and for PWC-Lite its arch; a restorer's flow net
    sees the degraded frames, hence `frames='lq'`: `flow.lq_zoom`)."""
    net = getattr(flow_cfg, "net", "pwclite")
    if net == "pwclite":
        return PWCLite.from_config(flow_cfg, frames)
    if net == "dis":
        return DISFlow()
    if net == "farneback":
        return FarnebackFlow()
    raise ValueError(f"flow.net must be one of {FLOW_NETS}, got {net!r}")
