"""The comparison figures of the paper's Figs. 4-6, regenerated: the clip, the zoom box, the crops, the slider.

Used by `notebooks/exp_sr.py`, `notebooks/exp_deblur.py` and `notebooks/exp_vqe.py`. The clip and the zoom box
are chosen by rules that favour no method (:func:`pick_clip`, :func:`busiest_box`).
"""
from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import numpy as np

from .figures import figure_to_jpeg, to_numpy_image, zoom_box
from .per_frame import frame_psnr
from .runs import by_arch, method_label, reference_frames, restored_frames
from .scores import metric_keys

class ComparisonFrames(NamedTuple):
    """What a comparison figure and its slider show (see :func:`comparison_frames`)."""

    seq: str                      # the test sequence (:func:`pick_clip`)
    spread: float                 # max - min of the methods' main metric on it
    lq: np.ndarray                # its degraded frames, uint8 (T, h, w, C)
    gt: np.ndarray                # its ground truth, uint8 (T, H, W, C)
    outs: dict                    # method label -> restored uint8 stack
    t: int                        # the middle frame
    box: tuple                    # zoom box (top, left, h, w) of :func:`busiest_box`, a third of the frame
    conv: dict                    # the runs' metric convention

def comparison_frames(results: Mapping[str, dict], task: str) -> ComparisonFrames:
    """The clip, frames, restored stacks, middle frame, zoom box and convention of a task's comparison figure."""
    runs = by_arch(results, task)
    seq, spread = pick_clip(results, task)
    lq, gt = reference_frames(runs["s2svr"], seq)
    outs = {method_label(task, a): restored_frames(r, seq) for a, r in runs.items()}
    t = len(gt) // 2
    return ComparisonFrames(seq, spread, lq, gt, outs, t, busiest_box(gt[t], min(gt.shape[1:3]) // 3),
                            runs["s2svr"]["convention"])

def busiest_box(img: np.ndarray, size: int, stride: int | None = None) -> tuple:
    """`(top, left, size, size)` of the square window of `img` (uint8 `(H, W[, C])`) with the most detail
    (largest mean squared gradient of the mean channel): the zoom region of the comparison figures, chosen
    by a rule instead of by eye."""
    a = np.asarray(img, dtype=np.float64)
    a = a.mean(-1) if a.ndim == 3 else a
    h, w = a.shape
    size = min(size, h, w)
    energy = np.zeros_like(a)
    energy[:, 1:] += np.diff(a, axis=1) ** 2
    energy[1:, :] += np.diff(a, axis=0) ** 2
    integral = np.pad(energy, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    stride = stride or max(1, size // 4)
    best, box = -1.0, (0, 0, size, size)
    for top in range(0, h - size + 1, stride):
        for left in range(0, w - size + 1, stride):
            s = (integral[top + size, left + size] - integral[top, left + size]
                 - integral[top + size, left] + integral[top, left])
            if s > best:
                best, box = s, (top, left, size, size)
    return box

def _cmap(img) -> str:
    return "gray" if to_numpy_image(img).ndim == 2 else "magma"

def comparison_figure(full: tuple, crops: Sequence[tuple], box: tuple, factor: int = 4, show: bool = True,
                      dpi: int = 100):
    """The layout of the paper's Figs. 4-6: the whole frame `full = (image, title)` with the zoom box drawn on
    it, and below it the same box cropped from each of `crops = [(image, title), ...]` (e.g. input, each
    method, GT), enlarged `factor` times by pixel repetition. Single-channel images are shown in grey."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    n = len(crops)
    img = to_numpy_image(full[0])
    h, w = img.shape[:2]
    width = max(2.2 * n, 8.0)
    top_h = min(width * 0.6 * h / w, 5.0)
    fig = plt.figure(figsize=(width, top_h + 2.6))
    grid = fig.add_gridspec(2, n, height_ratios=[top_h, 2.3])
    ax = fig.add_subplot(grid[0, :])
    ax.imshow(img, cmap=_cmap(full[0]), vmin=0, vmax=1)
    t, l, bh, bw = box
    ax.add_patch(Rectangle((l - 0.5, t - 0.5), bw, bh, fill=False, edgecolor="red", linewidth=1.5))
    ax.set_title(full[1], fontsize=9)
    ax.axis("off")
    for i, (im, title) in enumerate(crops):
        ax = fig.add_subplot(grid[1, i])
        ax.imshow(zoom_box(im, box, factor), cmap=_cmap(im), vmin=0, vmax=1)
        ax.set_title(title, fontsize=8.5)
        ax.axis("off")
    fig.tight_layout()
    if not show:
        return fig
    from IPython.display import Image, display
    display(Image(figure_to_jpeg(fig, dpi=dpi), format="jpeg"))  # photographs: JPEG keeps pages small
    return None

def pick_clip(results: Mapping[str, dict], task: str) -> tuple:
    """(sequence, spread): the test sequence on which the methods' main metric differs the most (max - min
    over methods), the clip of the comparison figures: a rule that does not favour any one method."""
    runs = by_arch(results, task)
    key = metric_keys(next(iter(runs.values())))[0]
    seqs = list(runs["s2svr"]["per_sequence"])
    spread = {s: max(r["per_sequence"][s][key] for r in runs.values())
              - min(r["per_sequence"][s][key] for r in runs.values()) for s in seqs}
    best = max(spread, key=spread.get)
    return best, float(spread[best])

def figure_crops(stacks: Mapping[str, np.ndarray], gt: np.ndarray, t: int, convention: Mapping) -> list:
    """Panels `(frame t, 'label\\nPSNR dB')` of every stack (label -> uint8 `(T, H, W, C)`), then the GT."""
    return [(o[t], f"{name}\n{frame_psnr(o[t:t + 1], gt[t:t + 1], convention)[0]:.2f} dB")
            for name, o in stacks.items()] + [(gt[t], "GT")]

def slider_images(stacks: Mapping[str, np.ndarray], gt: np.ndarray, box: tuple, frames: Sequence[int],
                  convention: Mapping, factor: int = 3, width: float = 12.0, dpi: int = 60,
                  quality: int = 75) -> list:
    """JPEG bytes, one per frame of `frames`, for :func:`s2svr.report.figures.image_slider`: top row the whole
    frames of every entry of `stacks` (label -> uint8 `(T, H, W, C)`, e.g. LQ, each method) and of `gt`,
    titled with that frame's PSNR; bottom row the zoom box of each."""
    import matplotlib.pyplot as plt
    n = len(stacks) + 1
    h, w = gt.shape[1:3]
    top_h = width / n * h / w
    out = []
    for t in frames:
        fig, axes = plt.subplots(2, n, figsize=(width, top_h + width / n + 0.8), squeeze=False,
                                 gridspec_kw={"height_ratios": [top_h, width / n]})
        for i, (img, title) in enumerate(figure_crops(stacks, gt, t, convention)):
            axes[0, i].imshow(to_numpy_image(img), cmap=_cmap(img), vmin=0, vmax=1)
            axes[0, i].set_title(title, fontsize=8)
            axes[1, i].imshow(zoom_box(img, box, factor), cmap=_cmap(img), vmin=0, vmax=1)
            for ax in axes[:, i]:
                ax.axis("off")
        fig.tight_layout()
        out.append(figure_to_jpeg(fig, dpi=dpi, quality=quality))  # ~12 per page: keep them small
    return out

def spaced_frames(num_frames: int, count: int = 12) -> list:
    """At most `count` frame indices spread evenly over `range(num_frames)` (first and last included)."""
    if num_frames <= count:
        return list(range(num_frames))
    return sorted({int(round(i)) for i in np.linspace(0, num_frames - 1, count)})
