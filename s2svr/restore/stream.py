"""Restore your own video: streaming for the `paper` layout, overlapping chunks for the `official` layout.

Explained in the chapter `notebooks/use_restore.py`. With the `paper` layout frames are read,
restored and written as they go, `r` frames behind the input, so memory does not depend on the video's
length. Large frames are cut into overlapping tiles, each with its own recurrent state, and blended with
linear ramps one band of tile rows at a time (`s2svr/restore/tiles.py`): finished output rows are rounded to
uint8 at once, so no float copy of the whole `scale`-times larger frame is ever held. Single-channel models
(compressed video) restore the Y plane; Cb and Cr pass through. Before the first frame is read, `restore_video`
checks the memory it will need (`s2svr/restore/memory.py`).
"""
from __future__ import annotations

import sys
from collections import deque
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from .memory import available_memory, estimate_memory, flow_bytes
from .tiles import FrameBlend, Tiler, check_tiles, flow_notice, tile_flows


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB `(H, W, 3)` -> float YCbCr in [0, 255] (ITU-R BT.601, MATLAB `rgb2ycbcr` scaled to 0-255)."""
    from ..metrics import BT601, BT601_OFFSET
    return rgb.astype(np.float64) / 255.0 @ BT601.T + BT601_OFFSET


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`, rounded to uint8."""
    from ..metrics import BT601, BT601_OFFSET
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
            states = [model.init_stream(compact=True) for _ in tiler.boxes]  # (see init_stream)
        pending.append(chroma)
        flows = tile_flows(model, prev, x, tiler, device)
        prev = x
        for k, (box, c, f) in enumerate(zip(tiler.boxes, tiler.crops(x), flows)):
            ready = model.stream_step(states[k], c.to(device), flows=f)  # (no loop variable keeps a state alive)
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


def restore_video(model, input_path, output_path, device="cpu", tile: int | None = None, tile_overlap: int = 16,
                  size: tuple | None = None, fps: float | None = None, max_frames: int | None = None,
                  progress: bool = True, overwrite: bool = True, **kwargs) -> Path:
    """Read `input_path` (video file, image folder or raw YUV with `size=(w, h)`), restore it, and write
    `output_path` (.mp4/.mkv/.avi, .yuv, or a folder of PNGs when it has no suffix). Atomic: on an error
    nothing is left at `output_path`. The output may never be the input; an existing output is replaced only
    with `overwrite=True` (a PNG folder only when it holds nothing but frame files)."""
    from ..data.video_io import VideoIOError, VideoWriter, iter_frames, probe
    from ..outputs import same_path
    if same_path(input_path, output_path):
        raise VideoIOError(output_path, "the output is the input; choose another output")
    check_tiles(tile, tile_overlap)
    info = probe(input_path, size=size)
    out_w, out_h = info["width"] * model.scale, info["height"] * model.scale
    need = estimate_memory(model, info["height"], info["width"], tile, tile_overlap, kwargs.get("chunk", 30))
    avail = available_memory()
    if avail is not None and need > 0.9 * avail:  # refuse up front rather than run out of memory mid-video
        flow = flow_bytes(model, info["height"], info["width"])
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
