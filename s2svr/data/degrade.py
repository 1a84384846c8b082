"""Degradations that turn sharp video into the three restoration inputs: x4 bicubic, GOPRO-style blur, HEVC QP37.

Explained in `notebooks/degradations.py`. Frames are uint8
numpy arrays `(T, H, W, C)` at this layer.

- :func:`imresize`: MATLAB's `imresize(img, scale, 'bicubic')` with antialiasing, written from its definition
  (Keys cubic kernel a = -0.5; when downscaling the kernel is stretched by 1/scale so it also low-passes;
  symmetric padding; output size `ceil(scale * size)`). This is how the x4 LQ of Vimeo-90K-BI and of most VSR
  benchmarks is made. One deliberate difference from MATLAB: uint8 input is processed in float64 and rounded
  once at the end (as BasicSR's Python port does); MATLAB rounds after each of the two 1-D passes, which
  changes some pixels by at most one grey level.
- :func:`synthesize_blur`: GOPRO's recipe (Nah et al., 2017): average `window` consecutive sharp frames of a
  high-frame-rate video; the middle sharp frame is the ground truth.
- :func:`hfr_camera_path`: makes the high-frame-rate video that blur needs from ordinary real frames, by moving
  a virtual camera along a smooth sub-pixel path over each frame (see `synthetic_flow.CameraPath`).
- :func:`hevc_compress`: HEVC at constant QP 37, one I-frame then P-frames only (low-delay P), with x265 via
  PyAV. MFQEv2 used the HM 16.5 reference encoder (LDP config, QP offsets per GOP position); x265 is not HM,
  so absolute PSNR differs by a fraction of a dB from the published one, but the protocol is the same.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Optional, Sequence, Union

import numpy as np

# --------------------------------------------------------------------------------------------------------
# MATLAB-style bicubic imresize


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's 'bicubic'); support [-2, 2]."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def _contributions(in_len: int, out_len: int, scale: float, antialias: bool):
    """Weights `(out_len, P)` and 1-based unpadded source indices `(out_len, P)` of a 1-D resize, as MATLAB."""
    width = 4.0
    if scale < 1 and antialias:
        # Stretching the kernel by 1/scale makes it a low-pass filter matched to the new sampling rate.
        width = width / scale
        kernel = lambda t: scale * cubic(scale * t)  # noqa: E731
    else:
        kernel = cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)        # 1-based output pixel centres
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)               # their position in input pixel units (centres aligned)
    left = np.floor(u - width / 2.0)
    taps = int(np.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]          # (out_len, P), 1-based, may fall outside [1, in_len]
    w = kernel(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    keep = np.any(w != 0, axis=0)
    return w[:, keep], idx[:, keep].astype(np.int64)


def _mirror(idx: np.ndarray, in_len: int) -> np.ndarray:
    """MATLAB's symmetric padding: 1-based indices outside [1, n] reflect, edge pixel repeated; 0-based out."""
    return np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])[np.mod(idx - 1, 2 * in_len)]


def _resize_axis(arr: np.ndarray, axis: int, out_len: int, scale: float, antialias: bool,
                 fast: bool = True) -> np.ndarray:
    in_len = arr.shape[axis]
    w, idx = _contributions(in_len, out_len, scale, antialias)
    step = int(round(idx[1, 0] - idx[0, 0])) if out_len > 1 else 1
    if fast and out_len > 1 and np.allclose(w, w[:1], rtol=0, atol=1e-12) and \
            np.array_equal(idx - idx[:1], step * np.arange(out_len)[:, None] + 0 * idx):
        # Integer downscaling (x4 etc.): every output pixel sees the same weights at a stride, so the resize is
        # a sum of strided views of one padded copy -- much faster than a general sparse product.
        padded = np.take(arr, _mirror(np.arange(idx[0, 0], idx[-1, -1] + 1), in_len), axis=axis)
        sl = [slice(None)] * arr.ndim
        out = None
        for k in range(w.shape[1]):
            start = int(idx[0, k] - idx[0, 0])
            sl[axis] = slice(start, start + step * (out_len - 1) + 1, step)
            term = w[0, k] * padded[tuple(sl)]
            out = term if out is None else np.add(out, term, out=out)
        return out
    from scipy.sparse import csr_matrix
    rows = np.repeat(np.arange(out_len), w.shape[1])
    # General case: a sparse (out, in) matrix (taps that hit the same mirrored pixel are summed).
    m = csr_matrix((w.ravel(), (rows, _mirror(idx, in_len).ravel())), shape=(out_len, in_len))
    x = np.moveaxis(arr, axis, 0)
    out = (m @ x.reshape(in_len, -1)).reshape((out_len,) + x.shape[1:])
    return np.moveaxis(out, 0, axis)


def output_size(size: int, scale: float) -> int:
    """MATLAB's output length `ceil(scale * size)` (e.g. 130 px at 1/4 -> 33)."""
    return int(np.ceil(scale * size - 1e-9))


def imresize(img: np.ndarray, scale: float, antialias: bool = True) -> np.ndarray:
    """MATLAB `imresize(img, scale, 'bicubic')` of `(H, W)` or `(H, W, C)` (also `(T, H, W, C)` stacks).

    uint8 input gives uint8 output (rounded, clipped); float input gives the same float dtype, unclipped.
    Rows are resized first, then columns, as MATLAB does when both scales are equal.
    """
    arr = np.asarray(img)
    if arr.ndim not in (2, 3, 4):
        raise ValueError(f"imresize expects (H, W), (H, W, C) or (T, H, W, C), got shape {arr.shape}")
    if scale <= 0:
        raise ValueError(f"imresize: scale must be positive, got {scale}")
    ax_h = 1 if arr.ndim == 4 else 0
    out = arr.astype(np.float64)
    for axis in (ax_h, ax_h + 1):
        out = _resize_axis(out, axis, output_size(arr.shape[axis], scale), scale, antialias)
    if arr.dtype == np.uint8:
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    return out.astype(arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64)


def bicubic_x4(frames: np.ndarray, chunk: int = 8) -> np.ndarray:
    """x4 LQ of uint8 frames `(T, H, W, C)` -> `(T, ceil(H/4), ceil(W/4), C)` by MATLAB bicubic."""
    frames = np.asarray(frames)
    if frames.ndim != 4:
        raise ValueError(f"bicubic_x4 expects (T, H, W, C), got shape {frames.shape}")
    # Chunks keep the float64 working copy small for long or large clips.
    return np.concatenate([imresize(frames[i:i + chunk], 0.25) for i in range(0, len(frames), chunk)])


# --------------------------------------------------------------------------------------------------------
# GOPRO-style blur


def synthesize_blur(sharp_hfr_frames: np.ndarray, window: int, gamma: float = 1.0):
    """Average non-overlapping windows of `window` high-frame-rate frames (GOPRO, Nah et al. 2017).

    Args:
        sharp_hfr_frames: uint8 `(N, H, W, C)`; `N // window` blurred frames are made, a tail is dropped.
        window: frames per exposure (GOPRO used 7 to 13 at 240 fps).
        gamma: 1.0 averages the stored sRGB values, as GOPRO_Large's `blur` folders that papers evaluate on;
            2.2 averages in approximately linear light, `(mean(S**2.2))**(1/2.2)`, as its `blur_gamma` folders.
    Returns:
        `(blurred, sharp)`, both uint8 `(N // window, H, W, C)`; `sharp` is frame `window // 2` of each window.
    """
    frames = np.asarray(sharp_hfr_frames)
    if frames.ndim != 4 or frames.dtype != np.uint8:
        raise ValueError(f"synthesize_blur expects uint8 (N, H, W, C), got {frames.dtype} {frames.shape}")
    n = len(frames) // window
    if n == 0:
        raise ValueError(f"synthesize_blur: {len(frames)} frames are fewer than one window of {window}")
    groups = frames[: n * window].reshape((n, window) + frames.shape[1:])
    if gamma != 1.0:
        x = groups.astype(np.float32) / 255.0
        blurred = np.power(np.power(x, gamma).mean(axis=1), 1.0 / gamma) * 255.0
    else:   # exact integer sum (uint16 holds 257 windows of 255), one division
        blurred = groups.sum(axis=1, dtype=np.uint16 if window <= 257 else np.uint32) / float(window)
    blurred = np.clip(np.round(blurred), 0, 255).astype(np.uint8)
    return blurred, groups[:, window // 2].copy()


def hfr_camera_path(frames: np.ndarray, window: int, size: tuple, seed: int = 0,
                    speed: tuple = (4.0, 14.0), shake: float = 2.0, max_angle: float = 1.5):
    """High-frame-rate video from real frames: a virtual camera moves smoothly over each frame.

    Output frame `i` shows source frame `i` (the scene's own motion between frames stays real) seen through a
    camera whose pose moves continuously in time; its `window` sub-frames sample poses at times
    `i + (k - window // 2) / window`, so averaging them is a camera-shake exposure of one frame interval.

    Args:
        frames: uint8 `(T, H, W, C)` real frames, already at the scale wanted.
        window: sub-frames per frame.
        size: `(h, w)` of the rendered frames.
        speed: range of the camera's mean speed in output pixels per frame (sets the blur length).
    Returns:
        uint8 `(T * window, h, w, C)`.
    """
    from .synthetic_flow import CameraPath, render_affine
    frames = np.asarray(frames)
    t = len(frames)
    path = CameraPath.random(num_frames=t, src_size=frames.shape[1:3], out_size=size, seed=seed,
                             speed=speed, shake=shake, max_angle=max_angle)
    out = []
    for i in range(t):
        times = i + (np.arange(window) - window // 2) / window
        out.append(render_affine(frames[i], path.matrices(times), size))
    return np.concatenate(out)


# --------------------------------------------------------------------------------------------------------
# HEVC, low-delay P


Planes = tuple  # (Y (T, H, W), U (T, H/2, W/2), V (T, H/2, W/2)), uint8
X265_BAD_WIDTHS = (16, 32, 64)   # widths at which x265 4.2's output is not repeatable (see hevc_compress)


def hevc_compress(frames: Union[np.ndarray, Sequence[np.ndarray]], qp: int = 37, preset: str = "medium",
                  keyint: Optional[int] = None, return_info: bool = False):
    """HEVC-encode and decode a clip with x265 at constant QP, one I-frame then P-frames (low-delay P).

    Args:
        frames: uint8 RGB `(T, H, W, 3)` (converted to BT.601 limited-range I420 first) or I420 planes
            `(Y, U, V)` with shapes `(T, H, W)`, `(T, H/2, W/2)`, `(T, H/2, W/2)`; H and W even.
        qp: constant quantiser of the P-frames (x265 gives the I-frame a slightly lower QP via `ipratio`).
        keyint: GOP length; default the clip length, so the only I-frame is the first.
    Returns:
        decoded frames in the form given (RGB array or planes tuple); planes are bit-exact decoder output.
        With `return_info`, also `{'pict_types': ['I', 'P', ...], 'bytes': int}`.
    """
    from .video_io import rgb_to_yuv420, yuv420_to_rgb

    is_rgb = isinstance(frames, np.ndarray)
    if is_rgb:
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"hevc_compress expects uint8 (T, H, W, 3) RGB, got {frames.dtype} {frames.shape}")
        y, u, v = rgb_to_yuv420(frames)
    else:
        y, u, v = (np.asarray(p, dtype=np.uint8) for p in frames)
    t, h, w = y.shape
    if h % 2 or w % 2:
        raise ValueError(f"hevc_compress needs even frame sizes for 4:2:0, got {w}x{h}")
    keyint = int(keyint or max(t, 1))
    # On frames exactly 16, 32 or 64 px wide, x265 4.2's output differs from call to call for moving content,
    # and now and then the process dies (SIGSEGV: CI's tiny MFQEv2 tree, 64x64), as if it read memory it never
    # wrote. The other widths tried (24 to 320 px) are repeatable. Such frames are encoded with two more columns,
    # copies of the last, which are cropped off again after decoding.
    pad = (2, 1, 1) if w in X265_BAD_WIDTHS else None   # columns added to Y, U, V
    if pad:
        y, u, v = (np.pad(p, ((0, 0), (0, 0), (0, n)), mode="edge") for p, n in zip((y, u, v), pad))
    # bframes=0: P only; scenecut=0: no extra I-frames; keyint: one GOP; frame-threads=1: repeatable output.
    options = {"preset": preset, "x265-params": (f"qp={qp}:bframes=0:keyint={keyint}:min-keyint={keyint}"
                                                 f":scenecut=0:frame-threads=1:log-level=error")}
    out, info = _codec_roundtrip((y, u, v), "libx265", "hevc", options)
    if pad:
        out = tuple(np.ascontiguousarray(p[..., :p.shape[-1] - n]) for p, n in zip(out, pad))
    out = yuv420_to_rgb(*out) if is_rgb else out
    return (out, info) if return_info else out


def h264_compress(frames: Union[np.ndarray, Sequence[np.ndarray]], crf: int = 35, preset: str = "medium"):
    """H.264-encode and decode a clip with x264 at a constant rate factor (`crf`; 35 is a low bitrate), low-delay
    (no B-frames), one I-frame: the other codec of the compressed-video check, never trained on. Frames as for
    :func:`hevc_compress`; returns `(decoded frames in the form given, {'pict_types', 'bytes'})`."""
    from .video_io import rgb_to_yuv420, yuv420_to_rgb
    is_rgb = isinstance(frames, np.ndarray)
    planes = rgb_to_yuv420(frames) if is_rgb else tuple(np.asarray(p, dtype=np.uint8) for p in frames)
    t = planes[0].shape[0]
    options = {"preset": preset, "crf": str(crf), "bf": "0", "g": str(max(t, 1)), "sc_threshold": "0",
               "threads": "1"}
    out, info = _codec_roundtrip(planes, "libx264", "h264", options)
    return (yuv420_to_rgb(*out) if is_rgb else out), info


def _codec_roundtrip(planes, encoder: str, decoder: str, options: dict):
    """Encode I420 `planes` (Y, U, V) with `encoder` and its `options`, decode with `decoder`; returns the decoded
    planes (bit-exact decoder output) and {'pict_types', 'bytes'}."""
    import av
    y, u, v = planes
    t, h, w = y.shape
    enc = av.CodecContext.create(encoder, "w")
    enc.width, enc.height, enc.pix_fmt = w, h, "yuv420p"
    enc.time_base, enc.framerate = Fraction(1, 25), Fraction(25, 1)
    enc.options = options
    packets = []
    for i in range(t):
        i420 = np.concatenate([y[i].ravel(), u[i].ravel(), v[i].ravel()]).reshape(h * 3 // 2, w)
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        frame.pts = i
        packets += enc.encode(frame)
    packets += enc.encode(None)
    nbytes = sum(p.size for p in packets)
    dec = av.CodecContext.create(decoder, "r")
    decoded = []
    for p in packets:
        decoded += dec.decode(p)
    decoded += dec.decode(None)
    if len(decoded) != t:
        raise RuntimeError(f"{encoder}: decoded {len(decoded)} of {t} frames")
    # (3H/2, W) I420 per frame, no colour conversion, so the planes are exactly the decoder's.
    flat = np.stack([f.to_ndarray(format="yuv420p").ravel() for f in decoded])
    c = (h // 2) * (w // 2)
    oy = flat[:, :h * w].reshape(t, h, w)
    ou = flat[:, h * w:h * w + c].reshape(t, h // 2, w // 2)
    ov = flat[:, h * w + c:].reshape(t, h // 2, w // 2)
    from av.video.frame import PictureType
    return (oy, ou, ov), {"pict_types": [PictureType(int(f.pict_type)).name for f in decoded], "bytes": nbytes}
