"""Training and test data for a config: the bridge from `DataConfig` to datasets.

Explained in `book/use_train.md`.
"""
from __future__ import annotations

import torch
from torch.utils.data import Dataset

from ..configs import ExperimentConfig
from ..data.clips import PairedClipDataset
from ..data.registry import get_sequences


def data_mode(cfg: ExperimentConfig) -> str:
    """'y' for single-channel models (compressed video on the Y plane), else 'rgb'."""
    return "y" if cfg.model.in_channels == 1 else "rgb"


class EpochKeyed(Dataset):
    """Index a :class:`PairedClipDataset` by `(index, epoch)` keys from :class:`StepSampler`.

    The epoch is set right before each draw, so a worker process never uses a stale epoch.
    """

    def __init__(self, base: PairedClipDataset):
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, key):
        index, epoch = key
        self.base.set_epoch(epoch)
        return self.base[index]


def _clip_name(seq) -> str:
    return seq.name.rsplit("/", 1)[-1]  # 'sr/bbb_05' -> 'bbb_05'


def _split_val(cfg: ExperimentConfig) -> tuple[list, list]:
    """(training sequences, validation sequences): `data.val_clips` taken out of the training split."""
    seqs = get_sequences(cfg.data.dataset, cfg.data.root, cfg.model.task, "train")
    names = set(cfg.data.val_clips or ())
    unknown = names - {_clip_name(s) for s in seqs}
    if unknown:
        raise ValueError(f"data.val_clips: {sorted(unknown)} are not training clips of {cfg.data.dataset} "
                         f"({cfg.data.root}, task {cfg.model.task}); known: {', '.join(_clip_name(s) for s in seqs)}")
    train = [s for s in seqs if _clip_name(s) not in names]
    if cfg.data.extra_train:  # extra clips train only
        from ..data.camera_paths import extra_train_sequences
        train += extra_train_sequences(cfg.data.extra_train, cfg.model.task)
    return train, [s for s in seqs if _clip_name(s) in names]


def build_train_sequences(cfg: ExperimentConfig):
    """The training split of `cfg`'s dataset, without the clips held out for validation (`data.val_clips`)."""
    return _split_val(cfg)[0]


def build_val_sequences(cfg: ExperimentConfig):
    """The validation clips (`data.val_clips`, held out of training), or the test clips when there are none."""
    return _split_val(cfg)[1] if cfg.data.val_clips else build_test_sequences(cfg)


def build_train_dataset(cfg: ExperimentConfig, sequences=None, flows=None) -> EpochKeyed:
    """The training clips of `cfg` (`sequences`: default :func:`build_train_sequences`); `flows`, a
    `s2svr.train.flow_bank.FlowBank` of those sequences, adds each clip's precomputed flows."""
    d = cfg.data
    seqs = build_train_sequences(cfg) if sequences is None else sequences
    return EpochKeyed(PairedClipDataset(seqs, num_frames=d.num_frames, patch_size=d.patch_size,
                                        mode=data_mode(cfg), seed=cfg.seed, augment=True, flows=flows))


def build_test_sequences(cfg: ExperimentConfig):
    return get_sequences(cfg.data.dataset, cfg.data.root, cfg.model.task, "test")


def collate_clips(items: list[dict]) -> dict:
    """Stack clips into `(B, T, C, H, W)`; names and starts stay lists."""
    out = {"frames_lq": torch.stack([it["frames_lq"] for it in items]),
           "frames_gt": torch.stack([it["frames_gt"] for it in items]),
           "name": [it["name"] for it in items], "start": [it["start"] for it in items]}
    for k in ("flow_fw", "flow_bw"):  # precomputed flows (a frozen flow net, s2svr.train.flow_bank)
        if k in items[0]:
            out[k] = torch.stack([it[k] for it in items])
    return out
