"""Extra training clips with sub-pixel motion: the embedded training photographs seen by a camera moving along
smooth random paths (`s2svr.data.synthetic_flow.CameraPath`, as the flow set is built), degraded like the task's
clips. A factor of the restorer study (`s2svr/experiments/study.py`, `data.extra_train: camera_paths`).

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
def _sr_clip(k: int) -> tuple[np.ndarray, np.ndarray]:
    from .degrade import bicubic_x4
    from .embedded_recipe import TRAIN_PHOTOS, photo
    from .synthetic_flow import CameraPath, render_affine
    name = TRAIN_PHOTOS[k % len(TRAIN_PHOTOS)]
    img = photo(name)
    if min(img.shape[:2]) < HQ_SIZE + 64:
        from .degrade import imresize
        img = imresize(img, (HQ_SIZE + 64) / min(img.shape[:2]) * 1.01)
    path = CameraPath.random(num_frames=FRAMES, src_size=img.shape[:2], out_size=(HQ_SIZE, HQ_SIZE),
                             seed=1000 + k, speed=SPEED, shake=0.5)
    gt = render_affine(img, path.matrices(np.arange(FRAMES, dtype=np.float64)), (HQ_SIZE, HQ_SIZE))
    return bicubic_x4(gt), gt


def extra_train_sequences(kind: str, task: str) -> list[VideoSequence]:
    """The extra training clips `kind` (`EXTRA_TRAIN`) for `task` (super-resolution only)."""
    if kind not in EXTRA_TRAIN:
        raise ValueError(f"data.extra_train must be one of {EXTRA_TRAIN}, got {kind!r}")
    if task != "sr":
        raise ValueError(f"data.extra_train {kind!r} makes x4 SR clips; task {task!r} has none")
    out = []
    for k in range(NUM_CLIPS):
        lq, gt = _sr_clip(k)
        out.append(VideoSequence(f"sr/path_{k:02d}", FrameSource.from_frames(f"path_{k:02d}/lq", lq),
                                 FrameSource.from_frames(f"path_{k:02d}/gt", gt), scale=4))
    return out
