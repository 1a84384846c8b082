"""What restoring a video holds in memory, estimated before it starts, and what the machine has left.

Explained in the chapter `notebooks/use_restore.py`; `s2svr.restore.stream.restore_video` refuses a video whose
:func:`estimate_memory` exceeds :func:`available_memory`. With tiles, what stays frame-sized, and why:

- `paper` layout: every tile's recurrent state, from one frame to the next (the layout needs it: a tile's
  output at frame t depends on its state at t-1), including y_{t-1} at the output size, which the decoder
  re-embeds (or its re-embedding, where that is smaller); the LQ frames and flows of the attention window, which
  the states crop without copying.
- the flow net on whole frames, or on the bands of `s2svr.restore.tiles.flow_bands` for large ones.
- the uint8 output frame being filled.

With whole-clip layouts (`official`, `clip`) and frame-wise models a tile's states live only while that tile is
restored; what is frame-sized is the window of LQ frames and its uint8 outputs.
"""
from __future__ import annotations

from pathlib import Path

from .tiles import Tiler, flow_bands


def _flow_net_bytes(model, h: int, w: int, pairs: int = 1, zoom: float | None = None) -> int:
    """`s2svr.models.motion.flow_memory` of `pairs` frame pairs `h x w`, at `zoom` when given (a flow band), at
    the fixed `flow_size` when the model has one (every frame is resized to it)."""
    from ..models.motion import flow_memory, flow_pair_bytes
    size = getattr(model, "flow_size", None)
    if size is not None:
        fh, fw = (size, size) if isinstance(size, int) else size
        return flow_memory(model, fh, fw, pairs)
    if zoom is None:
        return flow_memory(model, h, w, pairs)
    return int(pairs * flow_pair_bytes(zoom * h, zoom * w))


def flow_bytes(model, h: int, w: int) -> int:
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
    decoder's L layers and the attention window's latents, C (2L + 2r), and what the decoder re-embeds of y_{t-1}
    (Eq. 4). Where C < C_in scale^2 the tiles hold its re-embedding, C, computed as soon as y_{t-1} is
    (`S2SVR.init_stream(compact=True)`), + 2 C for the freed temporaries of the tile steps that the C allocator keeps
    between the tiles' long-lived states (calibrated on the peak RSS of x4 runs, 540p in tiles of 64 at C = 8, 16 and
    1080p in tiles of 128 at C = 2, 8); else y_{t-1} itself at the output size, C_in scale^2, + half of it for those
    temporaries (calibrated on 540p and 1080p runs)."""
    c, s, f, layers, r = _sizes(model)
    if f < c * s * s:
        return f * (2 * layers + 2 * r) + 3 * f
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
      at a time, with the flow net on `pairs_per_call` pairs of that tile;
    - `frame` layout: one frame, and one tile at a time.
    """
    from ..models.motion import pairs_per_call
    c, s, f, layers, r = _sizes(model)
    tiler = Tiler(h, w, tile, tile_overlap, s)
    th, tw = tiler.boxes[0][2], tiler.boxes[0][3]
    layout = getattr(model, "layout", "paper")
    if layout == "paper":
        states = 4 * len(tiler.boxes) * th * tw * _state_floats(model)
        flows = 4 * (r + 1) * (2 if r > 0 else 1) * 2 * h * w
        return int(states + flows + flow_bytes(model, h, w) + _input_bytes(model, h, w, r + 2)
                   + _output_bytes(model, tiler, max(r, 1) + 1) + _tile_bytes(model, th, tw))
    frames = 1 if layout == "frame" else chunk
    pairs = min(pairs_per_call(getattr(model, "flow", None), th, tw, getattr(model, "flow_size", None)), frames - 1)
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

