"""Reading and writing frames: image files, raw YUV 4:2:0, video files (mp4/mkv/avi via PyAV).

Explained in the book's chapter "Data and degradations". (Minimal first version; extended by the data issue.)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def read_image(path) -> np.ndarray:
    """uint8 RGB `(H, W, 3)`."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def read_yuv420_frame(path, width: int, height: int, index: int):
    """Planes (Y `(H, W)`, U `(H/2, W/2)`, V `(H/2, W/2)`) of frame `index` of an 8-bit I420 file."""
    fsize = width * height * 3 // 2
    with open(path, "rb") as f:
        f.seek(index * fsize)
        buf = np.frombuffer(f.read(fsize), dtype=np.uint8)
    y = buf[: width * height].reshape(height, width)
    u = buf[width * height: width * height * 5 // 4].reshape(height // 2, width // 2)
    v = buf[width * height * 5 // 4:].reshape(height // 2, width // 2)
    return y, u, v


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """BT.601 limited-range YCbCr 4:2:0 to uint8 RGB (chroma upsampled by pixel repetition)."""
    u = u.repeat(2, 0).repeat(2, 1).astype(np.float64) - 128.0
    v = v.repeat(2, 0).repeat(2, 1).astype(np.float64) - 128.0
    yy = (y.astype(np.float64) - 16.0) * (255.0 / 219.0)
    r = yy + 255.0 / 224.0 * 1.402 * v
    g = yy - 255.0 / 224.0 * (0.344136 * u + 0.714136 * v)
    b = yy + 255.0 / 224.0 * 1.772 * u
    return np.clip(np.round(np.stack([r, g, b], -1)), 0, 255).astype(np.uint8)
