"""How a flow network is run, apart from what it is: the zoom, the padding and a size cap (`FlowUse`), applied by one
function, :func:`run_flow`.

Explained in `notebooks/distillation.py` (the teacher at its zoom in use) and `notebooks/exp_study.py` (what the
restorers' flow zoom costs in use). A PWC-Lite's checkpoint holds its layers (`PWCLite.arch()`) and the use it trained at (`'use'`: its zoom and
padding); the zoom it runs at later is an argument of use: `load_flow_net(path, zoom=4)`, `s2svr flow --zoom`,
`s2svr restore --flow-zoom`, the `use` that the shipped weights' manifest records beside a teacher.

* `zoom`: the network works on the frames enlarged by this factor (not in ARFlow), so its 1/4-resolution output has
  zoom/4 of the input's resolution. The public S2SVR code does the same with a fixed 256x256 (`model.flow_size`); a
  factor keeps the aspect ratio. A student sees frames `scale` times smaller than its teacher; training it at
  `zoom x scale` (`flow.lq_zoom`) puts both networks on the same grid. At zoom 4 a teacher's 1/4-resolution output
  lies on the frames' own pixel grid.
* `pad`: the zoomed frames are padded with their border up to a multiple of 64 instead of resized to it, so a frame
  of any size is zoomed by exactly `zoom` (training crops are chosen so that no rounding happens: patch x zoom a
  multiple of 64, and training never pads).
* `max_side`: a cap on the zoomed frame's longer side; the zoom is lowered for a large frame, never below 1.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F

from .warp import resize_flow


@dataclass(frozen=True)
class FlowUse:
    """The zoom, padding and size cap at which :func:`run_flow` runs a flow network (see the module docstring)."""

    zoom: float = 1.0               # the frames are enlarged by this factor before the network sees them
    pad: bool = False               # pad (replicate) the zoomed frames up to a multiple of 64 instead of resizing
    max_side: Optional[int] = None  # cap on the zoomed frame's longer side (None: no cap)

    def __post_init__(self):
        if not self.zoom > 0:
            raise ValueError(f"the flow net's zoom must be > 0, got {self.zoom}")
        if self.max_side is not None and self.max_side < 1:
            raise ValueError(f"the flow net's max_side must be a positive number of pixels, got {self.max_side}")
        object.__setattr__(self, "zoom", float(self.zoom))
        object.__setattr__(self, "pad", bool(self.pad))

    def zoom_for(self, h: int, w: int) -> float:
        """The zoom an `h x w` frame is run at: `zoom`, lowered (not below 1) so that the zoomed frame's longer side
        stays within `max_side` when that is set."""
        if self.max_side is None:
            return self.zoom
        return max(1.0, min(self.zoom, self.max_side / max(h, w)))

    def but(self, **changes) -> "FlowUse":
        """This use with some of its fields changed (`use.but(zoom=4.0)`)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        """For checkpoints, records and the manifest: `{'zoom', 'pad'}` and `max_side` when set."""
        out = {"zoom": self.zoom, "pad": self.pad}
        if self.max_side is not None:
            out["max_side"] = self.max_side
        return out


def _as_size(size) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    h, w = size
    return int(h), int(w)


def run_flow(net, img1: torch.Tensor, img2: torch.Tensor, use: FlowUse, with_bw: bool = False, work_size=None,
             zoom: float | None = None):
    """PWC-Lite's flow from img1 to img2 at input size, run as `use` says: `flow_warp(img2, flow_fw) ~ img1`.

    Args:
        net: a PWC-Lite (`network_input`, `pyramid_flows`).
        img1, img2: `(B, 3 or 1, H, W)` in [0, 1], any H, W >= 1.
        use: the zoom, padding and size cap (:class:`FlowUse`).
        with_bw: also return the flow img2 -> img1 (the feature pyramid is shared).
        work_size: None, or int / (h, w): the frames are resized to it first (the public code's 256x256,
            `model.flow_size`); the flow is resized back with its vectors rescaled.
        zoom: this call's zoom instead of `use.zoom_for` the frames (a teacher labelling a student's crops at its
            training zoom, a band of a large frame at the whole frame's zoom).
    Returns:
        flow_fw `(B, 2, H, W)` in pixels, channel 0 = x; or (flow_fw, flow_bw) if with_bw.
    """
    h, w = img1.shape[-2:]
    if work_size is not None:
        size = _as_size(work_size)
        img1 = F.interpolate(img1, size=size, mode="bilinear", align_corners=False)
        img2 = F.interpolate(img2, size=size, mode="bilinear", align_corners=False)
    if zoom is not None and not zoom > 0:
        raise ValueError(f"the flow net's zoom must be > 0, got {zoom}")
    zoom = float(zoom) if zoom is not None else use.zoom_for(*img1.shape[-2:])
    imgs, (zh, zw) = net.network_input(img1, img2, pad=use.pad, zoom=zoom)
    out = net.pyramid_flows(imgs, with_bw)
    flow_fw = resize_flow(out["flows_fw"][0][..., :zh, :zw], (h, w))  # a padded border is cropped off
    if not with_bw:
        return flow_fw
    return flow_fw, resize_flow(out["flows_bw"][0][..., :zh, :zw], (h, w))
