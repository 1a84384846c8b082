"""Restore your own video: streaming for the `paper` layout, overlapping chunks for the `official` layout.

Explained in the chapter `notebooks/use_restore.py`. With the `paper` layout frames are read,
restored and written as they go, `r` frames behind the input, so memory does not depend on the video's
length. Large frames are cut into overlapping tiles, each with its own recurrent state, and blended with
linear ramps one band of tile rows at a time (:class:`FrameBlend`): finished output rows are rounded to uint8
at once, so no float copy of the whole `scale`-times larger frame is ever held. Single-channel models
(compressed video) restore the Y plane; Cb and Cr pass through.

What stays frame-sized with tiles, and why (`estimate_memory` counts each part):

- `paper` layout: every tile's recurrent state, from one frame to the next (the layout needs it: a tile's
  output at frame t depends on its state at t-1), including y_{t-1} at the output size, which the decoder
  re-embeds; the LQ frames and flows of the attention window, which the states crop without copying.
- the flow net: as in training, it sees whole frames (its flows are computed once per frame pair and cropped for
  each tile), unless the zoomed frame has more than `FLOW_MAX_PIXELS` pixels: then it runs on horizontal bands of
  that many pixels with `FLOW_BAND_MARGIN` zoomed rows of context above and below (:func:`flow_bands`), a fixed
  rule, so that a frame is restored the same way on every machine.
- the uint8 output frame being filled.

With whole-clip layouts (`official`, `clip`) and frame-wise models a tile's states live only while that tile is
restored; what is frame-sized is the window of LQ frames and its uint8 outputs.
"""
from __future__ import annotations

import math
import sys
from collections import deque
from pathlib import Path
from typing import Callable, Iterable, Iterator

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


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB `(H, W, 3)` -> float YCbCr in [0, 255] (ITU-R BT.601, MATLAB `rgb2ycbcr` scaled to 0-255)."""
    from .metrics import BT601, BT601_OFFSET
    return rgb.astype(np.float64) / 255.0 @ BT601.T + BT601_OFFSET


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`, rounded to uint8."""
    from .metrics import BT601, BT601_OFFSET
    rgb = (ycc - BT601_OFFSET) @ np.linalg.inv(BT601).T * 255.0
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _split(frame: np.ndarray, channels: int):
    """uint8 RGB frame -> (model input `(1, C, H, W)` float, pass-through chroma or None)."""
    if channels == 1:
        ycc = rgb_to_ycbcr(frame)
        y = torch.from_numpy(ycc[..., 0] / 255.0).float()[None, None]
        return y, ycc[..., 1:]
    return torch.from_numpy(np.array(frame, copy=True)).permute(2, 0, 1).float().div(255.0)[None], None


def _merge(out: torch.Tensor, chroma) -> np.ndarray:
    """Model output `(1, C, H, W)` -> uint8 RGB `(H, W, 3)` (rounds `out` in place)."""
    if chroma is None:
        return out[0].clamp_(0, 1).mul_(255.0).round_().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    y = out[0, 0].clamp(0, 1).cpu().double().numpy() * 255.0
    return ycbcr_to_rgb(np.concatenate([y[..., None], chroma], -1))


def _uint8_frame(tiler: Tiler, chroma) -> tuple[FrameBlend, np.ndarray]:
    """A blend whose final rows go straight into a uint8 RGB frame `(sH, sW, 3)`, complete after `finish`."""
    frame = np.empty((*tiler.out_size, 3), np.uint8)

    def emit(rows, top):
        n = rows.shape[-2]
        frame[top:top + n] = _merge(rows, None if chroma is None else chroma[top:top + n])

    return FrameBlend(tiler, emit), frame


@torch.no_grad()
def restore_stream(model, frames: Iterable[np.ndarray], device="cpu", tile: int | None = None,
                   tile_overlap: int = 16, chunk: int = 30, chunk_overlap: int = 6) -> Iterator[np.ndarray]:
    """Restore uint8 RGB frames `(H, W, 3)` one by one; yields restored uint8 RGB frames in order.

    `paper` layout: true streaming, `r` frames of delay, memory independent of the number of frames.
    `official` (and `clip`) layout: windows of `chunk` frames overlapping by `chunk_overlap`, each restored
    whole; a frame in an overlap is taken from the window in which it is further from the edge.
    `frame` layout (frame-wise baselines): each frame alone.
    """
    model.eval()
    device = torch.device(device)
    if model.layout == "paper":
        yield from _stream_paper(model, frames, device, tile, tile_overlap)
    elif model.layout == "frame":  # frame-wise models (baselines): every frame alone
        for frame in frames:
            x, chroma = _split(frame, model.in_channels)
            yield _restore_clip(model, [x], [chroma], range(1), device, tile, tile_overlap)[0]
    else:
        yield from _stream_official(model, frames, device, tile, tile_overlap, chunk, chunk_overlap)


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
    from .models.motion import estimate_flow_pair
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


def _tile_flows(model, prev, cur, tiler: Tiler, device) -> list:
    """Each tile's flow pair (prev -> cur), cropped (as views) from the flows of the whole frames, computed once per
    frame pair as training computes them (a tile's flow then sees the motion beyond its border); None for the
    first frame and without a flow net."""
    if prev is None or getattr(model, "flow", None) is None:
        return [None] * len(tiler.boxes)
    fw, bw = _frame_flows(model, prev.to(device), cur.to(device))
    return [(None if fw is None else fw[..., y:y + th, x:x + tw], bw[..., y:y + th, x:x + tw])
            for y, x, th, tw in tiler.boxes]


def _stream_paper(model, frames, device, tile, tile_overlap):
    """Every tile keeps its recurrent state from frame to frame (the layout needs it); each frame's tile outputs are
    blended band by band into a uint8 frame as the tiles come."""
    tiler = states = prev = None
    pending = deque()  # chroma of frames not yet restored (single-channel models)
    for frame in frames:
        blend = out = None  # the frame yielded last is the caller's now
        x, chroma = _split(frame, model.in_channels)
        if tiler is None:
            tiler = Tiler(x.shape[-2], x.shape[-1], tile, tile_overlap, model.scale)
            states = [model.init_stream() for _ in tiler.boxes]
        pending.append(chroma)
        flows = _tile_flows(model, prev, x, tiler, device)
        prev = x
        for box, st, c, f in zip(tiler.boxes, states, tiler.crops(x), flows):
            ready = model.stream_step(st, c.to(device), flows=f)
            if ready:
                if blend is None:
                    blend, out = _uint8_frame(tiler, pending.popleft())
                blend.add(box, ready[0])
        del flows
        if blend is not None:
            blend.finish()
            yield out
    if tiler is None:
        return
    last = [_uint8_frame(tiler, chroma) for chroma in pending]  # the last r frames
    for k, box in enumerate(tiler.boxes):
        for (blend, _), y in zip(last, model.stream_flush(states[k])):
            blend.add(box, y)
        states[k] = None  # this tile's state is needed no more
    for blend, out in last:
        blend.finish()
        yield out


def _restore_clip(model, clip: list[torch.Tensor], chromas: list, wanted: range, device, tile,
                  tile_overlap) -> list[np.ndarray]:
    """Restore LQ frames `clip` (each `(1, C, H, W)`) together, one tile at a time: each tile's clip
    `(1, T, C, th, tw)` is restored whole, its states freed before the next tile. Returns the uint8 RGB frames
    `wanted` (indices into `clip`)."""
    tiler = Tiler(clip[0].shape[-2], clip[0].shape[-1], tile, tile_overlap, model.scale)
    blends = [_uint8_frame(tiler, chromas[t]) for t in wanted]
    for y, x, th, tw in tiler.boxes:
        crop = torch.stack([f[0, :, y:y + th, x:x + tw] for f in clip])[None]  # (1, T, C, th, tw)
        outs = model(crop.to(device))[0]  # (T, C, scale th, scale tw)
        for (blend, _), t in zip(blends, wanted):
            blend.add((y, x, th, tw), outs[t:t + 1])
    for blend, _ in blends:
        blend.finish()
    return [out for _, out in blends]


def _stream_official(model, frames, device, tile, tile_overlap, chunk, chunk_overlap):
    if not 0 <= chunk_overlap < chunk:
        raise ValueError(f"chunk_overlap ({chunk_overlap}) must be in [0, chunk={chunk})")
    window = deque(maxlen=chunk)  # the last `chunk` frames: (model input, chroma)
    n = emitted = 0               # frames read; frames written
    start = 0                     # first frame of the next window to restore
    keep_right = chunk_overlap - chunk_overlap // 2  # frames of a window's right overlap left to the next window

    def restore_window(first: int, upto: int):
        return _restore_clip(model, [w[0] for w in window], [w[1] for w in window],
                             range(emitted - first, upto - first), device, tile, tile_overlap)

    for frame in frames:
        window.append(_split(frame, model.in_channels))
        n += 1
        if n == start + chunk:
            ready = restore_window(start, n - keep_right)
            emitted += len(ready)
            yield from ready
            start += chunk - chunk_overlap
    if emitted < n:  # the end: the last window is the last `chunk` frames (fewer if the video is shorter)
        yield from restore_window(n - len(window), n)


def _flow_net_bytes(model, h: int, w: int, pairs: int = 1, zoom: float | None = None) -> int:
    """`s2svr.models.motion.flow_memory` of `pairs` frame pairs `h x w`, at `zoom` when given (a flow band), at
    the fixed `flow_size` when the model has one (every frame is resized to it)."""
    from .models.motion import FLOW_BYTES_PER_PIXEL, flow_memory
    size = getattr(model, "flow_size", None)
    if size is not None:
        fh, fw = (size, size) if isinstance(size, int) else size
        return flow_memory(model, fh, fw, pairs)
    if zoom is None:
        return flow_memory(model, h, w, pairs)
    return int(FLOW_BYTES_PER_PIXEL * pairs * (zoom * h + 64) * (zoom * w + 64))


def _flow_bytes(model, h: int, w: int) -> int:
    """The flow net's memory on the largest of the `flow_bands` of an `h x w` frame (one frame pair)."""
    bands, zoom = flow_bands(model, h, w)
    return _flow_net_bytes(model, max(b - t for t, b, _, _ in bands), w, zoom=zoom)


def _sizes(model) -> tuple[int, int, int, int, int]:
    """(C_in, scale, num_feat C, num_layers L, radius r) of a model, with S2SVR's defaults where it has none."""
    layers = getattr(getattr(model, "decoder", None), "num_layers", 3)
    return (getattr(model, "in_channels", 3), getattr(model, "scale", 1), getattr(model, "num_feat", 64), layers,
            getattr(model, "radius", 1))


def _output_bytes(model, tiler: Tiler, in_flight: int) -> int:
    """`in_flight` uint8 output frames `(sH, sW, 3)` with their blend bands `(C, scale th, sW)` float32, and the
    transient copies of one band while it is normalised and rounded."""
    c, s = _sizes(model)[:2]
    (sh, sw), th = tiler.out_size, tiler.boxes[0][2]
    band = 4 * c * s * th * sw
    return in_flight * (3 * sh * sw + band) + 3 * band


def _input_bytes(model, h: int, w: int, held: int) -> int:
    """`held` float LQ frames `(C, H, W)` (with their float64 chroma for single-channel models), and the transient
    copies of reading and converting one frame."""
    c = _sizes(model)[0]
    return held * (4 * c + (24 if c == 1 else 0)) * h * w + (72 if c == 1 else 18) * h * w


def _tile_bytes(model, th: int, tw: int, frames: int = 1) -> int:
    """One tile's working memory for `frames` frames, roughly (float32 per LQ pixel): the ConvGRU's inputs and gates
    (~12 C) and the SR head's output, shuffled, its upsampled residual and their sum (4 C_in scale^2); per frame of
    a whole clip also its latents and states (C (L + 2)) and outputs (C_in scale^2)."""
    c, s, f, layers, _ = _sizes(model)
    return 4 * th * tw * (12 * f + 4 * c * s * s + (frames - 1) * (f * (layers + 2) + c * s * s + c + 4))


def _state_floats(model) -> int:
    """Floats per LQ pixel of a tile that the paper layout keeps from one frame to the next: the encoder's and the
    decoder's L layers and the attention window's latents, C (2L + 2r), and y_{t-1} at the output size, C_in scale^2,
    which the decoder re-embeds (Eq. 4); + half of that output for the freed temporaries of the tile steps that the
    C allocator keeps between the tiles' long-lived outputs (calibrated on the peak RSS of 540p and 1080p runs)."""
    c, s, f, layers, r = _sizes(model)
    return f * (2 * layers + 2 * r) + c * s * s * 3 // 2


def estimate_memory(model, h: int, w: int, tile: int | None, tile_overlap: int, chunk: int = 30) -> int:
    """Bytes that restoring `h x w` LQ frames holds at once, roughly, the sum of:

    - the uint8 output frames in flight `(sH, sW, 3)`, each with one band of its blend, `(C, scale th, sW)` float32
      (`FrameBlend`); the float LQ frames `(C, H, W)` held; one tile's working memory;
    - `paper` layout: every tile's recurrent state (`_state_floats` per LQ pixel of a tile), r + 2 LQ frames, the
      flows of r + 1 frame pairs `(2, 2, H, W)`, which the states crop, and the flow net on the largest of the
      frame's `flow_bands` (`s2svr.models.motion.flow_memory`: the whole frame up to `FLOW_MAX_PIXELS` zoomed
      pixels); r + 1 frames in flight at the end (the previous one is the caller's);
    - a whole-clip layout: the window of `chunk` LQ frames and its `chunk` outputs in flight, and one tile's clip
      at a time, with the flow net on `FLOW_PAIRS_IN_USE` pairs of that tile;
    - `frame` layout: one frame, and one tile at a time.
    """
    from .models.motion import FLOW_PAIRS_IN_USE
    c, s, f, layers, r = _sizes(model)
    tiler = Tiler(h, w, tile, tile_overlap, s)
    th, tw = tiler.boxes[0][2], tiler.boxes[0][3]
    layout = getattr(model, "layout", "paper")
    if layout == "paper":
        states = 4 * len(tiler.boxes) * th * tw * _state_floats(model)
        flows = 4 * (r + 1) * (2 if r > 0 else 1) * 2 * h * w
        return int(states + flows + _flow_bytes(model, h, w) + _input_bytes(model, h, w, r + 2)
                   + _output_bytes(model, tiler, max(r, 1) + 1) + _tile_bytes(model, th, tw))
    frames = 1 if layout == "frame" else chunk
    pairs = min(FLOW_PAIRS_IN_USE, frames - 1)
    flow = _flow_net_bytes(model, th, tw, pairs) if pairs > 0 else 0
    return int(flow + _input_bytes(model, h, w, frames) + _output_bytes(model, tiler, frames + 1)
               + _tile_bytes(model, th, tw, frames))


def available_memory() -> int | None:
    """Bytes this process may still take: MemAvailable of /proc/meminfo, or less under an address-space limit
    (`ulimit -v`, RLIMIT_AS: the limit minus the address space already mapped); None where neither is known."""
    known = [v for v in (_meminfo("/proc/meminfo", "MemAvailable:"), _address_space_left()) if v is not None]
    return min(known) if known else None


def _address_space_left() -> int | None:
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    mapped = _meminfo("/proc/self/status", "VmSize:")
    return None if limit == resource.RLIM_INFINITY or mapped is None else limit - mapped


def _meminfo(path: str, key: str) -> int | None:
    """The `key N kB` line of a /proc file, in bytes (None where there is none)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def restore_video(model, input_path, output_path, device="cpu", tile: int | None = None, tile_overlap: int = 16,
                  size: tuple | None = None, fps: float | None = None, max_frames: int | None = None,
                  progress: bool = True, overwrite: bool = True, **kwargs) -> Path:
    """Read `input_path` (video file, image folder or raw YUV with `size=(w, h)`), restore it, and write
    `output_path` (.mp4/.mkv/.avi, .yuv, or a folder of PNGs when it has no suffix). Atomic: on an error
    nothing is left at `output_path`. The output may never be the input; an existing output is replaced only
    with `overwrite=True` (a PNG folder only when it holds nothing but frame files)."""
    from .data.video_io import VideoIOError, VideoWriter, iter_frames, probe
    from .outputs import same_path
    if same_path(input_path, output_path):
        raise VideoIOError(output_path, "the output is the input; choose another output")
    check_tiles(tile, tile_overlap)
    info = probe(input_path, size=size)
    out_w, out_h = info["width"] * model.scale, info["height"] * model.scale
    need = estimate_memory(model, info["height"], info["width"], tile, tile_overlap, kwargs.get("chunk", 30))
    avail = available_memory()
    if avail is not None and need > 0.9 * avail:  # refuse up front rather than run out of memory mid-video
        flow = _flow_bytes(model, info["height"], info["width"])
        hint = ("most of it is the flow net at its zoom: lower it with --flow-zoom or --flow-max-side"
                if flow > need / 2 else "restore a smaller video" if tile is not None else
                "restore it in tiles (--tile 128) or a smaller video")
        raise VideoIOError(input_path, f"restoring {info['width']}x{info['height']} frames needs about "
                                       f"{need / 2**30:.1f} GiB, {avail / 2**30:.1f} GiB are available; {hint}")
    if Path(output_path).suffix.lower() == ".yuv" and (out_w % 2 or out_h % 2):
        raise VideoIOError(output_path, f"the restored frames are {out_w}x{out_h}; YUV 4:2:0 needs even sizes "
                                        "(write .mp4 or a PNG folder instead)")
    notice = flow_notice(model, info["height"], info["width"])
    if progress and notice:
        print(notice, file=sys.stderr)
    n = info["num_frames"] or None
    if max_frames is not None:
        n = min(n or max_frames, max_frames)
    frames = iter_frames(input_path, size=size, max_frames=max_frames)
    bar = None
    try:
        with VideoWriter(output_path, fps=fps or info.get("fps") or 25, overwrite=overwrite) as writer:
            if progress:  # after the writer has accepted the output, so a refusal is one line
                from tqdm.auto import tqdm
                bar = tqdm(total=n, desc=f"restore {Path(input_path).name}", unit="frame")
            for out in restore_stream(model, frames, device=device, tile=tile, tile_overlap=tile_overlap, **kwargs):
                writer.write(out)
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return Path(output_path)
