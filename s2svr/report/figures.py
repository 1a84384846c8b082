"""Small figure and widget helpers shared by the book's chapters (matplotlib rows, kernel-free sliders).

Used by every chapter in `notebooks/`; the widgets are plain ipywidgets linked in the browser with
`jslink`, so they keep working in the static HTML pages (no kernel).
"""
from __future__ import annotations

import io
from typing import Sequence

import numpy as np
import torch


def to_numpy_image(img) -> np.ndarray:
    """`(1, C, H, W)` / `(C, H, W)` tensor in [0, 1], or a numpy `(H, W[, C])` array, -> an array for imshow:
    `(H, W, 3)` float for colour, `(H, W)` for one channel."""
    if isinstance(img, torch.Tensor):
        img = img.detach().float().cpu()
        img = img[0] if img.dim() == 4 else img
        img = img.clamp(0, 1)
        return img.permute(1, 2, 0).numpy() if img.shape[0] == 3 else img[0].numpy()
    arr = np.asarray(img)
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    return arr[..., 0] if arr.ndim == 3 and arr.shape[-1] == 1 else arr


def plot_row(panels: Sequence[tuple], height: float = 3.4, cmap: str = "magma", width: float = 12.0,
             show: bool = True):
    """One row of images with titles: `panels = [(image, title), ...]`; single-channel images use `cmap`
    on [0, 1]. Shows the figure (`show=True`) or returns it for further drawing (one row of :func:`plot_grid`)."""
    return plot_grid([panels], height=height, cmap=cmap, width=width, show=show)


def step_axes(axes) -> None:
    """Finish panels of curves over training steps alike: x labelled 'step', a light grid, a small legend."""
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)


def to_jpeg(img, quality: int = 85) -> bytes:
    """JPEG bytes of an image accepted by :func:`to_numpy_image` (single channel as grey)."""
    from PIL import Image
    arr = (np.clip(to_numpy_image(img), 0, 1) * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def figure_to_jpeg(fig, dpi: int = 80, quality: int = 85) -> bytes:
    """JPEG bytes of a matplotlib figure (closed afterwards, so it is not also shown inline)."""
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="jpeg", dpi=dpi, pil_kwargs={"quality": quality})
    plt.close(fig)
    return buf.getvalue()


def plot_grid(rows: Sequence[Sequence[tuple]], height: float = 3.0, cmap: str = "magma", width: float = 12.0,
              show: bool = True):
    """Several rows of :func:`plot_row` panels in one figure: `rows = [[(image, title), ...], ...]`, all rows
    with the same number of panels; `height` is per row. Shows the figure or returns it (`show=False`)."""
    import matplotlib.pyplot as plt
    ncols = len(rows[0])
    if any(len(r) != ncols for r in rows):
        raise ValueError("plot_grid: every row needs the same number of panels")
    fig, axes = plt.subplots(len(rows), ncols, figsize=(width, height * len(rows)), squeeze=False)
    for ax_row, panels in zip(axes, rows):
        for ax, (img, title) in zip(ax_row, panels):
            ax.imshow(to_numpy_image(img), cmap=cmap, vmin=0, vmax=1)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    if not show:
        return fig
    plt.show()
    return None


def row_jpeg(panels: Sequence[tuple], height: float = 3.0, width: float = 12.0, dpi: int = 80,
             cmap: str = "magma") -> bytes:
    """:func:`plot_row` drawn into JPEG bytes, titles included: one slider position of :func:`image_slider`
    that compares several images side by side."""
    return figure_to_jpeg(plot_row(panels, height=height, cmap=cmap, width=width, show=False), dpi=dpi)


def grid_jpeg(rows: Sequence[Sequence[tuple]], height: float = 3.0, width: float = 12.0, dpi: int = 80,
              cmap: str = "magma") -> bytes:
    """:func:`plot_grid` drawn into JPEG bytes (e.g. whole frames above, zoomed crops below)."""
    return figure_to_jpeg(plot_grid(rows, height=height, cmap=cmap, width=width, show=False), dpi=dpi)


def zoom_box(img, box: tuple, factor: int = 1) -> np.ndarray:
    """The crop `box = (top, left, height, width)` of an image accepted by :func:`to_numpy_image`, enlarged
    `factor` times by pixel repetition (nearest neighbour, so pixels stay visible as pixels)."""
    arr = to_numpy_image(img)
    top, left, h, w = box
    crop = arr[top:top + h, left:left + w]
    return np.repeat(np.repeat(crop, factor, axis=0), factor, axis=1)


def image_slider(images: Sequence, labels: Sequence[str], description: str, width: str = "320px",
                 index: int | None = None):
    """A slider over pre-computed images (a `widgets.Stack` linked with `jslink`): works without a kernel.

    `images` are byte strings (JPEG/PNG) or anything :func:`to_jpeg` accepts. Returns the VBox to display.
    """
    import ipywidgets as widgets
    if len(images) != len(labels) or not images:
        raise ValueError("image_slider needs as many labels as images, and at least one")
    index = len(images) - 1 if index is None else index
    frames = [widgets.Image(value=im if isinstance(im, bytes) else to_jpeg(im), format="jpeg",
                            layout=widgets.Layout(width=width)) for im in images]
    slider = widgets.SelectionSlider(options=list(labels), value=labels[index], description=description,
                                     style={"description_width": "initial"})
    stack = widgets.Stack(frames, selected_index=index)
    widgets.jslink((slider, "index"), (stack, "selected_index"))  # in the browser: no kernel needed
    return widgets.VBox([slider, stack])


def box_diagram(boxes: dict, arrows: Sequence[tuple], size: tuple = (12.0, 5.0), xlim: tuple = (0, 12),
                ylim: tuple = (0, 5), title: str | None = None, show: bool = True):
    """A block diagram of boxes and arrows (architecture figures drawn with matplotlib).

    boxes: name -> `(x, y, w, h, label)` or `(x, y, w, h, label, facecolor)`, in data coordinates
    (x, y = lower-left corner). arrows: `(src, dst)` or `(src, dst, label)` or `(src, dst, label, style)`;
    src/dst are box names (the arrow joins the nearest sides) or `(x, y)` points; `style` is a dict of
    `FancyArrowPatch` options (e.g. `{"linestyle": "--", "color": "C1", "connectionstyle": "arc3,rad=0.3"}`).
    Shows the figure (`show=True`) or returns it.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=size)
    for name, spec in boxes.items():
        x, y, w, h, label = spec[:5]
        color = spec[5] if len(spec) > 5 else "#dde8f5"
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                    facecolor=color, edgecolor="#333333", linewidth=1.0))
        ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=8.5)

    def anchor(ref, towards):
        if not isinstance(ref, str):
            return ref
        x, y, w, h = boxes[ref][:4]
        cx, cy = x + w / 2, y + h / 2
        tx, ty = towards
        dx, dy = tx - cx, ty - cy
        if abs(dx) * h >= abs(dy) * w:  # leaves through the left or right side
            return (x + w if dx > 0 else x, cy)
        return (cx, y + h if dy > 0 else y)

    def centre(ref):
        if not isinstance(ref, str):
            return ref
        x, y, w, h = boxes[ref][:4]
        return (x + w / 2, y + h / 2)

    for arrow in arrows:
        src, dst = arrow[0], arrow[1]
        label = arrow[2] if len(arrow) > 2 else None
        style = dict(arrow[3]) if len(arrow) > 3 else {}
        p0, p1 = anchor(src, centre(dst)), anchor(dst, centre(src))
        color = style.pop("color", "#333333")
        ax.add_patch(FancyArrowPatch(p0, p1, arrowstyle="-|>", mutation_scale=11, color=color,
                                     linewidth=1.1, shrinkA=1, shrinkB=1, **style))
        if label:
            ax.text((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2, label, fontsize=7.5, color=color,
                    ha="center", va="bottom", backgroundcolor="white")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    if not show:
        return fig
    plt.show()
    return None
