"""REDS (Nah et al., 2019) for x4 video super-resolution, in the layout BasicSR and mmediting users have.

Explained in `notebooks/data.py`. Layout under `root` (e.g. `data/REDS`)::

    train_sharp/000/00000000.png ... 00000099.png      GT, 1280x720
    train_sharp_bicubic/X4/000/00000000.png ...        LQ, 320x180 (MATLAB bicubic x4)

REDS ships 240 training clips (000-239) and 30 validation clips; as BasicSR's
`regroup_reds_dataset.py` does, `data_scripts/prepare_reds.py` copies the validation clips into the
training folders as 240-269, so one folder holds 270 clips. The paper's split (from EDVR) is then:

- `test` = REDS4 = clips 000, 011, 015, 020 of the original training set, whole 100-frame clips;
- `train` = the other 266 clips (train + val merged; REDS's official val set is *not* held out).

The training list is whatever clip folders are present minus REDS4, so a partial download still
trains; `strict=True` insists on all 266.
"""
from __future__ import annotations

from pathlib import Path

from .download import Resource
from .layout import folder_pair, missing, normalise_split, require

REDS4 = ("000", "011", "015", "020")
NUM_CLIPS = 270          # 240 train + 30 val, after the regroup
GT_DIR = "train_sharp"
LQ_DIR = "train_sharp_bicubic/X4"
SCALE = 4
# Official SNU CVLab server (linked from https://seungjunnah.github.io/Datasets/reds.html); no digests are published.
_SNU = "http://data.cv.snu.ac.kr:8008/webdav/dataset/REDS"
DOWNLOADS = tuple(Resource(f"{_SNU}/{n}.zip", f"{n}.zip") for n in
                  ("train_sharp", "train_sharp_bicubic", "val_sharp", "val_sharp_bicubic"))


def reds_clip_names(split: str) -> list:
    """The paper's clip names for `split`: REDS4 for 'test', the other 266 of 000-269 for 'train'."""
    split = normalise_split(split)
    if split == "test":
        return list(REDS4)
    return [f"{i:03d}" for i in range(NUM_CLIPS) if f"{i:03d}" not in REDS4]


def reds_sequences(root, split: str, strict: bool = False) -> list:
    """REDS clips of `split` under `root` as `VideoSequence`s (LQ x4 bicubic, GT sharp, `scale=4`).

    'test' always requires the four REDS4 clips. 'train' uses the clip folders present in
    `train_sharp/` (minus REDS4), each of which must have its LQ folder; with `strict=True` all 266
    must be present. Raises :class:`DatasetError` naming the first missing folder.
    """
    root = Path(root)
    split = normalise_split(split)
    gt_root = require(root / GT_DIR, "reds", root, "dir")
    require(root / LQ_DIR, "reds", root, "dir")
    if split == "test" or strict:
        names = reds_clip_names(split)
    else:
        present = {p.name for p in gt_root.iterdir() if p.is_dir()}
        names = sorted(n for n in present if n not in REDS4)
        if not names:
            raise missing(gt_root, "reds", root, "no training clips (only REDS4 or nothing)")
    return [folder_pair(n, root / LQ_DIR / n, gt_root / n, SCALE, "reds", root) for n in names]
