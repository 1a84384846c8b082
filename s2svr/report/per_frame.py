"""Per-frame PSNR of the restored test frames a run saved, and its plot (the Experiments chapters).

Used by `notebooks/exp_sr.py`, `notebooks/exp_deblur.py` and `notebooks/exp_vqe.py`: each frame scored with
`s2svr.metrics` under the run's own convention.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .. import metrics
from .runs import by_arch, method_label, restored_frames

def frame_psnr(restored: np.ndarray, gt: np.ndarray, convention: Mapping) -> np.ndarray:
    """PSNR of each frame `(T, H, W, C)` against its ground truth under a run's convention (RGB or Y, border
    crop); for compressed video (`kind='delta'`) the PSNR on the Y plane the deltas are made of."""
    test_y = bool(convention.get("test_y")) and restored.shape[-1] == 3
    crop = int(convention.get("crop_border", 0))
    return np.array([metrics.psnr(o, g, crop_border=crop, test_y=test_y) for o, g in zip(restored, gt)])

def per_frame_psnr(results: Mapping[str, dict], task: str, sequence: str, gt: np.ndarray):
    """DataFrame frames x methods of per-frame PSNR on `sequence` (identity = the bicubic / degraded input)."""
    import pandas as pd
    cols = {}
    for arch, r in by_arch(results, task).items():
        cols[method_label(task, arch)] = frame_psnr(restored_frames(r, sequence), gt, r["convention"])
    df = pd.DataFrame(cols)
    df.index.name = "frame"
    return df

def history_gain(per_frame, ours: str = "S2SVR", other: str = "single-frame"):
    """`ours - other` per-frame metric (a :func:`per_frame_psnr` DataFrame) on the first frame, where a
    recurrent model has no history yet, and averaged over the later frames."""
    import pandas as pd
    gain = per_frame[ours] - per_frame[other]
    rows = {"frame 0": float(gain.iloc[0])}
    if len(gain) > 1:
        rows[f"frames 1-{len(gain) - 1} (mean)"] = float(gain.iloc[1:].mean())
    return pd.DataFrame({f"{ours} - {other} (dB)": rows}).round(3)

def plot_per_frame(df, title: str, ylabel: str = "PSNR (dB)", show: bool = True):
    """Per-frame curves of :func:`per_frame_psnr`, one line per method."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    fig, ax = plt.subplots(figsize=(8.0, 3.4))
    for i, col in enumerate(df.columns):  # distinct markers: curves that coincide stay visible
        ax.plot(df.index, df[col], marker="osD^v"[i % 5], markersize=4, fillstyle="none" if i % 2 else "full",
                label=col, color=f"C{i}", linestyle="--" if i == 0 else "-")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("frame")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=len(df.columns), loc="upper center", bbox_to_anchor=(0.5, -0.2))
    fig.tight_layout()
    if not show:
        return fig
    plt.show()
    return None
