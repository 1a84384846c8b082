"""A frozen flow net's flows, computed once per training sequence instead of once per training step.

When the flow net stays frozen for the whole run (`train.flow_freeze_iters >= train.iters`, the cpu
profile), every step would run it again on frames it has already seen: at the cpu size that is about a
third of an S2SVR step. `FlowBank.compute` runs it once on the whole LQ frames of every training sequence;
`s2svr.data.clips.PairedClipDataset` then crops and augments each clip's flows with its frames, and the
trainer hands them to the model (`model(lq, flows=...)`).

The flows are those of the whole frames, as at test time, not of the crop: PWC-Lite sees the context
around a crop, and the crop's border gets the same flow it would have inside the frame.
"""
from __future__ import annotations

import numpy as np
import torch

from ..data.clips import to_tensor
from ..models.motion import estimate_flow_pair


class FlowBank:
    """Per sequence `k`: `fw[k][i]` = F_o(x_i, x_{i+1}) and `bw[k][i]` = F_o(x_{i+1}, x_i), `(n-1, 2, H, W)`
    float32 numpy arrays in LQ pixels (`s2svr.models.motion` naming)."""

    def __init__(self, fw: list, bw: list):
        self.fw, self.bw = fw, bw

    @classmethod
    @torch.no_grad()
    def compute(cls, flow_net, sequences, mode: str, flow_size=None, device="cpu", chunk: int = 8) -> "FlowBank":
        was_training = flow_net.training
        flow_net.eval()
        fw, bw = [], []
        try:
            for seq in sequences:
                frames = to_tensor(seq.lq.read(list(range(len(seq))), mode)).to(device)  # (n, C, H, W)
                f_list, b_list = [], []
                for i in range(0, len(seq) - 1, chunk):
                    j = min(i + chunk, len(seq) - 1)
                    f, b = estimate_flow_pair(flow_net, frames[i:j], frames[i + 1:j + 1], flow_size, with_fw=True)
                    f_list.append(f.float().cpu())
                    b_list.append(b.float().cpu())
                empty = torch.zeros(0, 2, *frames.shape[-2:])
                fw.append(torch.cat(f_list or [empty]).numpy())
                bw.append(torch.cat(b_list or [empty]).numpy())
        finally:
            flow_net.train(was_training)
        return cls(fw, bw)

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
