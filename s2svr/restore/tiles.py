"""Tiles of a large frame, their banded blend, and the bands the flow net sees.

Explained in the chapter `notebooks/use_restore.py`; used by `s2svr/restore/stream.py`. A frame is cut into
overlapping tiles (:class:`Tiler`), each restored with its own recurrent state; their `scale`-times larger outputs
are blended with linear ramps one band of tile rows at a time (:class:`FrameBlend`), so no float copy of the whole
output frame is held. The flow net sees whole frames, as in training, unless the zoomed frame has more than
`FLOW_MAX_PIXELS` pixels: then it runs on horizontal bands of that many pixels with `FLOW_BAND_MARGIN` zoomed rows
of context above and below (:func:`flow_bands`), a fixed rule, so that a frame is restored the same way on every
machine; each tile's flows are cropped from the whole frame's (:func:`tile_flows`).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

FLOW_MAX_PIXELS = 2 ** 21  # zoomed pixels the flow net sees at once (~1.9 GiB at 900 B/px): a 1080p frame at zoom 1
FLOW_BAND_MARGIN = 128     # zoomed rows of context above and below a flow band (two cells of PWC-Lite's 1/64 level)



def _ramp(n: int, overlap: int, left: bool, right: bool, made: dict) -> torch.Tensor:
    """Weights `(n,)` rising linearly over the first `overlap` samples (`left`) and falling over the last (`right`);
    the same tensor for the same arguments (`made`)."""
    if (n, overlap, left, right) in made:
        return made[n, overlap, left, right]
    w = np.ones(n, np.float32)
    k = min(overlap, n // 2)
    if k > 0:
        r = (np.arange(k, dtype=np.float32) + 1) / (k + 1)
        if left:
            w[:k] = r
        if right:
            w[n - k:] = r[::-1]
    made[n, overlap, left, right] = torch.from_numpy(w)
    return made[n, overlap, left, right]


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    stride = max(tile - overlap, 1)
    s = list(range(0, size - tile, stride)) + [size - tile]
    return sorted(set(s))


def _coverage(ramps: dict, scale: int, size: int) -> torch.Tensor:
    """Sum of the 1-D ramps placed at their starts (LQ pixels, hence `scale *`): `(size,)`."""
    out = torch.zeros(size)
    for start, r in ramps.items():
        out[scale * start:scale * start + len(r)] += r
    return out


def check_tiles(tile: int | None, overlap: int) -> None:
    """Refuse tile sizes that cannot work: a tile of at least 1 pixel, an overlap in [0, tile)."""
    if tile is not None and tile < 1:
        raise ValueError(f"--tile must be a positive number of LQ pixels, got {tile}")
    if overlap < 0 or (tile is not None and overlap >= tile):
        raise ValueError(f"--tile-overlap must be in [0, --tile) = [0, {tile}), got {overlap}"
                         if tile is not None else f"--tile-overlap must be >= 0, got {overlap}")


class Tiler:
    """Overlapping tiles of an `h x w` LQ frame and the linear ramps that blend their `scale`-times larger outputs.

    `boxes`: `(top, left, height, width)` in LQ pixels, row by row (top to bottom, each row left to right).
    A tile's weight is separable, w_k(r, c) = ramp_y(r) ramp_x(c), and the tiles form a grid, so the blend's
    normaliser sum_k w_k(r, c) = norm_y(r) norm_x(c), two 1-D sums: no frame-sized weight map is needed.
    """

    def __init__(self, h: int, w: int, tile: int | None, overlap: int, scale: int):
        check_tiles(tile, overlap)
        th, tw = (h, w) if tile is None else (min(tile, h), min(tile, w))
        ys, xs = _starts(h, th, overlap), _starts(w, tw, overlap)
        self.scale, self.out_size = scale, (h * scale, w * scale)
        self.boxes = [(y, x, th, tw) for y in ys for x in xs]
        ramps = {}  # at most 3 different ramps per axis: first, inner, last (shared, so few weights are made)
        self.ramp_y = {y: _ramp(th * scale, overlap * scale, y > 0, y + th < h, ramps) for y in ys}
        self.ramp_x = {x: _ramp(tw * scale, overlap * scale, x > 0, x + tw < w, ramps) for x in xs}
        self.norm_y, self.norm_x = _coverage(self.ramp_y, scale, h * scale), _coverage(self.ramp_x, scale, w * scale)
        self._weights = {}

    def weight(self, y: int, x: int) -> torch.Tensor:
        """The blending weight of the tile at `(y, x)`: `(scale th, scale tw)` (at most 9 different ones, kept)."""
        ry, rx = self.ramp_y[y], self.ramp_x[x]
        key = (id(ry), id(rx))
        if key not in self._weights:
            self._weights[key] = torch.outer(ry, rx)
        return self._weights[key]

    def crops(self, frame: torch.Tensor) -> list[torch.Tensor]:
        """The tiles of `frame` `(..., H, W)`, as views."""
        return [frame[..., y:y + th, x:x + tw] for y, x, th, tw in self.boxes]

    def blend(self, outs: list[torch.Tensor]) -> torch.Tensor:
        """The tiles' outputs `(B, C, scale th, scale tw)`, in `boxes` order, blended into one float frame
        `(B, C, sH, sW)`: for small frames and checks (restoring blends band by band into uint8 frames)."""
        frame = None

        def emit(rows, top):
            nonlocal frame
            if frame is None:
                frame = rows.new_empty(*rows.shape[:2], *self.out_size)
            frame[..., top:top + rows.shape[-2], :] = rows

        blend = FrameBlend(self, emit)
        for box, out in zip(self.boxes, outs):
            blend.add(box, out)
        blend.finish()
        return frame


class FrameBlend:
    """One output frame blended from its tiles' outputs as they arrive, in `Tiler.boxes` order:

        y(r, c) = sum_k w_k(r, c) y_k(r, c) / (norm_y(r) norm_x(c))

    When a tile of a new tile row arrives, the output rows above it are final: they are normalised and handed to
    `emit(rows, top)` (`rows` `(B, C, n, sW)` float, its first row being output row `top`; `emit` may change them),
    and the accumulator moves down. It holds `(B, C, scale th, sW)` floats, one band of tile rows, whatever the
    frame's height.
    """

    def __init__(self, tiler: Tiler, emit: Callable[[torch.Tensor, int], None]):
        self.tiler, self.emit = tiler, emit
        self.acc, self.top = None, 0  # the band's floats; the output row of its first row

    def add(self, box: tuple, out: torch.Tensor) -> None:
        """Blend the output `(B, C, scale th, scale tw)` of the tile `box` = (top, left, height, width)."""
        y, x, th, tw = box
        s = self.tiler.scale
        if self.acc is None:
            self.acc = torch.zeros(*out.shape[:2], s * th, self.tiler.out_size[1], dtype=out.dtype)
        if s * y < self.top:
            raise ValueError(f"tile at row {y} after the band at output row {self.top}: tiles must come in order")
        if s * y > self.top:
            self._release(s * y - self.top)
        band = self.acc[..., s * y - self.top:s * (y + th) - self.top, s * x:s * (x + tw)]
        band.addcmul_(out.cpu(), self.tiler.weight(y, x))  # in place: no tile-sized temporary

    def finish(self) -> None:
        """Hand over the last band (the frame is then complete)."""
        self._emit(self.acc.shape[-2])
        self.acc = None

    def _release(self, n: int) -> None:
        self._emit(n)
        self.acc[..., :-n, :] = self.acc[..., n:, :].clone()
        self.acc[..., -n:, :] = 0
        self.top += n

    def _emit(self, n: int) -> None:
        norm = torch.outer(self.tiler.norm_y[self.top:self.top + n], self.tiler.norm_x)
        self.emit(self.acc[..., :n, :].div_(norm), self.top)  # in place: these rows are done with


def _flow_zoom(model, h: int, w: int) -> float | None:
    """The zoom PWC-Lite runs an `h x w` frame at in use; None where its memory does not grow with the frame
    (no PWC-Lite, or a fixed `flow_size` that every frame is resized to)."""
    flow = getattr(model, "flow", None)
    if flow is None or not hasattr(flow, "use") or getattr(model, "flow_size", None) is not None:
        return None
    return flow.use.zoom_for(h, w)


def flow_bands(model, h: int, w: int) -> tuple[list[tuple[int, int, int, int]], float | None]:
    """Where the flow net runs on an `h x w` LQ frame: `([(top, bottom, keep_top, keep_bottom), ...], zoom)`.

    The whole frame, `([(0, h, 0, h)], None)`, when its zoomed size has at most `FLOW_MAX_PIXELS` pixels. Else
    horizontal bands of about that many zoomed pixels, all run at the whole frame's zoom, each with
    `FLOW_BAND_MARGIN` zoomed rows of context above and below that are cropped off its flows (rows
    keep_top..keep_bottom of the frame are taken from the band top..bottom); at least 64 zoomed rows are kept.
    """
    z = _flow_zoom(model, h, w)
    if z is None or (z * h) * (z * w) <= FLOW_MAX_PIXELS:
        return [(0, h, 0, h)], None
    margin = math.ceil(FLOW_BAND_MARGIN / z)
    keep = max(int(FLOW_MAX_PIXELS / (z * z * w)) - 2 * margin, math.ceil(64 / z))
    return [(max(0, k - margin), min(h, k + keep + margin), k, min(h, k + keep)) for k in range(0, h, keep)], z


def flow_notice(model, h: int, w: int) -> str | None:
    """One line for a user whose `h x w` frames make the flow net run in bands (slow: every band is a full PWC-Lite
    call at the zoom in use); None when it sees whole frames."""
    bands, zoom = flow_bands(model, h, w)
    if len(bands) < 2:
        return None
    return (f"note: the flow net sees {w}x{h} frames at zoom {zoom:g} ({w * zoom:.0f}x{h * zoom:.0f}), in "
            f"{len(bands)} bands per frame pair; --flow-zoom 1 or --flow-max-side 1024 is much faster "
            "(the study chapter measures what a lower zoom costs)")


def _flow_pair(model, prev: torch.Tensor, cur: torch.Tensor, zoom: float | None):
    """`(F_o(prev, cur) or None, F_o(cur, prev))`, each `(B, 2, h, w)`; at `zoom` when given (a flow band)."""
    from ..models.motion import estimate_flow_pair
    if zoom is None:
        return estimate_flow_pair(model.flow, prev, cur, model.flow_size, with_fw=model.radius > 0)
    if model.radius > 0:
        return model.flow(prev, cur, with_bw=True, zoom=zoom)
    return None, model.flow(cur, prev, zoom=zoom)


def _frame_flows(model, prev: torch.Tensor, cur: torch.Tensor):
    """The flow pair of two whole LQ frames `(1, C, H, W)`, run on the `flow_bands` of the frame: `(fw, bw)`,
    each `(1, 2, H, W)` (fw None without look-ahead)."""
    h, w = cur.shape[-2:]
    bands, zoom = flow_bands(model, h, w)
    if len(bands) == 1:
        return _flow_pair(model, prev, cur, None)
    fw = cur.new_empty(cur.shape[0], 2, h, w) if model.radius > 0 else None
    bw = cur.new_empty(cur.shape[0], 2, h, w)
    for top, bottom, k0, k1 in bands:
        f, b = _flow_pair(model, prev[..., top:bottom, :], cur[..., top:bottom, :], zoom)
        bw[..., k0:k1, :] = b[..., k0 - top:k1 - top, :]
        if fw is not None:
            fw[..., k0:k1, :] = f[..., k0 - top:k1 - top, :]
    return fw, bw


def tile_flows(model, prev, cur, tiler: Tiler, device) -> list:
    """Each tile's flow pair (prev -> cur), cropped (as views) from the flows of the whole frames, computed once per
    frame pair as training computes them (a tile's flow then sees the motion beyond its border); None for the
    first frame and without a flow net."""
    if prev is None or getattr(model, "flow", None) is None:
        return [None] * len(tiler.boxes)
    fw, bw = _frame_flows(model, prev.to(device), cur.to(device))
    return [(None if fw is None else fw[..., y:y + th, x:x + tw], bw[..., y:y + th, x:x + tw])
            for y, x, th, tw in tiler.boxes]

