"""Classical optical flow (OpenCV's DIS and Farneback) with PWC-Lite's calling convention.

Explained in the book's chapter `notebooks/distillation.py`: they need no training, so they are the rows a
learned flow must beat beside zero flow, and `flow_net=DISFlow()` gives S2SVR motion compensation that
involves no learning at all (a Table 4 control that, unlike RAFT, runs offline).

Both estimate on grey frames (BT.601 luma, 8 bit) one pair at a time on the CPU and return float32 flows
`(B, 2, H, W)` in pixels, channel 0 = x, from frame 1 to frame 2 (`flow_warp(img2, flow) ~ img1`), so they
slot in wherever PWC-Lite does. No gradient flows through them.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..metrics import BT601_Y

# BT.601 luma as full-range weights (0.299, 0.587, 0.114): the grey image the classical methods see
_LUMA = tuple(c / sum(BT601_Y) for c in BT601_Y)


def _grey_u8(img: torch.Tensor) -> list[np.ndarray]:
    """`(B, C, H, W)` frames in [0, 1] -> B uint8 `(H, W)` grey images."""
    x = img.detach().float().cpu()
    if x.shape[1] == 3:
        x = sum(w * x[:, c] for c, w in enumerate(_LUMA))
    else:
        x = x[:, 0]
    return [np.ascontiguousarray((x[b].clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)) for b in range(x.shape[0])]


class _OpenCVFlow(nn.Module):
    """Base: subclasses implement `_pair(grey1, grey2) -> (H, W, 2)` float32 flow from 1 to 2."""

    def _pair(self, g1: np.ndarray, g2: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _flow(self, img1: torch.Tensor, img2: torch.Tensor) -> torch.Tensor:
        flows = [self._pair(a, b) for a, b in zip(_grey_u8(img1), _grey_u8(img2))]
        return torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2).to(img1.device, torch.float32)

    @torch.no_grad()
    def forward(self, img1: torch.Tensor, img2: torch.Tensor, with_bw: bool = False, work_size=None):
        """Flow img1 -> img2 `(B, 2, H, W)`; also img2 -> img1 with `with_bw`. `work_size` is ignored."""
        if img1.dim() != 4 or img1.shape != img2.shape:
            raise ValueError(f"expected two equal (B,C,H,W) frames, got {tuple(img1.shape)} and {tuple(img2.shape)}")
        fw = self._flow(img1, img2)
        return (fw, self._flow(img2, img1)) if with_bw else fw


class DISFlow(_OpenCVFlow):
    """Dense Inverse Search (Kroeger et al., 2016), OpenCV preset 'medium' by default ('ultrafast', 'fast')."""

    PRESETS = ("ultrafast", "fast", "medium")

    def __init__(self, preset: str = "medium"):
        super().__init__()
        if preset not in self.PRESETS:
            raise ValueError(f"DISFlow preset must be one of {self.PRESETS}, got {preset!r}")
        self.preset = preset

    def _pair(self, g1, g2):
        import cv2
        code = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}[self.preset]
        return cv2.DISOpticalFlow_create(code).calc(g1, g2, None).astype(np.float32)


class FarnebackFlow(_OpenCVFlow):
    """Farneback's polynomial-expansion flow (2003), OpenCV's commonly used parameters."""

    def _pair(self, g1, g2):
        import cv2
        return cv2.calcOpticalFlowFarneback(g1, g2, None, pyr_scale=0.5, levels=4, winsize=15, iterations=3,
                                            poly_n=5, poly_sigma=1.2, flags=0).astype(np.float32)
