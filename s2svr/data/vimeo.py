"""Vimeo-90K septuplets (Xue et al., 2019) for x4 video super-resolution, in BasicSR's layout.

Explained in the chapter `notebooks/data.py`. Layout under `root` (e.g. `data/vimeo90k`)::

    vimeo_septuplet/sequences/00001/0001/im1.png ... im7.png      GT, 448x256
    vimeo_septuplet/sep_trainlist.txt, sep_testlist.txt           lines "00001/0001"
    vimeo_septuplet_matlabLRx4/sequences/00001/0001/im1.png ...   LQ, 112x64 (MATLAB bicubic x4)

`sep_testlist.txt` (7,824 septuplets) is Vimeo-90K-T; `sep_trainlist.txt` (64,612) is training. The
lists ship inside `vimeo_septuplet.zip`; the LQ folder is made by `data_scripts/prepare_vimeo.py`
(BasicSR makes it with MATLAB's `imresize`; we use `s2svr.data.degrade.imresize`, which reproduces it).
Every sequence has 7 frames; the paper feeds them mirrored to 14 (done by the model, not here).
Vimeo-90K-T is usually scored on the Y channel (BasicVSR's convention): see `s2svr.metrics`.
"""
from __future__ import annotations

from pathlib import Path

from .download import Resource
from .layout import DatasetError, missing, normalise_split, require
from .sequence import FrameSource, VideoSequence

GT_DIR = "vimeo_septuplet/sequences"
LQ_DIR = "vimeo_septuplet_matlabLRx4/sequences"
LISTS = {"train": "sep_trainlist.txt", "test": "sep_testlist.txt"}
LIST_DIRS = ("vimeo_septuplet", ".")    # where the lists are looked for, in order
FRAMES = tuple(f"im{i}.png" for i in range(1, 8))
SCALE = 4
# Official TOFlow page http://toflow.csail.mit.edu/ ; GT only (LQ is made locally); no digest is published, so
# the first download's sha256 is recorded and checked on every later use (`download.fetch`).
DOWNLOADS = (Resource("https://data.csail.mit.edu/tofu/dataset/vimeo_septuplet.zip", "vimeo_septuplet.zip",
                      note="82 GB, GT septuplets and the train/test lists"),)


def vimeo_list_path(root, split: str) -> Path:
    """The meta list of `split` (`vimeo_septuplet/sep_*list.txt`, or directly under `root`)."""
    root = Path(root)
    split = normalise_split(split)
    for d in LIST_DIRS:
        p = root / d / LISTS[split]
        if p.is_file():
            return p
    raise missing(root / LIST_DIRS[0] / LISTS[split], "vimeo", root)


def read_vimeo_list(path) -> list:
    """Septuplet keys ('00001/0001') of a Vimeo meta list, blank lines dropped.

    A key must be a relative path that stays inside the sequence folders (no `..`, not absolute): a list
    line such as `../../etc` raises :class:`DatasetError` naming the list file and the line."""
    path = Path(path)
    keys = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        key = line.strip()
        if not key:
            continue
        parts = key.replace("\\", "/").split("/")
        if key.startswith(("/", "\\")) or Path(key).is_absolute() or ":" in parts[0] or ".." in parts \
                or "" in parts or "." in parts:
            raise DatasetError(f"{path}:{n}: {key!r} is not a relative septuplet key like 00001/0001 "
                               "(absolute paths and '..' are refused)")
        keys.append(key)
    return keys


def vimeo_sequences(root, split: str, limit: int | None = None) -> list:
    """Vimeo-90K septuplets of `split` as 7-frame `VideoSequence`s named '00001/0001' (`scale=4`).

    Only the septuplet folders are checked (one `stat` each, not a directory listing: the training
    list has 64,612 entries); a missing frame inside one surfaces when it is read. `limit` keeps the
    first N keys of the list (quick runs).
    """
    root = Path(root)
    keys = read_vimeo_list(vimeo_list_path(root, split))
    if limit is not None:
        keys = keys[:limit]
    gt_root = require(root / GT_DIR, "vimeo", root, "dir")
    lq_root = require(root / LQ_DIR, "vimeo", root, "dir")
    seqs = []
    for key in keys:
        gt_dir, lq_dir = gt_root / key, lq_root / key
        require(gt_dir, "vimeo", root, "dir")
        require(lq_dir, "vimeo", root, "dir")
        seqs.append(VideoSequence(
            name=key,
            lq=FrameSource(path=lq_dir, kind="images", files=tuple(lq_dir / f for f in FRAMES)),
            gt=FrameSource(path=gt_dir, kind="images", files=tuple(gt_dir / f for f in FRAMES)),
            scale=SCALE))
    return seqs
