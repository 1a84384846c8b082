"""Frame pairs for Algorithm 1: random aligned HQ/LQ crops, reproducible from (seed, step).

Explained in `notebooks/distillation.py`. Both steps of
Algorithm 1 see the same pairs: the teacher the HQ frames (y1, y2), the student the LQ frames (x1, x2)
of the same crop. A pair is a dict with::

    'hq1', 'hq2': HQ frames, 'lq1', 'lq2': LQ frames (same size, or 1/scale for SR)
        (or 'frames_gt', 'frames_lq': both frames stacked `(2, H, W, C)`, as `embedded_flow_pairs` gives),
    optional 'flow_fw', 'flow_bw' (ground truth at HQ size, pixels) and 'occlusion' (1 = occluded),

as NumPy (`(H, W, C)` uint8 or float in [0, 1]; flows `(H, W, 2)` or `(2, H, W)`) or torch (`(C, H, W)`)
arrays, e.g. from `s2svr.data.embedded.embedded_flow_pairs`, or read lazily from `VideoSequence`s by
:class:`SequencePairs`.
A batch is `{'hq1', 'hq2', 'lq1', 'lq2': (B, C, H, W) float in [0, 1]}` plus, when every pair has them,
`'flow_gt'`, `'flow_gt_bw'` `(B, 2, H, W)` and `'occ_gt'` `(B, 1, H, W)` at HQ size.

Batch `k` is drawn from `np.random.default_rng([seed, k])`, so a resumed run sees exactly the batches an
uninterrupted run would have seen.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch

FRAME_KEYS = ("hq1", "hq2", "lq1", "lq2")
SWAPPED = {"hq1": "hq2", "hq2": "hq1", "lq1": "lq2", "lq2": "lq1", "flow_fw": "flow_bw", "flow_bw": "flow_fw",
           "occlusion": "occ_bw", "occ_bw": "occlusion"}


def _frame(a) -> torch.Tensor:
    """`(H, W, C)` NumPy (uint8 0-255 or float 0-1) or `(C, H, W)` tensor -> float32 `(C, H, W)` in [0, 1]."""
    if isinstance(a, torch.Tensor):
        t = a.float()
        return t.unsqueeze(0) if t.dim() == 2 else t
    a = np.asarray(a)
    scale = 255.0 if a.dtype == np.uint8 else 1.0
    if a.ndim == 2:
        a = a[..., None]
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32) / scale).permute(2, 0, 1)


def _field(a, channels: int) -> torch.Tensor:
    """A flow `(H, W, 2)` / occlusion `(H, W)` or `(H, W, 1)` array -> float32 `(channels, H, W)`."""
    if isinstance(a, torch.Tensor):
        t = a.float()
        if t.dim() == 2:
            return t.unsqueeze(0)
        return t if t.shape[0] == channels else t.permute(2, 0, 1)
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[0] == channels and a.shape[-1] != channels:  # already channels-first
        return torch.from_numpy(np.ascontiguousarray(a))
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)


def normalise_pair(pair: dict) -> dict:
    """A pair dict as float tensors `(C, H, W)`; flows `(2, H, W)`, occlusion `(1, H, W)`. Idempotent."""
    if "frames_gt" in pair and "hq1" not in pair:  # the embedded flow set's layout: (2, H, W, C) stacks
        pair = {**pair, "hq1": pair["frames_gt"][0], "hq2": pair["frames_gt"][1],
                "lq1": pair["frames_lq"][0], "lq2": pair["frames_lq"][1]}
    missing = [k for k in FRAME_KEYS if k not in pair]
    if missing:
        raise KeyError(f"flow pair lacks {missing}; it has {sorted(pair)}")
    out = {k: _frame(pair[k]) for k in FRAME_KEYS}
    for k in ("flow_fw", "flow_bw"):
        if pair.get(k) is not None:
            out[k] = _field(pair[k], 2)
    if pair.get("occlusion") is not None:
        out["occlusion"] = _field(pair["occlusion"], 1)
    if pair.get("occ_bw") is not None:
        out["occ_bw"] = _field(pair["occ_bw"], 1)
    hq, lq = out["hq1"].shape[-2:], out["lq1"].shape[-2:]
    if hq[0] % lq[0] or hq[1] % lq[1] or hq[0] // lq[0] != hq[1] // lq[1]:
        raise ValueError(f"HQ size {tuple(hq)} is not an integer multiple of LQ size {tuple(lq)}")
    return out


class SequencePairs(Sequence):
    """All consecutive frame pairs (t, t+1) of a list of `VideoSequence` objects, read lazily as pair dicts."""

    def __init__(self, sequences: Sequence, mode: str = "rgb", index: list | None = None):
        self.sequences, self.mode = list(sequences), mode
        self.index = [(i, t) for i, s in enumerate(self.sequences) for t in range(len(s) - 1)] if index is None \
            else list(index)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k):
        if isinstance(k, slice):  # the first pairs, still read lazily (`flow.eval_pairs` of a real dataset)
            return SequencePairs(self.sequences, self.mode, self.index[k])
        i, t = self.index[k]
        seq = self.sequences[i]
        hq, lq = seq.gt.read([t, t + 1], self.mode), seq.lq.read([t, t + 1], self.mode)  # (2, H, W, C) uint8
        return {"hq1": hq[0], "hq2": hq[1], "lq1": lq[0], "lq2": lq[1]}


def _flip_field(t: torch.Tensor, dim: int, negate: int | None) -> torch.Tensor:
    t = t.flip(dim)
    if negate is not None:  # a mirrored flow points the other way along that axis
        t = t.clone()
        t[negate] = -t[negate]
    return t


def _dihedral(item: dict, vflip: bool, transpose: bool) -> dict:
    """A vertical flip and / or a transpose of every field of a crop; flows keep pointing between the frames."""
    out = {}
    for k, v in item.items():
        if vflip:
            v = _flip_field(v, -2, 1 if k.startswith("flow") else None)
        if transpose:
            v = v.transpose(-1, -2)
            if k.startswith("flow"):
                v = v.flip(0)  # (u, v) -> (v, u)
        out[k] = v
    return out


def _jitter(item: dict, b: float, log_c: float, log_g: float) -> dict:
    """The same brightness / contrast / gamma change on every frame of a crop (HQ and LQ alike)."""
    c, g = math.exp(log_c), math.exp(log_g)
    return {k: (((v - 0.5) * c + 0.5 + b).clamp(0, 1) ** g if k in FRAME_KEYS else v) for k, v in item.items()}


class PairBatches:
    """Endless batches of random aligned crops (HQ `patch_size`, LQ `patch_size / scale`) from `pairs`.

    Args:
        pairs: a list of pair dicts (normalised once, up front) or any indexable of them (e.g. SequencePairs).
        batch_size: pairs per batch (drawn with replacement).
        patch_size: HQ crop side; clipped to the smallest frame of the batch, rounded down to the scale.
        seed: batches are a function of (seed, step) only.
        flip: horizontal flip with probability 1/2 (ARFlow's `hflip`), flows mirrored and u negated.
        weights: optional sampling weight per pair (default: uniform).
        swap: exchange the two frames with probability 1/2 (ARFlow's `swap`), and with them the forward and
            backward ground truth; the network must then find motion in both orders.
        dihedral: with `flip`, also a vertical flip and a transpose, each with probability 1/2 (the 8 symmetries
            of the square); flows follow (v negated; u and v exchanged).
        jitter: photometric jitter of amplitude j, the same for both frames of a pair (brightness constancy
            holds): `x -> ((x - 0.5) c + 0.5 + b) ** g`, b in [-j, j], c and g in [e^-j, e^j], clipped to [0, 1].
    """

    def __init__(self, pairs, batch_size: int, patch_size: int, seed: int = 0, flip: bool = False,
                 swap: bool = False, weights=None, dihedral: bool = False, jitter: float = 0.0):
        if len(pairs) == 0:
            raise ValueError("PairBatches needs at least one pair")
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != (len(pairs),) or (w < 0).any() or w.sum() <= 0:
                raise ValueError(f"PairBatches: weights must be {len(pairs)} non-negative numbers, not all 0")
            self.p = w / w.sum()
        else:
            self.p = None
        self.pairs = [normalise_pair(p) for p in pairs] if isinstance(pairs, list) else pairs
        self.batch_size, self.patch_size, self.seed, self.flip = int(batch_size), int(patch_size), int(seed), flip
        self.swap = swap
        self.dihedral, self.jitter = bool(dihedral), float(jitter)
        if self.jitter < 0:
            raise ValueError(f"PairBatches: jitter must be >= 0, got {jitter}")

    def batch(self, step: int) -> dict:
        rng = np.random.default_rng([self.seed, int(step)])
        idx = (rng.integers(0, len(self.pairs), self.batch_size) if self.p is None
               else rng.choice(len(self.pairs), self.batch_size, p=self.p))
        chosen = [normalise_pair(self.pairs[int(i)]) for i in idx]
        scale = chosen[0]["hq1"].shape[-1] // chosen[0]["lq1"].shape[-1]
        hmin = min(p["hq1"].shape[-2] for p in chosen)
        wmin = min(p["hq1"].shape[-1] for p in chosen)
        ph = min(self.patch_size, hmin) // scale * scale
        pw = min(self.patch_size, wmin) // scale * scale
        items = []
        for p in chosen:
            h, w = p["hq1"].shape[-2:]
            y = int(rng.integers(0, (h - ph) // scale + 1)) * scale  # LQ-aligned corner
            x = int(rng.integers(0, (w - pw) // scale + 1)) * scale
            flip = bool(self.flip and rng.random() < 0.5)
            item = {}
            for k, v in p.items():
                s = scale if k.startswith("lq") else 1
                crop = v[..., y // s:(y + ph) // s, x // s:(x + pw) // s]
                if flip:
                    crop = _flip_field(crop, -1, 0 if k.startswith("flow") else None)
                item[k] = crop
            if self.swap and rng.random() < 0.5:
                item = {SWAPPED.get(k, k): v for k, v in item.items()}
            if self.flip and self.dihedral:  # drawn only when on, so the other options' batches stay as they were
                item = _dihedral(item, *(rng.random(2) < 0.5))
            if self.jitter > 0:
                item = _jitter(item, *rng.uniform(-self.jitter, self.jitter, 3))
            items.append(item)
        out = {k: torch.stack([it[k] for it in items]) for k in FRAME_KEYS}
        for k, name in (("flow_fw", "flow_gt"), ("flow_bw", "flow_gt_bw"), ("occlusion", "occ_gt")):
            if all(k in it for it in items):
                out[name] = torch.stack([it[k] for it in items])
        return out

    def iterate(self, start: int = 0) -> Iterator[dict]:
        step = int(start)
        while True:
            yield self.batch(step)
            step += 1

    def __iter__(self) -> Iterator[dict]:
        return self.iterate(0)


def pair_batches(pairs, batch_size: int, patch_size: int, seed: int = 0, flip: bool = False,
                 swap: bool = False) -> PairBatches:
    """Batch iterator over pair dicts; see :class:`PairBatches`."""
    return PairBatches(pairs, batch_size, patch_size, seed=seed, flip=flip, swap=swap)


def load_flow_pairs(cfg, split: str = "train", video: bool | None = None):
    """The pairs of `cfg.data`: the embedded flow set (with ground truth) or a dataset's consecutive frames.

    On the embedded data, `video` (default `cfg.flow.train_video > 0` for the train split) adds every consecutive
    pair of the task's own clips of real footage (no ground truth: for the unsupervised stages only), each with
    `real_footage=True`; `pair_weights` samples them as `cfg.flow.train_video` of a batch.
    """
    if cfg.data.dataset == "embedded":
        from .embedded import embedded_flow_pairs, embedded_sequences
        degradation = {"sr": "sr", "deblur": "blur", "vqe": "vqe"}[cfg.model.task]
        pairs = embedded_flow_pairs(cfg.data.root, split, degradation)
        if video is None:
            video = split == "train" and cfg.flow.train_video > 0
        if video:
            seqs = embedded_sequences(cfg.data.root, cfg.model.task, split)
            real = SequencePairs(seqs, mode="rgb")  # RGB like the flow clips, so both stack into one batch
            pairs = pairs + [{**real[k], "real_footage": True} for k in range(len(real))]
        return pairs
    from .registry import get_sequences
    seqs = get_sequences(cfg.data.dataset, cfg.data.root, cfg.model.task, split)
    return SequencePairs(seqs, mode="y" if cfg.model.task == "vqe" else "rgb")


def truth_pairs(cfg, split: str = "test"):
    """Pairs with ground-truth flow for `cfg`'s task: :func:`load_flow_pairs` on the embedded data; on a real dataset,
    which has none (REDS, Vimeo-90K, GOPRO, MFQEv2), the embedded flow set's pairs of the task's degradation (its
    root `s2svr.data.embedded.DEFAULT_ROOT`), the only ones an endpoint error can be measured on."""
    if cfg.data.dataset == "embedded":
        return load_flow_pairs(cfg, split, video=False)
    from .embedded import DEFAULT_ROOT, embedded_flow_pairs
    return embedded_flow_pairs(DEFAULT_ROOT, split, {"sr": "sr", "deblur": "blur", "vqe": "vqe"}[cfg.model.task])


def pair_weights(pairs, real_fraction: float):
    """Sampling weights that draw real-footage pairs (`real_footage=True`) as `real_fraction` of a batch; None
    (uniform) when there are none or the fraction is 0."""
    real = np.array([bool(p.get("real_footage")) for p in pairs])
    if real_fraction <= 0 or not real.any() or real.all():
        return None
    if not 0 < real_fraction < 1:
        raise ValueError(f"flow.train_video must be a fraction in [0, 1), got {real_fraction}")
    return np.where(real, real_fraction / real.sum(), (1 - real_fraction) / (~real).sum())
