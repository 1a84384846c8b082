"""Middlebury `.flo` files: the optical-flow format of Middlebury, Sintel and FlyingChairs.

Layout (little-endian): the float32 tag 202021.25 (bytes 'PIEH'), int32 width, int32 height, then
height x width x 2 float32 values, row-major, u (x) before v (y), in pixels. Used by `s2svr flow`
(chapter `notebooks/distillation.py`).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

TAG = 202021.25


class FloError(ValueError):
    """A file that is not a valid .flo."""


def write_flo(path, flow: np.ndarray) -> Path:
    """Write a flow `(H, W, 2)` or `(2, H, W)` (channel 0 = x) atomically to `path`."""
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim == 3 and flow.shape[0] == 2 and flow.shape[-1] != 2:
        flow = flow.transpose(1, 2, 0)
    if flow.ndim != 3 or flow.shape[-1] != 2:
        raise FloError(f"{path}: a flow must be (H, W, 2) or (2, H, W), got {flow.shape}")
    path = Path(path)
    h, w = flow.shape[:2]
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    with open(tmp, "wb") as f:
        np.array([TAG], "<f4").tofile(f)
        np.array([w, h], "<i4").tofile(f)
        np.ascontiguousarray(flow, dtype="<f4").tofile(f)
    os.replace(tmp, path)
    return path


def read_flo(path) -> np.ndarray:
    """A `.flo` file as float32 `(H, W, 2)`; a wrong tag, size or length raises FloError naming the file."""
    data = Path(path).read_bytes()
    if len(data) < 12 or np.frombuffer(data[:4], "<f4")[0] != np.float32(TAG):
        raise FloError(f"{path}: not a .flo file (no 'PIEH' tag)")
    w, h = (int(v) for v in np.frombuffer(data[4:12], "<i4"))
    if w <= 0 or h <= 0 or len(data) != 12 + 8 * w * h:
        raise FloError(f"{path}: a {w}x{h} .flo must have {12 + 8 * max(w, 0) * max(h, 0)} bytes, it has {len(data)}")
    return np.frombuffer(data[12:], "<f4").reshape(h, w, 2).copy()
