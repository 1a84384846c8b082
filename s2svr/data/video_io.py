"""Reading and writing frames: image files and folders, raw YUV 4:2:0, video files (mp4/mkv/avi via PyAV).

Explained in the chapter `notebooks/data.py`. Frames are uint8 RGB
`(H, W, 3)`; whole clips `(T, H, W, 3)`; YUV planes `Y (T, H, W)`, `U, V (T, H/2, W/2)` (I420, BT.601
limited range, as MATLAB's `rgb2ycbcr` and the MFQEv2 files).

Input is checked: a missing, empty, corrupt or truncated file, a YUV file whose size is not a whole number of
frames, or a folder whose frames differ in size raises :class:`VideoIOError`, whose one-line message names
the file and the problem. Some inputs are converted rather than refused: grayscale (and palette) images
become RGB by replicating the channel, alpha is dropped, and 16-bit images keep their high byte (`v >> 8`,
what Pillow does for 16-bit RGB; applied to 16-bit grayscale too so both agree).
Writers are atomic: they write under a temporary name beside the target (`.NAME.partial-PID`) and rename at
the end, so an error never leaves a half-written file or folder under the final name; the leftovers of a killed
run are removed by the next writer of the same output (`s2svr.outputs`). A PNG-folder output holds only its own
frame files (`00000000.png`, ...): a folder holding anything else is refused, never emptied, and replacing an
existing output (`overwrite=True`, the default of these library functions; the CLI needs `--overwrite`)
replaces those frame files only.
"""
from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..outputs import partial_name, remove, remove_stale_partials

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm")


class VideoIOError(ValueError):
    """Bad video input or output; the message is one line: `<file>: <problem>`."""

    def __init__(self, path, problem):
        self.path, self.problem = Path(path), " ".join(str(problem).split())
        super().__init__(f"{self.path}: {self.problem}")


def _check_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise VideoIOError(path, "no such file")
    if path.is_file() and path.stat().st_size == 0:
        raise VideoIOError(path, "empty file")
    return path


FRAME_FILE = re.compile(r"\d{8}\.png")  # the files a PNG-folder output writes (and may replace)
_partial_name = partial_name
_remove = remove


def _check_target(path: Path, kind: str, overwrite: bool) -> None:
    """Refuse an output that would destroy data: see the module docstring."""
    if not path.exists():
        return
    if kind == "png":
        if not path.is_dir():
            raise VideoIOError(path, "exists and is a file; a PNG output (no suffix) is a folder")
        other = sorted(p.name for p in path.iterdir() if not FRAME_FILE.fullmatch(p.name))
        if other:
            raise VideoIOError(path, f"the output folder holds other files than frames (e.g. {other[0]}); "
                                     "choose a new or empty folder")
        if any(path.iterdir()) and not overwrite:
            raise VideoIOError(path, "the output folder holds frames already; pass --overwrite to replace them")
    elif path.is_dir():
        raise VideoIOError(path, "is a folder; choose a file name for the video output")
    elif not overwrite:
        raise VideoIOError(path, "exists; pass --overwrite to replace it")


def _replace(tmp: Path, path: Path) -> None:
    if not tmp.is_dir():
        os.replace(tmp, path)
        return
    if not path.exists() or not any(path.iterdir()):
        os.replace(tmp, path)  # a rename onto an empty folder
        return
    new = {p.name for p in tmp.iterdir()}  # only frame files: replace them one by one, drop surplus old ones
    for name in sorted(new):
        os.replace(tmp / name, path / name)
    for p in path.iterdir():
        if FRAME_FILE.fullmatch(p.name) and p.name not in new:
            p.unlink()
    tmp.rmdir()


# ------------------------------------------------------------------------------------------ images


def _to_rgb8(im: Image.Image) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im).astype(np.int64)
        a = np.clip(a, 0, 65535) >> 8 if (im.mode != "I" or a.max() > 255) else a
        return np.repeat(a.astype(np.uint8)[..., None], 3, axis=-1)
    if im.mode == "F":
        raise ValueError("floating-point images are not supported; save 8- or 16-bit integers")
    return np.asarray(im.convert("RGB"))


def read_image(path) -> np.ndarray:
    """uint8 RGB `(H, W, 3)`; grayscale replicated, alpha dropped, 16-bit reduced to its high byte."""
    path = _check_file(path)
    try:
        with Image.open(path) as im:
            im.load()
            return _to_rgb8(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        problem = "not a readable image" if isinstance(e, UnidentifiedImageError) else f"corrupt or truncated image ({e})"
        raise VideoIOError(path, problem) from None


def write_image(path, img: np.ndarray) -> None:
    """Write uint8 `(H, W, 3)` or `(H, W)` atomically (format from the suffix)."""
    path = Path(path)
    tmp = _partial_name(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        Image.fromarray(np.ascontiguousarray(img)).save(tmp, compress_level=3) if path.suffix.lower() == ".png" \
            else Image.fromarray(np.ascontiguousarray(img)).save(tmp)
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def list_image_files(folder) -> list:
    folder = Path(folder)
    if not folder.is_dir():
        raise VideoIOError(folder, "not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise VideoIOError(folder, "no image frames found")
    return files


def stack_frames(frames: Sequence[np.ndarray], files: Sequence, where) -> np.ndarray:
    """Stack `(H, W, 3)` frames into `(T, H, W, 3)`, naming the first file whose size differs."""
    for f, fr in zip(files, frames):
        if fr.shape != frames[0].shape:
            raise VideoIOError(where, f"mixed frame sizes: {Path(files[0]).name} is {frames[0].shape[1]}x"
                                      f"{frames[0].shape[0]}, {Path(f).name} is {fr.shape[1]}x{fr.shape[0]}")
    return np.stack(frames)


def read_image_folder(folder, indices: Optional[Sequence[int]] = None) -> np.ndarray:
    files = list_image_files(folder)
    files = files if indices is None else [files[i] for i in indices]
    return stack_frames([read_image(f) for f in files], files, folder)


def write_png_folder(folder, frames: np.ndarray, start: int = 0) -> Path:
    """Write `(T, H, W, 3)` uint8 as `folder/00000000.png, ...` atomically (replaces an existing folder)."""
    with VideoWriter(folder) as w:
        w.index = start
        w.write(frames)
    return Path(folder)


# ------------------------------------------------------------------------------------------ raw YUV 4:2:0


def parse_yuv_size(path) -> Optional[tuple]:
    """`(width, height)` from a name such as `BasketballPass_416x240_500.yuv`, or None."""
    m = re.search(r"(\d+)x(\d+)", Path(path).stem)
    return (int(m.group(1)), int(m.group(2))) if m else None


def yuv_num_frames(path, width: int, height: int) -> int:
    """Frames in an 8-bit I420 file; its size must be a whole number of `width * height * 3/2` frames."""
    path = _check_file(path)
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise VideoIOError(path, f"YUV 4:2:0 needs positive even sizes, got {width}x{height}")
    fsize, n = width * height * 3 // 2, path.stat().st_size
    if n % fsize:
        raise VideoIOError(path, f"size {n} bytes is not a multiple of the {width}x{height} I420 frame size "
                                 f"{fsize} (wrong dimensions or truncated file)")
    return n // fsize


def read_yuv420_frame(path, width: int, height: int, index: int):
    """Planes (Y `(H, W)`, U `(H/2, W/2)`, V `(H/2, W/2)`) of frame `index` of an 8-bit I420 file."""
    n = yuv_num_frames(path, width, height)
    if not 0 <= index < n:
        raise VideoIOError(path, f"frame {index} out of range (file has {n} frames of {width}x{height})")
    fsize, c = width * height * 3 // 2, (width // 2) * (height // 2)
    with open(path, "rb") as f:
        f.seek(index * fsize)
        buf = np.frombuffer(f.read(fsize), dtype=np.uint8)
    y = buf[: width * height].reshape(height, width)
    u = buf[width * height: width * height + c].reshape(height // 2, width // 2)
    v = buf[width * height + c:].reshape(height // 2, width // 2)
    return y, u, v


def read_yuv420(path, width: int, height: int, indices: Optional[Sequence[int]] = None):
    """Planes `Y (T, H, W)`, `U (T, H/2, W/2)`, `V (T, H/2, W/2)` of frames `indices` (default all)."""
    indices = range(yuv_num_frames(path, width, height)) if indices is None else indices
    planes = [read_yuv420_frame(path, width, height, i) for i in indices]
    return tuple(np.stack([p[k] for p in planes]) for k in range(3))


def write_yuv420(path, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> Path:
    """Write I420 planes `(T, H, W)`, `(T, H/2, W/2)`, `(T, H/2, W/2)` frame after frame, atomically."""
    path = Path(path)
    y, u, v = (np.asarray(p, dtype=np.uint8) for p in (y, u, v))
    if y.ndim == 2:
        y, u, v = y[None], u[None], v[None]
    t, h, w = y.shape
    if u.shape != (t, h // 2, w // 2) or v.shape != u.shape:
        raise ValueError(f"write_yuv420: Y {y.shape} needs U and V of shape {(t, h // 2, w // 2)}, got {u.shape}, {v.shape}")
    tmp = _partial_name(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(tmp, "wb") as f:
            for i in range(t):
                f.write(y[i].tobytes()); f.write(u[i].tobytes()); f.write(v[i].tobytes())  # noqa: E702
        os.replace(tmp, path)
    finally:
        _remove(tmp)
    return path


def rgb_to_yuv420(rgb: np.ndarray):
    """uint8 RGB `(..., H, W, 3)` -> I420 planes, BT.601 limited range (MATLAB `rgb2ycbcr`), chroma 2x2 mean."""
    from ..metrics import BT601, BT601_OFFSET
    x = rgb.astype(np.float64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    # row by row, in this order of operations: the stored embedded YUV files stay byte for byte what they were
    y, cb, cr = (off + (m[0] * r + m[1] * g + m[2] * b) / 255.0 for m, off in zip(BT601, BT601_OFFSET))
    h, w = y.shape[-2:]
    if h % 2 or w % 2:
        raise ValueError(f"rgb_to_yuv420 needs even sizes, got {w}x{h}")
    def sub(c):  # noqa: E306
        return c.reshape(c.shape[:-2] + (h // 2, 2, w // 2, 2)).mean(axis=(-3, -1))
    q = lambda c: np.clip(np.round(c), 0, 255).astype(np.uint8)  # noqa: E731
    return q(y), q(sub(cb)), q(sub(cr))


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """BT.601 limited-range I420 planes `(..., H, W)` to uint8 RGB `(..., H, W, 3)` (chroma by pixel repetition)."""
    u = u.repeat(2, -2).repeat(2, -1).astype(np.float64) - 128.0
    v = v.repeat(2, -2).repeat(2, -1).astype(np.float64) - 128.0
    yy = (y.astype(np.float64) - 16.0) * (255.0 / 219.0)
    r = yy + 255.0 / 224.0 * 1.402 * v
    g = yy - 255.0 / 224.0 * (0.344136 * u + 0.714136 * v)
    b = yy + 255.0 / 224.0 * 1.772 * u
    return np.clip(np.round(np.stack([r, g, b], -1)), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------ any source


def _av_errors():
    import av
    return (av.FFmpegError, OSError, ValueError, EOFError, RuntimeError)


def _why(e: Exception) -> str:
    """FFmpeg's reason without the file name it appends (the message names the file already)."""
    return getattr(e, "strerror", None) or f"{type(e).__name__}: {e}"


def probe(path, size: Optional[tuple] = None) -> dict:
    """`{'width', 'height', 'num_frames', 'fps'}` of a video file, image folder or YUV file (num_frames may be
    0 for containers that do not store it)."""
    path = Path(path)
    if path.is_dir():
        files = list_image_files(path)
        h, w = read_image(files[0]).shape[:2]
        return {"width": w, "height": h, "num_frames": len(files), "fps": None}
    if path.suffix.lower() == ".yuv":
        w, h = _yuv_size(path, size)
        return {"width": w, "height": h, "num_frames": yuv_num_frames(path, w, h), "fps": None}
    import av
    _check_file(path)
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise VideoIOError(path, "no video stream")
            s = c.streams.video[0]
            return {"width": s.codec_context.width, "height": s.codec_context.height, "num_frames": _declared_frames(c),
                    "fps": float(s.average_rate) if s.average_rate else None}
    except _av_errors() as e:
        raise VideoIOError(path, f"corrupt or unreadable video ({_why(e)})") from None


def _declared_frames(container) -> int:
    """Frames the container says it holds: the stream's count (mp4, avi) or duration x rate (mkv), else 0."""
    s = container.streams.video[0]
    if s.frames:
        return int(s.frames)
    if container.duration and s.average_rate:
        return int(round(container.duration / 1e6 * float(s.average_rate)))
    return 0


def _yuv_size(path, size):
    size = size or parse_yuv_size(path)
    if size is None:
        raise VideoIOError(path, "raw YUV needs its size: pass size=(width, height) or name it like clip_176x144.yuv")
    return int(size[0]), int(size[1])


def iter_frames(path, size: Optional[tuple] = None, max_frames: Optional[int] = None) -> Iterator[np.ndarray]:
    """Stream uint8 RGB frames `(H, W, 3)` one at a time from a video file, image folder or I420 file.

    Memory stays at one frame, so long videos can be restored without loading them. A video whose stream
    declares more frames than it holds raises :class:`VideoIOError` (truncated) after the last good frame.
    """
    path = Path(path)
    limit = max_frames if max_frames is not None else float("inf")
    if path.is_dir():
        files = list_image_files(path)
        first = None
        for i, f in enumerate(files):
            if i >= limit:
                return
            fr = read_image(f)
            first = fr if first is None else first
            if fr.shape != first.shape:
                stack_frames([first, fr], [files[0], f], path)
            yield fr
        return
    if path.suffix.lower() == ".yuv":
        w, h = _yuv_size(path, size)
        for i in range(yuv_num_frames(path, w, h)):
            if i >= limit:
                return
            yield yuv420_to_rgb(*read_yuv420_frame(path, w, h, i))
        return
    yield from _iter_av(path, limit)


def _iter_av(path: Path, limit) -> Iterator[np.ndarray]:
    import av
    _check_file(path)
    n = 0
    try:
        container = av.open(str(path))
    except _av_errors() as e:
        raise VideoIOError(path, f"corrupt or truncated video ({_why(e)})") from None
    with container:
        if not container.streams.video:
            raise VideoIOError(path, "no video stream")
        declared = _declared_frames(container)
        slack = 0 if container.streams.video[0].frames else 1   # a duration-based count can be one off
        try:
            for frame in container.decode(video=0):
                if n >= limit:
                    return
                yield frame.to_ndarray(format="rgb24")  # converts gray / 10-bit / 4:4:4 sources to 8-bit RGB
                n += 1
        except _av_errors() as e:
            raise VideoIOError(path, f"corrupt or truncated video after frame {n} ({_why(e)})") from None
    if n == 0:
        raise VideoIOError(path, "no decodable frames (empty or corrupt video)")
    if declared and n < declared - slack and n < limit:
        raise VideoIOError(path, f"truncated video: decoded {n} of {declared} frames")


def read_video(path, size: Optional[tuple] = None, max_frames: Optional[int] = None) -> np.ndarray:
    """Whole clip as uint8 `(T, H, W, 3)` from a video file, image folder or I420 file (`size=(w, h)`)."""
    frames = list(iter_frames(path, size=size, max_frames=max_frames))
    if not frames:
        raise VideoIOError(path, "no frames")
    return np.stack(frames)


class VideoWriter:
    """Streaming, atomic writer: `.mp4/.mkv/.avi` (PyAV), `.yuv` (I420) or a PNG folder (no suffix).

        with VideoWriter("out.mp4", fps=25, crf=18) as w:
            for frame in frames: w.write(frame)        # (H, W, 3) uint8, or a (T, H, W, 3) batch

    Frames go to a temporary name beside `path`; it is renamed on a clean close and deleted on an error.
    `lossless=True` writes RGB losslessly (libx264rgb, crf 0), so reading back gives the same pixels.
    """

    def __init__(self, path, fps: float = 25, crf: int = 18, lossless: bool = False, codec: str = "libx264",
                 preset: str = "medium", overwrite: bool = True):
        self.path = Path(path)
        self.kind = "png" if self.path.suffix == "" else ("yuv" if self.path.suffix.lower() == ".yuv" else "av")
        if self.kind == "av" and self.path.suffix.lower() not in VIDEO_SUFFIXES:
            raise VideoIOError(self.path, f"unknown video suffix {self.path.suffix!r}")
        _check_target(self.path, self.kind, overwrite)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise VideoIOError(self.path, "its parent is a file, not a folder") from None
        except PermissionError:
            raise VideoIOError(self.path, "cannot create its folder (permission denied)") from None
        remove_stale_partials(self.path)
        self.tmp = _partial_name(self.path)
        self.fps, self.crf, self.lossless, self.codec, self.preset = fps, crf, lossless, codec, preset
        self.index, self.size, self._container, self._stream, self._file = 0, None, None, None, None
        try:
            if self.kind == "png":
                _remove(self.tmp)
                self.tmp.mkdir(parents=True)
            elif self.kind == "yuv":
                self._file = open(self.tmp, "wb")
            else:  # fail here, not after the first restored frame, when the folder is not writable
                self.tmp.touch()
        except OSError as e:
            raise VideoIOError(self.path, f"cannot write the output here ({e.strerror or e})") from None

    def _open_av(self, h: int, w: int) -> None:
        import av
        self._container = av.open(str(self.tmp), "w")
        rgb = self.lossless
        s = self._container.add_stream("libx264rgb" if rgb else self.codec, rate=Fraction(self.fps).limit_denominator(1001))
        s.width, s.height = w, h
        # 4:2:0 needs even sizes; odd frames keep full chroma instead of being padded or cropped.
        s.pix_fmt = "rgb24" if rgb else ("yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p")
        s.options = {"crf": "0" if rgb else str(self.crf), "preset": self.preset}
        self._stream = s

    def write(self, frames: np.ndarray) -> None:
        frames = np.asarray(frames)
        frames = frames[None] if frames.ndim == 3 else frames
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"VideoWriter.write expects uint8 (H, W, 3) or (T, H, W, 3), got {frames.dtype} {frames.shape}")
        for fr in frames:
            if self.size is None:
                self.size = fr.shape
                if self.kind == "av":
                    self._open_av(*fr.shape[:2])
                if self.kind == "yuv" and (fr.shape[0] % 2 or fr.shape[1] % 2):
                    raise VideoIOError(self.path, f"frames are {fr.shape[1]}x{fr.shape[0]}; YUV 4:2:0 needs even "
                                                  "sizes (write .mp4 or a PNG folder instead)")
            elif fr.shape != self.size:
                raise VideoIOError(self.path, f"frame {self.index} is {fr.shape[1]}x{fr.shape[0]}, earlier frames "
                                              f"{self.size[1]}x{self.size[0]}")
            if self.kind == "png":
                Image.fromarray(fr).save(self.tmp / f"{self.index:08d}.png", compress_level=3)
            elif self.kind == "yuv":
                for p in rgb_to_yuv420(fr):
                    self._file.write(p.tobytes())
            else:
                import av
                for packet in self._stream.encode(av.VideoFrame.from_ndarray(fr, format="rgb24")):
                    self._container.mux(packet)
            self.index += 1

    def close(self) -> Path:
        if self.kind == "av" and self._container is not None:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
        elif self.kind == "yuv":
            self._file.close()
        if self.index == 0:
            self.abort()
            raise VideoIOError(self.path, "no frames were written")
        _replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            if self._container is not None:
                self._container.close()
            if self._file is not None:
                self._file.close()
        except Exception:  # noqa: BLE001 - cleaning up after an error already being raised
            pass
        _remove(self.tmp)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(path, frames: np.ndarray, fps: float = 25, crf: int = 18, lossless: bool = False) -> Path:
    """Write `(T, H, W, 3)` uint8 to an mp4/mkv/avi (H.264), `.yuv` or PNG folder, atomically."""
    with VideoWriter(path, fps=fps, crf=crf, lossless=lossless) as w:
        w.write(frames)
    return Path(path)
