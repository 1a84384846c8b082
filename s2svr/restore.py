"""Restore your own video: streaming for the `paper` layout, overlapping chunks for the `official` layout.

Explained in the chapter `notebooks/use_restore.py`. With the `paper` layout frames are read,
restored and written as they go, `r` frames behind the input, so memory does not depend on the video's
length. Large frames are cut into overlapping tiles, each with its own recurrent state, and blended with
linear ramps. Single-channel models (compressed video) restore the Y plane; Cb and Cr pass through.
"""
from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch


def _ramp(n: int, overlap: int, left: bool, right: bool) -> np.ndarray:
    w = np.ones(n, np.float32)
    k = min(overlap, n // 2)
    if k > 0:
        r = (np.arange(k, dtype=np.float32) + 1) / (k + 1)
        if left:
            w[:k] = r
        if right:
            w[n - k:] = r[::-1]
    return w


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    stride = max(tile - overlap, 1)
    s = list(range(0, size - tile, stride)) + [size - tile]
    return sorted(set(s))


def check_tiles(tile: int | None, overlap: int) -> None:
    """Refuse tile sizes that cannot work: a tile of at least 1 pixel, an overlap in [0, tile)."""
    if tile is not None and tile < 1:
        raise ValueError(f"--tile must be a positive number of LQ pixels, got {tile}")
    if overlap < 0 or (tile is not None and overlap >= tile):
        raise ValueError(f"--tile-overlap must be in [0, --tile) = [0, {tile}), got {overlap}"
                         if tile is not None else f"--tile-overlap must be >= 0, got {overlap}")


class Tiler:
    """Overlapping tiles of an `h x w` LQ frame and blending weights of the `scale`-times larger outputs."""

    def __init__(self, h: int, w: int, tile: int | None, overlap: int, scale: int):
        check_tiles(tile, overlap)
        tile_h, tile_w = (h, w) if tile is None else (min(tile, h), min(tile, w))
        self.scale = scale
        self.boxes = [(y, x, tile_h, tile_w) for y in _starts(h, tile_h, overlap) for x in _starts(w, tile_w, overlap)]
        self.out_size = (h * scale, w * scale)
        self.weights = []
        for y, x, th, tw in self.boxes:
            wy = _ramp(th * scale, overlap * scale, y > 0, y + th < h)
            wx = _ramp(tw * scale, overlap * scale, x > 0, x + tw < w)
            self.weights.append(torch.from_numpy(np.outer(wy, wx)))

    def crops(self, frame: torch.Tensor) -> list[torch.Tensor]:
        return [frame[..., y:y + th, x:x + tw] for y, x, th, tw in self.boxes]

    def blend(self, outs: list[torch.Tensor]) -> torch.Tensor:
        if len(outs) == 1:
            return outs[0]
        b, c = outs[0].shape[:2]
        acc = torch.zeros(b, c, *self.out_size)
        norm = torch.zeros(self.out_size)
        s = self.scale
        for (y, x, th, tw), o, wt in zip(self.boxes, outs, self.weights):
            acc[..., s * y:s * (y + th), s * x:s * (x + tw)] += o.cpu() * wt
            norm[s * y:s * (y + th), s * x:s * (x + tw)] += wt
        return acc / norm


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
    """Model output `(1, C, H, W)` -> uint8 RGB `(H, W, 3)`."""
    if chroma is None:
        return (out[0].clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    y = out[0, 0].clamp(0, 1).cpu().double().numpy() * 255.0
    return ycbcr_to_rgb(np.concatenate([y[..., None], chroma], -1))


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
            yield _merge(_restore_clip(model, [x], device, tile, tile_overlap)[0], chroma)
    else:
        yield from _stream_official(model, frames, device, tile, tile_overlap, chunk, chunk_overlap)


def _whole_frame_flows(model, prev, cur, tiler, device):
    """With several tiles: the flow pair (prev -> cur) computed once on the whole frames, as training computes it,
    and cropped for each tile (a tile's flow then sees the motion beyond its border); None otherwise."""
    from .models.motion import estimate_flow_pair
    if prev is None or len(tiler.boxes) < 2 or getattr(model, "flow", None) is None:
        return [None] * len(tiler.boxes)
    fw, bw = estimate_flow_pair(model.flow, prev.to(device), cur.to(device), model.flow_size,
                                with_fw=model.radius > 0)
    return [(None if fw is None else fw[..., y:y + th, x:x + tw], bw[..., y:y + th, x:x + tw])
            for y, x, th, tw in tiler.boxes]


def _stream_paper(model, frames, device, tile, tile_overlap):
    tiler = states = prev = None
    pending = deque()  # chroma of frames not yet restored (single-channel models)
    for frame in frames:
        x, chroma = _split(frame, model.in_channels)
        if tiler is None:
            tiler = Tiler(x.shape[-2], x.shape[-1], tile, tile_overlap, model.scale)
            states = [model.init_stream() for _ in tiler.boxes]
        pending.append(chroma)
        flows = _whole_frame_flows(model, prev, x, tiler, device)
        prev = x
        outs = [model.stream_step(st, c.to(device), flows=f) for st, c, f in zip(states, tiler.crops(x), flows)]
        if outs[0]:
            yield _merge(tiler.blend([o[0] for o in outs]), pending.popleft())
    if tiler is None:
        return
    for ready in zip(*[model.stream_flush(st) for st in states]):
        yield _merge(tiler.blend(list(ready)), pending.popleft())


def _restore_clip(model, clip: list[torch.Tensor], device, tile, tile_overlap) -> list[torch.Tensor]:
    x = torch.cat(clip, 0)[None]  # (1, T, C, H, W)
    tiler = Tiler(x.shape[-2], x.shape[-1], tile, tile_overlap, model.scale)
    outs = [model(c.to(device))[0].cpu() for c in tiler.crops(x)]  # each (T, C, sH, sW)
    return [tiler.blend([o[t:t + 1] for o in outs]) for t in range(x.shape[1])]


def _stream_official(model, frames, device, tile, tile_overlap, chunk, chunk_overlap):
    if not 0 <= chunk_overlap < chunk:
        raise ValueError(f"chunk_overlap ({chunk_overlap}) must be in [0, chunk={chunk})")
    window = deque(maxlen=chunk)  # the last `chunk` frames: (model input, chroma)
    n = emitted = 0               # frames read; frames written
    start = 0                     # first frame of the next window to restore
    keep_right = chunk_overlap - chunk_overlap // 2  # frames of a window's right overlap left to the next window

    def restore_window(first: int, upto: int):
        outs = _restore_clip(model, [w[0] for w in window], device, tile, tile_overlap)
        return [_merge(outs[t - first], window[t - first][1]) for t in range(emitted, upto)]

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


def estimate_memory(model, h: int, w: int, tile: int | None, tile_overlap: int, chunk: int = 30) -> int:
    """Bytes that restoring `h x w` LQ frames holds at once, roughly: the blended output frame (float32 sum,
    weights and result), with the paper layout every tile's recurrent state (encoder and decoder layers and the
    attention window of `2r + 1` latents, `num_feat` channels each), with a whole-clip layout the `chunk` frames'
    states of one tile, and the flow net computing its pairs (`s2svr.models.motion.flow_memory`: most of it, at
    the zoom the restorers' PWC-Lite runs at), on the whole frame for the paper layout (its flows are computed once
    per frame pair and cropped for each tile), on one tile for a whole-clip layout."""
    from .models.motion import FLOW_PAIRS_IN_USE, flow_memory
    scale, c = getattr(model, "scale", 1), getattr(model, "in_channels", 3)
    blend = 3 * (h * scale) * (w * scale) * (c + 1) * 4
    tiler = Tiler(h, w, tile, tile_overlap, scale)
    th, tw = tiler.boxes[0][2], tiler.boxes[0][3]
    feat = getattr(model, "num_feat", 64)
    if getattr(model, "layout", "paper") == "paper":
        states = len(tiler.boxes) * th * tw * feat * (2 * getattr(model, "num_layers", 3) + 2 * getattr(model, "radius", 1) + 3)
        return int(blend + states * 4 + flow_memory(model, h, w, 1))  # flows on the whole frame, then cropped
    elif getattr(model, "layout", None) == "frame":  # each frame alone
        states, pairs = th * tw * feat * 4, 0
    else:  # a window of `chunk` frames restored whole: one state per frame and direction, and its outputs
        states = chunk * th * tw * (2 * feat + c * scale * scale)
        pairs = min(FLOW_PAIRS_IN_USE, max(chunk - 1, 1))
    return int(blend + states * 4 + flow_memory(model, th, tw, pairs))


def available_memory() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (None where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
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
        from .models.motion import flow_memory
        flow = flow_memory(model, info["height"], info["width"])
        hint = ("most of it is the flow net at its zoom: lower it with --flow-zoom or --flow-max-side"
                if flow > need / 2 else "restore a smaller video (the restored frame itself must fit in memory)")
        raise VideoIOError(input_path, f"restoring {info['width']}x{info['height']} frames needs about "
                                       f"{need / 2**30:.1f} GiB, {avail / 2**30:.1f} GiB are available; {hint}")
    if Path(output_path).suffix.lower() == ".yuv" and (out_w % 2 or out_h % 2):
        raise VideoIOError(output_path, f"the restored frames are {out_w}x{out_h}; YUV 4:2:0 needs even sizes "
                                        "(write .mp4 or a PNG folder instead)")
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
