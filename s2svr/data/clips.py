"""Training samples (random aligned clips) and evaluation samples (whole sequences) over lists of `VideoSequence`.

Explained in `notebooks/data.py`. A training sample is what Sec. 4.1 trains on:
`num_frames` consecutive frames (15 for REDS, 7 for Vimeo and GOPRO), an LQ crop of `patch_size`
(64 for SR, so a 256 GT crop) at the same place in every frame, and one augmentation (horizontal flip,
vertical flip, transpose, each with probability 1/2, as BasicSR's `augment`) applied to the whole
clip, LQ and GT alike, so that motion between frames stays consistent.

Reproducibility: sample `index` of epoch `epoch` draws everything from
`np.random.default_rng([seed, epoch, index])`, so it does not depend on the number of DataLoader
workers or on the order in which they ask. `set_epoch` changes the draw; with `persistent_workers=True`
the workers keep their own copy of the dataset, so call `set_epoch` only with non-persistent workers
(the default), before iterating the loader.

Clips longer than the sequence are mirrored in time (0, 1, ..., n-1, n-2, ..., 0, 1, ...), the
reflection BasicVSR uses for short inputs, so every frame in the clip is a real frame and the motion
stays plausible; a 1-frame sequence is repeated.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset


def clip_indices(length: int, start: int, num_frames: int) -> list:
    """Frame indices of a clip of `num_frames` from `start` in a sequence of `length`, mirrored past the end."""
    if length <= 0:
        raise ValueError("empty sequence")
    if length == 1:
        return [0] * num_frames
    period = 2 * (length - 1)
    out = []
    for t in range(start, start + num_frames):
        k = t % period
        out.append(k if k < length else period - k)
    return out


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 `(T, H, W, C)` -> float32 `(T, C, H, W)` in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(255.0)


def augment_clip(frames: np.ndarray, hflip: bool, vflip: bool, transpose: bool) -> np.ndarray:
    """The same flips / transpose on every frame of `(T, H, W, C)` (transpose swaps H and W)."""
    if hflip:
        frames = frames[:, :, ::-1]
    if vflip:
        frames = frames[:, ::-1]
    if transpose:
        frames = frames.transpose(0, 2, 1, 3)
    return frames


def augment_flow(flow: np.ndarray, hflip: bool, vflip: bool, transpose: bool) -> np.ndarray:
    """The flips / transpose of :func:`augment_clip` on flows `(N, 2, H, W)` (pixels, channel 0 = x), so that
    they stay the flows between the augmented frames: a flip mirrors the field and negates its component
    along the flip, the transpose swaps both the axes and the two components."""
    if hflip:
        flow = flow[..., ::-1] * np.array([-1, 1], np.float32)[:, None, None]
    if vflip:
        flow = flow[..., ::-1, :] * np.array([1, -1], np.float32)[:, None, None]
    if transpose:
        flow = flow.transpose(0, 1, 3, 2)[:, ::-1]
    return flow


class PairedClipDataset(Dataset):
    """Random aligned LQ/GT clips for training.

    Args:
        sequences: the training `VideoSequence`s (see `s2svr.data.registry.get_sequences`).
        num_frames: clip length T.
        patch_size: LQ crop size h = w (GT crop is `scale * patch_size`); None keeps whole frames.
        mode: 'rgb' (C = 3) or 'y' (C = 1, the compressed-video task).
        seed: base seed; sample i of epoch e is a pure function of (seed, e, i).
        augment: random flips and transpose.
        repeat: the dataset has `repeat * len(sequences)` samples; sample i uses sequence i mod N.
        flows: optional precomputed LQ flows of the whole sequences (`s2svr.train.flow_bank.FlowBank`): each
            sample then also holds its clip's `flow_fw`, `flow_bw` `(T-1, 2, h, w)`, cropped and augmented
            with the frames (and, where the clip is mirrored in time, the two directions swapped).

    Returns dicts `{'frames_lq': (T, C, h, w), 'frames_gt': (T, C, s*h, s*w), 'name': str, 'start': int}`,
    float32 in [0, 1].
    """

    def __init__(self, sequences: Sequence, num_frames: int, patch_size: Optional[int] = 64, mode: str = "rgb",
                 seed: int = 0, augment: bool = True, repeat: int = 1, flows=None):
        if not sequences:
            raise ValueError("PairedClipDataset needs at least one sequence")
        if mode not in ("rgb", "y"):
            raise ValueError(f"mode must be 'rgb' or 'y', got {mode!r}")
        self.sequences = list(sequences)
        self.num_frames = int(num_frames)
        self.patch_size = patch_size
        self.mode = mode
        self.seed = int(seed)
        self.augment = augment
        self.repeat = int(repeat)
        self.flows = flows
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.sequences) * self.repeat

    def __getitem__(self, index: int) -> dict:
        seq = self.sequences[index % len(self.sequences)]
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        # Every draw happens, in this order, whatever the branch, so one draw never shifts another.
        u_start, u_top, u_left = rng.random(3)
        flips = rng.random(3) < 0.5
        n = len(seq)
        start = int(u_start * (max(n - self.num_frames, 0) + 1))
        idx = clip_indices(n, start, self.num_frames)
        lq = seq.lq.read(idx, self.mode)    # (T, h, w, C) uint8
        gt = seq.gt.read(idx, self.mode)    # (T, s*h, s*w, C)
        s = seq.scale
        h, w = lq.shape[1:3]
        if gt.shape[1:3] != (s * h, s * w):
            from .video_io import VideoIOError  # a ValueError naming the LQ folder: one line in the CLI
            raise VideoIOError(seq.lq.path, f"LQ frames are {w}x{h}, GT frames ({seq.gt.path}) {gt.shape[2]}x"
                                            f"{gt.shape[1]}: expected LQ = GT/{s}")
        flows = self.flows.clip(index % len(self.sequences), idx) if self.flows is not None else None
        if self.patch_size is not None:
            p = self.patch_size
            if h < p or w < p:
                raise ValueError(f"{seq.name}: LQ frames {h}x{w} are smaller than patch_size {p}")
            top = int(u_top * (h - p + 1))
            left = int(u_left * (w - p + 1))
            lq = lq[:, top:top + p, left:left + p]
            gt = gt[:, s * top:s * (top + p), s * left:s * (left + p)]
            if flows is not None:
                flows = [f[..., top:top + p, left:left + p] for f in flows]
        if self.augment:
            lq = augment_clip(lq, *flips)
            gt = augment_clip(gt, *flips)
            if flows is not None:
                flows = [augment_flow(f, *flips) for f in flows]
        out = {"frames_lq": to_tensor(lq), "frames_gt": to_tensor(gt), "name": seq.name, "start": start}
        if flows is not None:
            out["flow_fw"], out["flow_bw"] = (torch.from_numpy(np.ascontiguousarray(f)) for f in flows)
        return out


class SequenceDataset(Dataset):
    """Whole sequences for evaluation, one sample per `VideoSequence` (optionally its first `num_frames`).

    Returns `{'frames_lq': (T, C, h, w), 'frames_gt': (T, C, s*h, s*w), 'name': str, 'start': 0}`, float32
    in [0, 1]. GT values are exact multiples of 1/255, so `metrics.to_uint8` gives back the stored frames.
    """

    def __init__(self, sequences: Sequence, mode: str = "rgb", num_frames: Optional[int] = None):
        if mode not in ("rgb", "y"):
            raise ValueError(f"mode must be 'rgb' or 'y', got {mode!r}")
        self.sequences = list(sequences)
        self.mode = mode
        self.num_frames = num_frames

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> dict:
        seq = self.sequences[index]
        n = len(seq) if self.num_frames is None else min(len(seq), self.num_frames)
        idx = list(range(n))
        return {"frames_lq": to_tensor(seq.lq.read(idx, self.mode)),
                "frames_gt": to_tensor(seq.gt.read(idx, self.mode)), "name": seq.name, "start": 0}
