"""A frozen flow net's flows, computed once per training sequence instead of once per training step.

When the flow net stays frozen for the whole run (`train.flow_freeze_iters >= train.iters`, the cpu
profile), every step would run it again on frames it has already seen: at the cpu size that is about a
third of an S2SVR step. `FlowBank.compute` runs it once on the whole LQ frames of every training sequence;
`s2svr.data.clips.PairedClipDataset` then crops and augments each clip's flows with its frames, and the
trainer hands them to the model (`model(lq, flows=...)`).

The flows are those of the whole frames, as at test time, not of the crop: PWC-Lite sees the context
around a crop, and the crop's border gets the same flow it would have inside the frame.

`FlowBank.cached` keeps a bank on disk, named by what determines it (the flow net's weights and arch, the frames,
the mode): restorers that share a flow net (BasicVSR and S2SVR on one student) compute it once, and so does every
validation of a run whose flow net is frozen. At the cpu profile's zoom the flow net costs more than the restorer.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from ..data.clips import to_tensor
from ..models.motion import estimate_flow_pair
from ..utils import lock_file


class FlowBank:
    """Per sequence `k`: `fw[k][i]` = F_o(x_i, x_{i+1}) and `bw[k][i]` = F_o(x_{i+1}, x_i), `(n-1, 2, H, W)`
    float32 numpy arrays in LQ pixels (`s2svr.models.motion` naming)."""

    def __init__(self, fw: list, bw: list):
        self.fw, self.bw = fw, bw

    @classmethod
    @torch.no_grad()
    def compute(cls, flow_net, sequences, mode: str, flow_size=None, device="cpu", chunk: int = 8,
                max_frames: int | None = None) -> "FlowBank":
        was_training = flow_net.training
        flow_net.eval()
        fw, bw = [], []
        try:
            for seq in sequences:
                n = _frames(seq, max_frames)
                frames = to_tensor(seq.lq.read(list(range(n)), mode)).to(device)  # (n, C, H, W)
                f_list, b_list = [], []
                for i in range(0, n - 1, chunk):
                    j = min(i + chunk, n - 1)
                    f, b = estimate_flow_pair(flow_net, frames[i:j], frames[i + 1:j + 1], flow_size, with_fw=True)
                    f_list.append(f.float().cpu())
                    b_list.append(b.float().cpu())
                empty = torch.zeros(0, 2, *frames.shape[-2:])
                fw.append(torch.cat(f_list or [empty]).numpy())
                bw.append(torch.cat(b_list or [empty]).numpy())
        finally:
            flow_net.train(was_training)
        return cls(fw, bw)

    @classmethod
    def cached(cls, flow_net, sequences, mode: str, flow_size=None, device="cpu",
               cache_dir: str | Path | None = None, max_frames: int | None = None) -> "FlowBank":
        """`compute`, or its earlier result from `cache_dir` (None: no cache). Processes that ask for the same bank
        at once wait for the first one (a file lock) instead of computing it twice. `max_frames`: only each
        sequence's first frames (a test set cut short, `data.test_frames`)."""
        if cache_dir is None:
            return cls.compute(flow_net, sequences, mode, flow_size, device=device, max_frames=max_frames)
        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        name = bank_key(flow_net, sequences, mode, flow_size, max_frames)
        path = cache_dir / f"{name}.npz"
        with open(cache_dir / f"{name}.lock", "w") as lock:
            lock_file(lock)
            if path.is_file():
                try:
                    return cls.load(path, len(sequences))
                except (OSError, ValueError, KeyError):  # a damaged file is computed again
                    pass
            bank = cls.compute(flow_net, sequences, mode, flow_size, device=device, max_frames=max_frames)
            tmp = path.with_name(path.stem + ".tmp.npz")
            np.savez(tmp, **{f"{d}{k}": a for d, arrays in (("fw", bank.fw), ("bw", bank.bw))
                             for k, a in enumerate(arrays)})
            os.replace(tmp, path)
            return bank

    @classmethod
    def load(cls, path: str | Path, n: int) -> "FlowBank":
        with np.load(path) as z:
            return cls([z[f"fw{k}"] for k in range(n)], [z[f"bw{k}"] for k in range(n)])

    def clip(self, k: int, idx) -> tuple[np.ndarray, np.ndarray]:
        """(flow_fw, flow_bw) `(T-1, 2, H, W)` of sequence `k`'s clip of frame indices `idx` (consecutive,
        mirrored in time or repeated, `s2svr.data.clips.clip_indices`)."""
        fw, bw = self.fw[k], self.bw[k]  # (n-1, 2, H, W), also for n = 1
        out_fw, out_bw = [], []
        for a, b in zip(idx[:-1], idx[1:]):
            if b == a + 1:
                out_fw.append(fw[a])
                out_bw.append(bw[a])
            elif b == a - 1:  # mirrored in time: F(x_a, x_{a-1}) is the backward flow of pair (a-1, a)
                out_fw.append(bw[b])
                out_bw.append(fw[b])
            elif a == b:      # a 1-frame sequence repeated: no motion
                zero = np.zeros(fw.shape[1:], np.float32)
                out_fw.append(zero)
                out_bw.append(zero)
            else:
                raise ValueError(f"clip indices {list(idx)} are not consecutive")
        return np.stack(out_fw), np.stack(out_bw)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.fw + self.bw)


def _frames(seq, max_frames: int | None) -> int:
    return len(seq) if max_frames is None else min(len(seq), max_frames)


def _net_settings(flow_net) -> dict:
    """The net's layers and its use, written as the arch was when it held the zoom and the padding (`zoom` unless 1,
    `pad` when set), so that the banks of a net at its training zoom keep the names they had then."""
    arch = flow_net.arch() if callable(getattr(flow_net, "arch", None)) else {}
    use = getattr(flow_net, "use", None)
    if use is not None:
        arch = {**arch, **({"zoom": use.zoom} if use.zoom != 1.0 else {}), **({"pad": True} if use.pad else {}),
                **({"max_side": use.max_side} if use.max_side is not None else {})}
    return arch


def bank_key(flow_net, sequences, mode: str, flow_size=None, max_frames: int | None = None) -> str:
    """What a bank is a function of: the flow net (class, arch, how it runs, weights), every sequence's LQ frames,
    the mode."""
    h = hashlib.sha256()
    h.update(json.dumps([type(flow_net).__name__, _net_settings(flow_net), mode, flow_size], sort_keys=True,
                        default=str).encode())
    for k, v in sorted(flow_net.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().contiguous().numpy().tobytes())
    for seq in sequences:
        h.update(np.ascontiguousarray(seq.lq.read(list(range(_frames(seq, max_frames))), mode)).tobytes())
    return h.hexdigest()[:20]
