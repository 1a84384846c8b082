"""What every dataset loader checks: the splits, the expected paths, and the one error they raise.

The loaders (`reds`, `vimeo`, `gopro`, `mfqe`) import this module, and `registry` imports the loaders, so the
imports run one way. A missing file or folder is a :class:`DatasetError` whose message is one line naming the
path and the command that makes it. Explained in `notebooks/data.py`.
"""
from __future__ import annotations

from pathlib import Path

SPLITS = ("train", "test")
PREPARE_SCRIPTS = {"reds": "prepare_reds.py", "vimeo": "prepare_vimeo.py", "gopro": "prepare_gopro.py",
                   "mfqe": "prepare_mfqe.py"}


class DatasetError(FileNotFoundError):
    """A dataset file or folder is missing; the message names it and the script that makes it."""


def prepare_hint(dataset: str, root) -> str:
    """The command that builds `dataset` under `root`, e.g. `python data_scripts/prepare_reds.py --root data/REDS`."""
    return f"python data_scripts/{PREPARE_SCRIPTS[dataset]} --root {root}"


def missing(path, dataset: str, root, what: str = "missing") -> DatasetError:
    """The one-line error for a missing `path` (`what` says how it is wrong: 'missing', 'no frames', ...)."""
    return DatasetError(f"{path}: {what}; run {prepare_hint(dataset, root)}")


def require(path, dataset: str, root, kind: str = "any") -> Path:
    """`path` if it exists (as a directory for `kind='dir'`, a file for `kind='file'`), else :class:`DatasetError`."""
    path = Path(path)
    ok = {"any": path.exists, "dir": path.is_dir, "file": path.is_file}[kind]()
    if not ok:
        raise missing(path, dataset, root)
    return path


def normalise_split(split: str) -> str:
    split = {"val": "test"}.get(split, split)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} (or 'val' = 'test'), got {split!r}")
    return split


def folder_pair(name: str, lq_dir, gt_dir, scale: int, dataset: str, root):
    """A :class:`VideoSequence` over two frame folders, checked: both exist, hold frames, and agree in count."""
    from .sequence import FrameSource, VideoSequence
    sources = []
    for folder in (gt_dir, lq_dir):
        require(folder, dataset, root, "dir")
        try:
            sources.append(FrameSource.from_folder(folder))
        except FileNotFoundError:
            raise missing(folder, dataset, root, "no image frames") from None
    gt, lq = sources
    if len(lq) != len(gt):
        raise missing(lq_dir, dataset, root, f"{len(lq)} frames but {gt_dir} has {len(gt)}")
    return VideoSequence(name=name, lq=lq, gt=gt, scale=scale)
