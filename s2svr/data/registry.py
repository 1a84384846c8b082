"""Which datasets exist, which task each serves, and the one error every loader raises.

Explained in `notebooks/data.py`. Every dataset
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

# The loaders' shared checks live in `layout`; re-exported here, where readers look for the error.
from .layout import (PREPARE_SCRIPTS, SPLITS, DatasetError, folder_pair, missing, normalise_split,  # noqa: F401
                     prepare_hint, require)

DATASET_TASKS = {"reds": ("sr",), "vimeo": ("sr",), "gopro": ("deblur",), "mfqe": ("vqe",),
                 "embedded": ("sr", "deblur", "vqe")}


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
