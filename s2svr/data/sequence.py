"""A video sequence as the loaders see it: a pair of frame sources (LQ and GT) and a name.

Explained in `notebooks/data.py`. Every dataset (embedded, REDS, Vimeo-90K,
GOPRO, MFQEv2) is turned into a list of :class:`VideoSequence`; the clip dataset and the evaluator only
use this interface. Frames come back as uint8 arrays `(T, H, W, C)`; bad files raise
`video_io.VideoIOError` naming the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..metrics import BT601_Y

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def rgb_to_y_uint8(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of uint8 RGB `(..., 3)` as MATLAB's rgb2ycbcr: Y in [16, 235], rounded to uint8."""
    wr, wg, wb = BT601_Y
    y = 16.0 + (wr * rgb[..., 0] + wg * rgb[..., 1] + wb * rgb[..., 2]) / 255.0
    return np.clip(np.round(y), 0, 255).astype(np.uint8)[..., None]


@dataclass(frozen=True)
class FrameSource:
    """Frames of one video: a folder of images (`kind='images'`), a raw YUV 4:2:0 file (`kind='yuv'`), or in
    memory: I420 planes (`kind='planes'`) or RGB frames (`kind='frames'`)."""

    path: Path
    kind: str = "images"
    files: tuple = ()                       # sorted image files, kind 'images'
    size: Optional[tuple] = None            # (width, height), kind 'yuv'
    planes: tuple = field(default=(), compare=False, repr=False)  # (Y, U, V) uint8 arrays in memory, kind 'planes'
    frames: Optional[np.ndarray] = field(default=None, compare=False, repr=False)  # (T, H, W, 3), kind 'frames'

    @classmethod
    def from_folder(cls, folder) -> "FrameSource":
        folder = Path(folder)
        files = tuple(sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
        if not files:
            raise FileNotFoundError(f"{folder}: no image frames found")
        return cls(path=folder, kind="images", files=files)

    @classmethod
    def from_planes(cls, name, planes) -> "FrameSource":
        """Frames held in memory as I420 planes `(Y (T, H, W), U, V (T, H/2, W/2))` (e.g. a clip just re-encoded)."""
        y = planes[0]
        return cls(path=Path(name), kind="planes", size=(y.shape[2], y.shape[1]), planes=tuple(planes))

    @classmethod
    def from_frames(cls, name, frames: np.ndarray) -> "FrameSource":
        """uint8 RGB frames `(T, H, W, 3)` held in memory (e.g. rendered along a camera path)."""
        return cls(path=Path(name), kind="frames", size=(frames.shape[2], frames.shape[1]), frames=frames)

    @classmethod
    def from_yuv(cls, path, width: int, height: int) -> "FrameSource":
        return cls(path=Path(path), kind="yuv", size=(int(width), int(height)))

    def __len__(self) -> int:
        if self.kind == "images":
            return len(self.files)
        if self.kind == "planes":
            return len(self.planes[0])
        if self.kind == "frames":
            return len(self.frames)
        from .video_io import yuv_num_frames
        return yuv_num_frames(self.path, *self.size)   # VideoIOError if the size is not whole frames

    def read(self, indices: Sequence[int], mode: str = "rgb") -> np.ndarray:
        """Frames `indices` as uint8 `(T, H, W, 3)` RGB (`mode='rgb'`) or `(T, H, W, 1)` Y (`mode='y'`)."""
        from . import video_io
        if self.kind == "images":
            files = [self.files[i] for i in indices]
            frames = video_io.stack_frames([video_io.read_image(f) for f in files], files, self.path)
            return frames if mode == "rgb" else rgb_to_y_uint8(frames)
        if self.kind == "frames":
            frames = self.frames[list(indices)]
            return frames if mode == "rgb" else rgb_to_y_uint8(frames)
        if self.kind in ("yuv", "planes"):
            w, h = self.size
            planes = ([tuple(p[i] for p in self.planes) for i in indices] if self.kind == "planes" else
                      [video_io.read_yuv420_frame(self.path, w, h, i) for i in indices])
            if mode == "y":
                return np.stack([p[0] for p in planes])[..., None]
            return np.stack([video_io.yuv420_to_rgb(*p) for p in planes])
        raise ValueError(f"{self.path}: unknown frame source kind {self.kind!r}")


@dataclass(frozen=True)
class VideoSequence:
    """One test or training video: LQ and GT frame sources of equal length (GT `scale` times larger)."""

    name: str
    lq: FrameSource
    gt: FrameSource
    scale: int = 1

    def __len__(self) -> int:
        return min(len(self.lq), len(self.gt))
