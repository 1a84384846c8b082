"""Optical-flow colour coding with the Middlebury colour wheel (Baker et al., IJCV 2011).

Explained in `notebooks/pwclite.py`, where the flows of PWC-Lite are shown.
Hue encodes the direction, saturation the magnitude relative to `max_flow`: zero flow is white, +x (right)
is red, -x cyan, +y (down) yellow-green ... Vectors longer than `max_flow` are drawn darker (x 0.75).
Flow convention as everywhere in `s2svr.flow`: channel 0 = x (right), channel 1 = y (down), in pixels.
"""
from __future__ import annotations

import numpy as np
import torch

# Number of hues between the six primary/secondary colours; chosen by Baker et al. to be perceptually even.
RY, YG, GC, CB, BM, MR = 15, 6, 4, 11, 13, 6


def make_colorwheel() -> np.ndarray:
    """The Middlebury colour wheel: `(55, 3)` float RGB in [0, 255], red -> yellow -> green -> cyan -> blue -> magenta."""
    segments = [  # (length, channel that ramps, direction, channel held at 255)
        (RY, 1, +1, 0), (YG, 0, -1, 1), (GC, 2, +1, 1), (CB, 1, -1, 2), (BM, 0, +1, 2), (MR, 2, -1, 0)]
    wheel = np.zeros((sum(s[0] for s in segments), 3))
    start = 0
    for n, ramp, direction, full in segments:
        steps = np.floor(255 * np.arange(n) / n)
        wheel[start:start + n, full] = 255
        wheel[start:start + n, ramp] = steps if direction > 0 else 255 - steps
        start += n
    return wheel


def _to_hw2(flow) -> np.ndarray:
    """Any of numpy/torch `(2, H, W)`, `(H, W, 2)`, `(1, 2, H, W)` -> float64 numpy `(H, W, 2)`."""
    if isinstance(flow, torch.Tensor):
        flow = flow.detach().to("cpu", torch.float64).numpy()
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim == 4 and flow.shape[0] == 1:
        flow = flow[0]
    if flow.ndim != 3 or 2 not in (flow.shape[0], flow.shape[-1]):
        raise ValueError(f"flow_to_color expects a (2,H,W) or (H,W,2) flow, got shape {flow.shape}")
    # channels-first wins when both ends are 2: it is the package's (and torch's) layout
    return np.moveaxis(flow, 0, -1) if flow.shape[0] == 2 else flow


def flow_to_color(flow, max_flow: float | None = None) -> np.ndarray:
    """Colour-code a flow field.

    Args:
        flow: numpy `(2, H, W)` / `(H, W, 2)` or torch `(2, H, W)` (also `(1, 2, H, W)`), in pixels, channel 0 = x.
        max_flow: magnitude drawn fully saturated; None = the largest magnitude in this flow
            (pass a fixed value to compare several flows on one scale).
    Returns:
        `(H, W, 3)` uint8 RGB image.
    """
    uv = _to_hw2(flow)
    uv = np.where(np.isfinite(uv), uv, 0.0)  # unknown flow (NaN/inf) is drawn as zero flow
    u, v = uv[..., 0], uv[..., 1]
    rad = np.sqrt(u ** 2 + v ** 2)
    scale = float(max_flow) if max_flow is not None else float(rad.max(initial=0.0))
    eps = 1e-5  # zero flow stays white instead of 0/0
    u, v, rad = u / (scale + eps), v / (scale + eps), rad / (scale + eps)

    wheel = make_colorwheel()
    ncols = wheel.shape[0]
    angle = np.arctan2(-v, -u) / np.pi  # in [-1, 1]; -1 and 1 are both +x (red)
    fk = (angle + 1) / 2 * (ncols - 1)
    k0 = np.floor(fk).astype(np.int64)
    k1 = (k0 + 1) % ncols
    f = (fk - k0)[..., None]
    col = ((1 - f) * wheel[k0] + f * wheel[k1]) / 255  # (H, W, 3) hue at full saturation
    inside = (rad <= 1)[..., None]
    # inside the unit radius: blend towards white as the magnitude shrinks; outside: darken
    col = np.where(inside, 1 - rad[..., None] * (1 - col), col * 0.75)
    return np.floor(255 * np.clip(col, 0, 1)).astype(np.uint8)
