"""Past the training clip: does a recurrent restorer keep its quality on frames further into a clip than any clip
it trained on?

The cpu restorers train on clips of `data.num_frames` frames (5) and are validated on whole clips (16-24 frames).
A recurrent state that grows with the frame index shows as frames restored worse the later they come. The probe
restores each validation clip twice with the same network: whole, and in consecutive pieces of the training
length, each piece from fresh states (:func:`windowed`). For S2SVR (paper layout) the first piece's frames are
restored the same either way but its last (which looks one frame ahead); the BasicVSR-style network also reads
the frames after, so its first piece differs too. Past the first piece, whole-clip restoration has more history to
draw on, so a network that uses it well gains there and one whose states drift loses. A frame-wise network scores
the same either way.

Explained in the chapter `notebooks/exp_study.py` ("Past the training clip").
"""
from __future__ import annotations

import numpy as np
import torch

from ..data.clips import to_tensor
from ..train.evaluate import metric_convention, restore_frames, to_uint8
from .memo import remember
from .per_frame import frame_psnr


def windowed(model, frames_lq: torch.Tensor, window: int) -> torch.Tensor:
    """`(T, C, H, W)` restored in consecutive pieces of `window` frames (the last one shorter), each from fresh
    states, the pieces put back in order."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    return torch.cat([restore_frames(model, frames_lq[i:i + window]) for i in range(0, len(frames_lq), window)])


def _profile(model, clips: list, window: int, conv: dict) -> dict:
    whole, pieces = [], []
    for lq, gt in clips:
        x = to_tensor(lq)
        whole.append(frame_psnr(to_uint8(restore_frames(model, x)), gt, conv))
        pieces.append(frame_psnr(to_uint8(windowed(model, x, window)), gt, conv))
    n = min(len(p) for p in whole)  # frame index t: the mean over clips of frame t's PSNR
    return {"window": window, "clips": len(clips),
            "whole": np.mean([p[:n] for p in whole], axis=0).tolist(),
            "windows": np.mean([p[:n] for p in pieces], axis=0).tolist()}


def horizon_profile(model, cfg, sequences) -> dict:
    """`{'window', 'clips', 'whole', 'windows'}`: per frame index t (up to the shortest clip), the PSNR of frame t,
    mean over `sequences`, restored whole and in pieces of the training length `cfg.data.num_frames`
    (:func:`windowed`). PSNR on Y for compressed video, as its Delta PSNR is measured (the difference of the two
    is the difference of their Delta PSNRs). Kept in the chapters' memo (`s2svr.report.memo`)."""
    from ..train.data import data_mode
    conv = metric_convention(cfg)
    conv = {**conv, "test_y": conv["test_y"] or conv["kind"] == "delta"}
    mode = data_mode(cfg)
    clips = []
    for seq in sequences:
        idx = list(range(len(seq) if cfg.data.test_frames is None else min(len(seq), cfg.data.test_frames)))
        clips.append((seq.lq.read(idx, mode=mode), seq.gt.read(idx, mode=mode)))
    with torch.no_grad():
        return remember(_profile, model, clips, cfg.data.num_frames, conv)


def horizon_row(profile: dict) -> dict:
    """The probe's numbers: mean PSNR whole and in pieces, over all frames and over those past the first piece."""
    whole, pieces, w = np.asarray(profile["whole"]), np.asarray(profile["windows"]), profile["window"]
    return {"whole": whole.mean(), "in pieces": pieces.mean(), "whole - pieces": (whole - pieces).mean(),
            "whole - pieces, past the first piece": (whole[w:] - pieces[w:]).mean() if len(whole) > w else np.nan}


def horizon_figure(profiles: dict, title: str = ""):
    """One panel per task: whole-clip minus piecewise PSNR against the frame index, a line per network
    (`profiles[task][label]` = :func:`horizon_profile`'s dict); the first piece's end marked."""
    import matplotlib.pyplot as plt
    tasks = [t for t in profiles if profiles[t]]
    if not tasks:
        return None
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for label, p in profiles[task].items():
            d = np.asarray(p["whole"]) - np.asarray(p["windows"])
            ax.plot(np.arange(len(d)), d, marker=".", label=label)
        w = next(iter(profiles[task].values()))["window"]
        ax.axvline(w - 0.5, color="grey", ls=":", lw=1)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(f"{task} (training clip: {w} frames)")
        ax.set_xlabel("frame index")
        ax.set_ylabel("PSNR whole - in pieces (dB)")
        ax.legend(fontsize=8)
    fig.suptitle((title + "; " if title else "") + "dotted line: the end of the first piece", fontsize=10)
    fig.tight_layout()
    return fig
