"""Extra training clips with sub-pixel motion: the embedded training photographs seen by a camera moving along
smooth random paths (`s2svr.data.synthetic_flow.CameraPath`, as the flow set is built), degraded like the task's
clips (x4 SR, or deblurring: camera-shake exposures). A factor of the restorer study (`s2svr/experiments/study.py`,
`data.extra_train: camera_paths`).

Explained in the chapter `notebooks/exp_study.py`. Real video gives a multi-frame network few training shots here;
a still photograph under a moving camera gives every frame the same scene at a new sub-pixel offset, the
information a multi-frame SR network can add to a single frame. The clips are rendered in memory (seconds), only
from photographs of the training split, and never used for validation or test.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .sequence import FrameSource, VideoSequence

EXTRA_TRAIN = ("camera_paths",)
NUM_CLIPS = 12       # two paths per training photograph
FRAMES = 20          # as the embedded SR training clips
HQ_SIZE = 256        # HQ crop of the camera (LQ 64 x 64, as the BBB training clips)
SPEED = (1.0, 6.0)   # main swing's peak speed, HQ pixels per frame: 0.25-1.5 LQ pixels, sub-pixel to small


@lru_cache(maxsize=None)
def sr_clip(name: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(LQ, GT, maps) of photograph `name` under the camera path of `seed`: x4 bicubic LQ `(T, 64, 64, 3)`, GT
    `(T, 256, 256, 3)`, and the path's affine maps `(T, 2, 3)` from GT pixels to the photograph's
    (`s2svr.data.synthetic_flow.CameraPath.matrices`), from which :func:`exact_lq_flows` gives the true motion."""
    from .degrade import bicubic_x4
    from .embedded_recipe import photo
    from .synthetic_flow import CameraPath, render_affine
    img = photo(name)
    if min(img.shape[:2]) < HQ_SIZE + 64:
        from .degrade import imresize
        img = imresize(img, (HQ_SIZE + 64) / min(img.shape[:2]) * 1.01)
    path = CameraPath.random(num_frames=FRAMES, src_size=img.shape[:2], out_size=(HQ_SIZE, HQ_SIZE),
                             seed=seed, speed=SPEED, shake=0.5)
    mats = path.matrices(np.arange(FRAMES, dtype=np.float64))
    gt = render_affine(img, mats, (HQ_SIZE, HQ_SIZE))
    return bicubic_x4(gt), gt, mats


def _sr_clip(k: int) -> tuple[np.ndarray, np.ndarray]:
    from .embedded_recipe import TRAIN_PHOTOS
    lq, gt, _ = sr_clip(TRAIN_PHOTOS[k % len(TRAIN_PHOTOS)], 1000 + k)
    return lq, gt


def exact_lq_flows(mats: np.ndarray, lq_size: tuple, scale: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The true flows between adjacent LQ frames of a camera-path clip, `(fw, bw)` each `(T-1, 2, h, w)` float32 in
    LQ pixels, named as `s2svr.train.flow_bank.FlowBank` names them: fw[i] = F(x_i, x_{i+1}) (where frame i's pixel
    is found in frame i+1), bw[i] = F(x_{i+1}, x_i).

    MATLAB-style downscaling puts LQ pixel l's centre at GT coordinate `scale * l + (scale - 1) / 2`; a GT point p of
    frame i shows the photograph at `M_i p`, found in frame j at `M_j^-1 M_i p`. Exact up to the renderer's
    interpolation: the scene is one plane."""
    from .synthetic_flow import apply_affine, pixel_grid
    h, w = lq_size
    off = (scale - 1) / 2.0
    p_lq = pixel_grid(h, w)                                                     # (h, w, 2)
    p_gt = p_lq * scale + off

    def inverse(m):  # (2, 3) affine -> its inverse
        a = np.linalg.inv(m[:, :2])
        return np.concatenate([a, -a @ m[:, 2:]], 1)

    def flow(i, j):
        src = apply_affine(mats[i:i + 1], p_gt)                                 # (1, h, w, 2) in the photograph
        q_gt = apply_affine(inverse(mats[j])[None], src[0])[0]                  # (h, w, 2) in frame j's GT pixels
        return ((q_gt - off) / scale - p_lq).transpose(2, 0, 1).astype(np.float32)

    n = len(mats)
    fw = np.stack([flow(i, i + 1) for i in range(n - 1)]) if n > 1 else np.zeros((0, 2, h, w), np.float32)
    bw = np.stack([flow(i + 1, i) for i in range(n - 1)]) if n > 1 else np.zeros((0, 2, h, w), np.float32)
    return fw, bw


DEBLUR_FRAMES = 16  # as the embedded deblurring training clips


@lru_cache(maxsize=None)
def deblur_clip(name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(blurred, sharp), each uint8 `(DEBLUR_FRAMES, size, size, 3)`: photograph `name` still, under camera-shake
    exposures along the path of `seed`, made as the embedded deblurring clips are made from real frames
    (`s2svr.data.degrade.hfr_camera_path`, then `synthesize_blur`, at the recipe's window, size and speed). Each
    frame's blur has its own direction and length; its neighbours show the same scene blurred otherwise."""
    from .degrade import hfr_camera_path, imresize, synthesize_blur
    from .embedded_recipe import photo, recipe
    c = recipe()["deblur"]["train"][0]  # window, size and speed: the same for every clip of the recipe
    img = photo(name)
    if min(img.shape[:2]) < c["size"] + 64:
        img = imresize(img, (c["size"] + 64) / min(img.shape[:2]) * 1.01)
    still = np.broadcast_to(img, (DEBLUR_FRAMES, *img.shape))
    hfr = hfr_camera_path(still, c["window"], (c["size"], c["size"]), seed=seed, speed=tuple(c["speed"]))
    return synthesize_blur(hfr, c["window"])


def _deblur_clip(k: int) -> tuple[np.ndarray, np.ndarray]:
    from .embedded_recipe import TRAIN_PHOTOS
    return deblur_clip(TRAIN_PHOTOS[k % len(TRAIN_PHOTOS)], 2000 + k)


CLIPS = {"sr": (_sr_clip, 4), "deblur": (_deblur_clip, 1)}  # task -> (clip k's (LQ, GT), scale)


def extra_train_sequences(kind: str, task: str) -> list[VideoSequence]:
    """The extra training clips `kind` (`EXTRA_TRAIN`) for `task` (super-resolution or deblurring)."""
    if kind not in EXTRA_TRAIN:
        raise ValueError(f"data.extra_train must be one of {EXTRA_TRAIN}, got {kind!r}")
    if task not in CLIPS:
        raise ValueError(f"data.extra_train {kind!r} makes x4 SR and deblurring clips; task {task!r} has none")
    make, scale = CLIPS[task]
    out = []
    for k in range(NUM_CLIPS):
        lq, gt = make(k)
        out.append(VideoSequence(f"{task}/path_{k:02d}", FrameSource.from_frames(f"path_{k:02d}/lq", lq),
                                 FrameSource.from_frames(f"path_{k:02d}/gt", gt), scale=scale))
    return out
