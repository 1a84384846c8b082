"""Moving real photographs with exactly known motion: camera paths, layered scenes, ground-truth flow and occlusion.

Explained in `notebooks/degradations.py`; the flow chapters use
the clips it makes to measure PWC-Lite's end-point error. Every surface of a scene (the background seen by a
moving camera, and foreground cut-outs of other photos moving on their own) is drawn through an affine map
`q = A(t) p` from frame pixel `p = (x, y)` to the surface's texture coordinates, so the motion of every pixel
is known in closed form:

    flow_fw(p) = A_S(t2)^-1 A_S(t1) p - p,   S = the surface on top at p in frame 1,

and `p` is occluded in frame 2 (`occ_fw = 1`) when `p + flow_fw(p)` leaves the frame or another surface is on
top there. This follows `s2svr.flow.warp`: `flow_warp(frame2, flow_fw) ~ frame1` on visible pixels. Flows are
numpy `(2, H, W)` float32 (channel 0 = x), occlusion `(1, H, W)` uint8 (1 = occluded); frames uint8
`(T, H, W, 3)`. Textures are sampled with bicubic interpolation, pixel centres at integer coordinates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np


def affine(centre, scale, angle, anchor) -> np.ndarray:
    """`(N, 2, 3)` maps `q = centre + scale * R(angle) (p - anchor)` for arrays of N parameters."""
    centre, anchor = np.atleast_2d(centre).astype(np.float64), np.atleast_2d(anchor).astype(np.float64)
    scale, angle = np.atleast_1d(scale).astype(np.float64), np.atleast_1d(angle).astype(np.float64)
    n = max(len(centre), len(scale), len(angle), len(anchor))
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    lin = np.broadcast_to(np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2), (n, 2, 2))
    off = np.broadcast_to(centre, (n, 2)) - np.einsum("nij,nj->ni", lin, np.broadcast_to(anchor, (n, 2)))
    return np.concatenate([lin, off[..., None]], -1)


def apply_affine(mats: np.ndarray, pts: np.ndarray, per_map: bool = False) -> np.ndarray:
    """Points `(..., 2)` (or `(N, ..., 2)`, one set per map, if `per_map`) through maps `(N, 2, 3)` -> `(N, ..., 2)`."""
    n = len(mats)
    if not per_map:
        pts = np.broadcast_to(pts, (n,) + pts.shape)
    shape = (n,) + (1,) * (pts.ndim - 2)
    m = [mats[:, i, j].reshape(shape) for i in range(2) for j in range(3)]
    x, y = pts[..., 0], pts[..., 1]
    # Written out rather than einsum: numpy's einsum does not use BLAS here and was the build's bottleneck.
    return np.stack([m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]], -1)


def invert_affine(mats: np.ndarray) -> np.ndarray:
    lin_inv = np.linalg.inv(mats[:, :, :2])
    return np.concatenate([lin_inv, -np.einsum("nij,nj->ni", lin_inv, mats[:, :, 2])[..., None]], -1)


def pixel_grid(h: int, w: int) -> np.ndarray:
    """`(h, w, 2)` pixel coordinates (x, y)."""
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    return np.stack([xs, ys], -1)


def render_affine(image: np.ndarray, mats: np.ndarray, size: tuple, as_float: bool = False) -> np.ndarray:
    """Sample `image` `(H, W, C)` at `mats @ p` for every pixel of an `(h, w)` frame: `(N, h, w, C)`.

    Bicubic (torch `grid_sample`, pixel centres at integers); uint8 out unless `as_float` (then float32 0-255).
    """
    import torch
    import torch.nn.functional as F
    h, w = size
    big_h, big_w = image.shape[:2]
    q = apply_affine(np.asarray(mats, dtype=np.float64), pixel_grid(h, w))      # (N, h, w, 2)
    g = np.empty_like(q)
    g[..., 0] = 2.0 * q[..., 0] / (big_w - 1) - 1.0
    g[..., 1] = 2.0 * q[..., 1] / (big_h - 1) - 1.0
    # All N frames as one tall grid: one grid_sample call, the texture is not copied N times.
    grid = torch.from_numpy(g.reshape(1, -1, w, 2).astype(np.float32))
    src = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float()[None]
    out = F.grid_sample(src, grid, mode="bicubic", padding_mode="border", align_corners=True)
    out = out[0].numpy().transpose(1, 2, 0).reshape(len(q), h, w, image.shape[2])
    if as_float:
        return out
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


@dataclass
class CameraPath:
    """Smooth camera over a still texture: `q = centre(t) + zoom(t) R(angle(t)) (p - p_mid)`; t in frames.

    centre(t) = c0 + v t + sum_k a_k sin(2 pi f_k t + phi_k) (slow swings and hand shake);
    angle(t) = a0 + omega t; zoom(t) = exp(zeta t).
    """

    out_size: tuple
    c0: np.ndarray
    velocity: np.ndarray
    shake_amp: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))   # (K, 2)
    shake_freq: np.ndarray = field(default_factory=lambda: np.zeros(0))       # (K,) cycles per frame
    shake_phase: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    angle0: float = 0.0
    omega: float = 0.0
    zeta: float = 0.0

    def params(self, times):
        t = np.asarray(times, dtype=np.float64)
        centre = self.c0 + t[:, None] * self.velocity
        if len(self.shake_freq):
            arg = 2 * np.pi * self.shake_freq[None, :, None] * t[:, None, None] + self.shake_phase[None]
            centre = centre + (self.shake_amp[None] * np.sin(arg)).sum(1)
        return centre, np.exp(self.zeta * t), self.angle0 + self.omega * t

    def matrices(self, times) -> np.ndarray:
        h, w = self.out_size
        centre, zoom, angle = self.params(times)
        return affine(centre, zoom, angle, [(w - 1) / 2.0, (h - 1) / 2.0])

    def extent(self, times) -> tuple:
        """Bounding box `(xmin, ymin, xmax, ymax)` in the texture of the frame corners over `times`."""
        h, w = self.out_size
        corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], dtype=np.float64)
        q = apply_affine(self.matrices(times), corners).reshape(-1, 2)
        return q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()

    @classmethod
    def random(cls, num_frames: int, src_size: tuple, out_size: tuple, seed: int = 0, speed=(4.0, 14.0),
               shake: float = 2.0, max_angle: float = 1.5, max_zoom: float = 0.03) -> "CameraPath":
        """A random path whose view stays inside a `src_size = (H, W)` texture for t in [-0.5, num_frames - 0.5].

        `speed` is the range of the main swing's peak speed in pixels per frame (a second swing adds half of
        it, a drift 30%); `shake` the amplitude in pixels of the fast sinusoids; `max_angle` the total rotation
        in degrees and `max_zoom` the total relative zoom over the clip. If the texture is too small for the motion, the motion is scaled
        down (never the view pushed outside the texture).
        """
        rng = np.random.default_rng(seed)
        big_h, big_w = src_size
        # Mostly slow swings plus a small drift: the camera keeps its speed without travelling far, so the
        # view fits in small textures; faster, small sinusoids add hand shake.
        sp = rng.uniform(*speed)
        freq = np.concatenate([rng.uniform(0.04, 0.1, 2), rng.uniform(0.15, 0.4, 2)])
        dirs = rng.uniform(0, 2 * np.pi, 4)
        spd = np.array([sp, 0.5 * sp, shake * 2 * np.pi * 0.25, shake * 2 * np.pi * 0.25])
        amp = (spd / (2 * np.pi * freq))[:, None] * np.stack([np.cos(dirs), np.sin(dirs)], -1)
        d = rng.uniform(0, 2 * np.pi)
        base = dict(velocity=0.3 * sp * np.array([np.cos(d), np.sin(d)]), shake_amp=amp, shake_freq=freq,
                    shake_phase=rng.uniform(0, 2 * np.pi, (4, 2)),
                    omega=np.deg2rad(rng.uniform(-max_angle, max_angle)) / max(num_frames, 1),
                    zeta=np.log1p(rng.uniform(-max_zoom, max_zoom)) / max(num_frames, 1))
        times = np.linspace(-0.5, num_frames - 0.5, 4 * num_frames + 1)
        for damp in 0.8 ** np.arange(30):
            path = cls(out_size=tuple(out_size), c0=np.zeros(2), velocity=base["velocity"] * damp,
                       shake_amp=base["shake_amp"] * damp, shake_freq=base["shake_freq"],
                       shake_phase=base["shake_phase"], omega=base["omega"] * damp, zeta=base["zeta"] * damp)
            x0, y0, x1, y1 = path.extent(times)
            room_x, room_y = (big_w - 1) - (x1 - x0), (big_h - 1) - (y1 - y0)
            if room_x >= 0 and room_y >= 0:
                path.c0 = np.array([rng.uniform(0, room_x) - x0, rng.uniform(0, room_y) - y0])
                return path
        raise ValueError(f"CameraPath: a {out_size} view does not fit in a {src_size} texture")


@dataclass
class Layer:
    """A cut-out of a photo (ellipse or rectangle) moving over the frame with its own affine motion.

    In frame coordinates its centre is at `anchor0 + velocity t`, rotated by `angle0 + omega t` and scaled by
    `exp(zeta t)`; `q = A(t) p` gives texture coordinates, with the cut-out centred at `centre` in the texture.
    """

    texture: np.ndarray
    centre: np.ndarray
    half: np.ndarray           # half sizes (a, b) in texture pixels
    shape: str
    anchor0: np.ndarray
    velocity: np.ndarray
    angle0: float = 0.0
    omega: float = 0.0
    zeta: float = 0.0
    texture_id: int = -1       # index into the cut-out list it came from (recorded for the dataset card)

    def matrices(self, times) -> np.ndarray:
        t = np.asarray(times, dtype=np.float64)
        anchor = self.anchor0 + t[:, None] * self.velocity
        return affine(self.centre, np.exp(-self.zeta * t), -(self.angle0 + self.omega * t), anchor)

    def covers(self, q: np.ndarray) -> np.ndarray:
        """Whether texture points `q` `(..., 2)` lie inside the cut-out."""
        d = np.abs(q - self.centre) / self.half
        return (d ** 2).sum(-1) <= 1.0 if self.shape == "ellipse" else (d <= 1.0).all(-1)


@dataclass
class Scene:
    """Background texture seen through a :class:`CameraPath`, plus :class:`Layer` s on top (last = topmost)."""

    size: tuple
    background: np.ndarray
    camera: CameraPath
    layers: list

    def _labels(self, times, pts: Optional[np.ndarray] = None) -> np.ndarray:
        """Index of the topmost surface (0 = background, l = layer l-1) at `pts` `(N, ..., 2)` (one set per
        time) or, by default, at every pixel: `(N, ...)` int."""
        per_map = pts is not None
        pts = pixel_grid(*self.size) if pts is None else pts
        lab = np.zeros((len(times),) + (pts.shape[1:-1] if per_map else pts.shape[:-1]), dtype=np.int64)
        for i, layer in enumerate(self.layers):
            lab[layer.covers(apply_affine(layer.matrices(times), pts, per_map=per_map))] = i + 1
        return lab

    def _surface_matrices(self, s: int, times) -> np.ndarray:
        return self.camera.matrices(times) if s == 0 else self.layers[s - 1].matrices(times)

    def render(self, times) -> np.ndarray:
        """uint8 frames `(N, H, W, 3)` at `times` (in frames; fractional times give sub-frames for blur)."""
        times = np.atleast_1d(np.asarray(times, dtype=np.float64))
        out = render_affine(self.background, self.camera.matrices(times), self.size, as_float=True)
        lab = self._labels(times)
        for i, layer in enumerate(self.layers):
            sel = lab == i + 1
            if sel.any():
                out[sel] = render_affine(layer.texture, layer.matrices(times), self.size, as_float=True)[sel]
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    def flow(self, t1: float, t2: float):
        """Exact flow from the frame at `t1` to the frame at `t2`: `(flow (2, H, W) float32, occ (1, H, W) uint8)`."""
        h, w = self.size
        p = pixel_grid(h, w)
        lab = self._labels([t1])[0]
        target = np.zeros_like(p)
        for s in range(len(self.layers) + 1):
            sel = lab == s
            a1, a2_inv = self._surface_matrices(s, [t1]), invert_affine(self._surface_matrices(s, [t2]))
            target[sel] = apply_affine(a2_inv, apply_affine(a1, p[sel]))[0]
        flow = target - p
        inside = (target[..., 0] >= 0) & (target[..., 0] <= w - 1) & (target[..., 1] >= 0) & (target[..., 1] <= h - 1)
        lab2 = self._labels([t2], target[None])[0]
        # Visible in frame 2 iff the same surface is on top where the point lands (a layer cannot hide itself).
        occ = ~inside | (lab2 != lab)
        return flow.transpose(2, 0, 1).astype(np.float32), occ[None].astype(np.uint8)

    @classmethod
    def random(cls, background: np.ndarray, cutouts: Sequence[np.ndarray], size: tuple, num_frames: int,
               seed: int = 0, num_layers: int = 2, cam_speed=(0.5, 4.0), layer_speed=(1.0, 6.0),
               layer_rot: float = 3.0, layer_zoom: float = 0.03, cam_angle: float = 2.0,
               cam_zoom: float = 0.04) -> "Scene":
        """A background photo under a gentle random camera and `num_layers` cut-outs of `cutouts` photos.

        Speeds are in pixels per frame at `size`; `layer_rot` in degrees per frame; `layer_zoom` relative
        scale change per frame; `cam_angle` (degrees) and `cam_zoom` (relative) the camera's total rotation and
        zoom over the clip. Layers keep their centre inside the frame over the clip.
        """
        rng = np.random.default_rng(seed)
        h, w = size
        cam = CameraPath.random(num_frames, background.shape[:2], size, seed=int(rng.integers(2**31)),
                                speed=cam_speed, shake=0.5, max_angle=cam_angle, max_zoom=cam_zoom)
        layers, t_mid = [], (num_frames - 1) / 2.0
        for i in range(num_layers):
            tid = int(rng.integers(len(cutouts)))
            tex = cutouts[tid]
            half = np.array([rng.uniform(0.12, 0.28) * w, rng.uniform(0.12, 0.28) * h])
            th, tw = tex.shape[:2]
            # The cut-out's bounding box (allowing for up to 45 degrees and 10% zoom) stays inside the photo.
            r = 1.5 * np.hypot(*half)
            if 2 * r >= min(th, tw) - 2:
                half *= (min(th, tw) - 4) / (2 * r + 1)
                r = 1.5 * np.hypot(*half)
            centre = np.array([rng.uniform(r, tw - 1 - r), rng.uniform(r, th - 1 - r)])
            sp, d = rng.uniform(*layer_speed), rng.uniform(0, 2 * np.pi)
            vel = sp * np.array([np.cos(d), np.sin(d)])
            mid = np.array([rng.uniform(0.25, 0.75) * (w - 1), rng.uniform(0.25, 0.75) * (h - 1)])
            layers.append(Layer(texture=tex, centre=centre, half=half, shape=("ellipse", "rect")[i % 2],
                                anchor0=mid - vel * t_mid, velocity=vel, angle0=np.deg2rad(rng.uniform(-20, 20)),
                                omega=np.deg2rad(rng.uniform(-layer_rot, layer_rot)),
                                zeta=np.log1p(rng.uniform(-layer_zoom, layer_zoom)), texture_id=tid))
        return cls(size=tuple(size), background=background, camera=cam, layers=layers)
