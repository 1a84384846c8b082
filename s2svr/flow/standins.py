"""Flow-network stand-ins with PWC-Lite's calling convention, for experiments that isolate the flow.

Used by the chapters `notebooks/attention.py` and `notebooks/motion.py`: passing
`flow_net=KnownFlow()` to `S2SVR` gives exact motion compensation on a synthetic clip of the embedded flow
set, `flow_net=ZeroFlow()` gives none.
"""
from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["KnownFlow", "ZeroFlow"]


class KnownFlow(nn.Module):
    """Answers the ground-truth flow between two adjacent frames of a registered clip.

    Frames are recognised by their exact content, so the network can call it with any frame pair of the
    clip in any batch order; a pair that is not adjacent (or an unknown frame) is an error.
    """

    def set_clip(self, frames_lq: torch.Tensor, flow_fw: torch.Tensor, flow_bw: torch.Tensor) -> None:
        """frames_lq `(B, T, C, H, W)`; flow_fw[:, k] maps k -> k+1, flow_bw[:, k] maps k+1 -> k, `(B, T-1, 2, H, W)`."""
        self.flow_fw, self.flow_bw = flow_fw, flow_bw
        self.index = {self._key(frames_lq[b, k]): (b, k)
                      for b in range(frames_lq.shape[0]) for k in range(frames_lq.shape[1])}

    @staticmethod
    def _key(img: torch.Tensor) -> bytes:
        return img.detach().cpu().numpy().tobytes()

    def forward(self, img1, img2, with_bw: bool = False, work_size=None):
        fw, bw = [], []
        for n in range(img1.shape[0]):
            try:
                b1, k1 = self.index[self._key(img1[n])]
                b2, k2 = self.index[self._key(img2[n])]
            except KeyError:
                raise ValueError("KnownFlow: a frame that is not in the registered clip") from None
            if b1 != b2 or abs(k1 - k2) != 1:
                raise ValueError(f"KnownFlow: frames {k1} and {k2} are not adjacent frames of one clip")
            k = min(k1, k2)
            pair = (self.flow_fw[b1, k], self.flow_bw[b1, k])
            f, b = pair if k2 == k1 + 1 else pair[::-1]
            fw.append(f)
            bw.append(b)
        fw, bw = torch.stack(fw), torch.stack(bw)
        return (fw, bw) if with_bw else fw


class ZeroFlow(nn.Module):
    """Baseline flow network that always answers zero motion (no motion compensation)."""

    def forward(self, img1, img2, with_bw: bool = False, work_size=None):
        zero = img1.new_zeros(img1.shape[0], 2, *img1.shape[-2:])
        return (zero, zero.clone()) if with_bw else zero
