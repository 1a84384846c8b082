"""Tables and figures shared by the Experiments chapters (Tables 1-3, Figs. 4-6 regenerated).

Used by the chapters `exp_sr`, `exp_deblur` and `exp_vqe` (notebooks/), which take their runs from
`s2svr.book.plan.results` under the names `<task>/<arch>` (task: sr, deblur, vqe; arch: identity, single_frame,
basicvsr, s2svr). A run's result dict (see `s2svr.experiments`) holds "mean", "per_sequence", "convention"
({'kind': 'psnr'|'delta', 'test_y', 'crop_border'}), "parameters", "steps", "train_seconds", "outputs" (one uint8
`(T, H, W, C)` .npy of restored frames per test sequence) and "spec" (the resolved config).

Nothing here trains or evaluates a network: the tables read the numbers the plan measured, the figures read the
restored frames it saved and score them per frame with `s2svr.metrics` under the run's own convention.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from .. import metrics
from .figures import figure_to_jpeg, to_numpy_image, zoom_box

ARCHS = ("identity", "single_frame", "basicvsr", "s2svr")
IDENTITY_LABEL = {"sr": "bicubic", "deblur": "blurred input", "vqe": "compressed input"}
ARCH_LABEL = {"single_frame": "single-frame", "basicvsr": "BasicVSR-style", "s2svr": "S2SVR"}
# Resolved-config fields that describe a run's size and budget (section, key), in display order.
SETUP_KEYS = (("model", "num_feat"), ("model", "num_blocks"), ("model", "num_layers"), ("model", "radius"),
              ("model", "flow_size"), ("model", "upsample"), ("data", "dataset"), ("data", "num_frames"),
              ("data", "patch_size"), ("data", "batch_size"), ("data", "test_frames"), ("train", "iters"),
              ("train", "lr"), ("train", "flow_lr"), ("train", "flow_freeze_iters"), ("flow", "iters"),
              ("flow", "batch_size"), ("flow", "patch_size"))


def method_label(task: str, arch: str) -> str:
    """Display name of a method: 'bicubic' / 'blurred input' / 'compressed input' for `identity`, else
    'single-frame', 'BasicVSR-style', 'S2SVR'."""
    return IDENTITY_LABEL[task] if arch == "identity" else ARCH_LABEL[arch]


def by_arch(results: Mapping[str, dict], task: str) -> dict:
    """`{arch: result}` in :data:`ARCHS` order from plan results keyed `<task>/<arch>` (missing archs skipped)."""
    return {a: results[f"{task}/{a}"] for a in ARCHS if f"{task}/{a}" in results}


def run_config(result: dict) -> dict:
    """The resolved config dict a run was trained with (`result['spec']['resolved']['config']`)."""
    return result["spec"]["resolved"]["config"]


def experiment_config(result: dict):
    """The run's config as an :class:`s2svr.configs.ExperimentConfig`."""
    from ..configs import config_from_dict
    return config_from_dict(run_config(result), "result spec")


def load_task(profile: str, task: str, output_dir: str) -> tuple:
    """`(results, runs, cfg)` of `task` from the plan (`s2svr.book.plan.results`, cached: instant once trained):
    the plan results keyed `<task>/<arch>`, the same by arch (:func:`by_arch`), and the S2SVR run's config.
    `output_dir` is a chapter's parameter (`outputs/<profile>`); the plan lives under its parent."""
    from .plan import results as plan_results
    res = plan_results(profile, [f"{task}/{arch}" for arch in ARCHS], output_root=str(Path(output_dir).parent))
    runs = by_arch(res, task)
    return res, runs, experiment_config(runs["s2svr"])


def show_setup(results: Mapping[str, dict], task: str, paper_cfg) -> None:
    """Display what the runs of `task` train beside the paper profile (:func:`setup_table`, :func:`setup_text`)
    and list the test sequences; fails if a baseline's config differs from S2SVR's beyond `model.arch`."""
    from IPython.display import Markdown, display
    runs = by_arch(results, task)
    display(setup_table(runs["s2svr"], paper_cfg))
    diff = budget_differences(runs)
    if not diff <= {"model.arch"}:  # same trainer, data, budget and seed
        raise AssertionError(f"{task}: the runs differ in more than model.arch: {sorted(diff)}")
    display(Markdown(setup_text(results, task, paper_cfg)))
    seqs = runs["s2svr"]["per_sequence"]
    print("test sequences:", ", ".join(seqs), f"({', '.join(str(v['frames']) for v in seqs.values())} frames)")


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


def _flat(d: Mapping, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def budget_differences(results: Mapping[str, dict]) -> set:
    """Flattened config keys (e.g. 'model.arch') whose value differs between the runs of `results`: with the
    same trainer, data and budget for every method this is {'model.arch'}."""
    flats = [_flat(run_config(r)) for r in results.values()]
    keys = set().union(*flats) if flats else set()
    return {k for k in keys if len({repr(f.get(k)) for f in flats}) > 1}


def _show(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def setup_table(result: dict, paper_cfg=None):
    """DataFrame of :data:`SETUP_KEYS` (as strings, '-' for None): the value in this run's resolved config,
    and (if `paper_cfg`, an ExperimentConfig of profile paper, is given) the paper profile's value.
    `model.upsample` is shown for super-resolution only."""
    import pandas as pd
    cfg = run_config(result)
    rows = {}
    for section, key in SETUP_KEYS:
        if key == "upsample" and cfg["model"]["task"] != "sr":
            continue
        row = {f"this run (profile {cfg['profile']})": _show(cfg[section].get(key))}
        if paper_cfg is not None:
            row["paper profile"] = _show(getattr(getattr(paper_cfg, section), key))
        rows[f"{section}.{key}"] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def setup_text(results: Mapping[str, dict], task: str, paper_cfg) -> str:
    """A Markdown paragraph describing what the runs of `task` train, every value read from the resolved
    config of the S2SVR run (and of `paper_cfg`, the paper profile), and checking that the baselines differ
    from it only in `model.arch` (same trainer, data, budget and seed)."""
    runs = by_arch(results, task)
    cfg = experiment_config(runs["s2svr"])
    m, d, tr = cfg.model, cfg.data, cfg.train
    if tr.flow_freeze_iters >= tr.iters:
        flow = "stays frozen for the whole run"
    elif tr.flow_freeze_iters > 0:
        flow = f"stays frozen for the first {tr.flow_freeze_iters} steps, then trains at lr {tr.flow_lr:g}"
    else:
        flow = f"trains from the first step at lr {tr.flow_lr:g}"
    diff = budget_differences(runs)
    init = "; ".join(f"{method_label(task, a)} from `{Path(r['spec']['flow_checkpoint']).parent.name}`"
                     for a, r in runs.items() if r["spec"].get("flow_checkpoint"))
    start = ("from the Algorithm 1 student" if runs["s2svr"]["spec"].get("flow_checkpoint")
             else "untrained (no flow checkpoint)")
    pm, pd_, pt = paper_cfg.model, paper_cfg.data, paper_cfg.train
    sr = f", and a {m.upsample} global residual for x{m.scale}" if m.task == "sr" else ""
    return (
        f"In this run (profile `{cfg.profile}`), S2SVR has C = {m.num_feat} channels, {m.num_layers} ResConvGRU "
        f"layer(s) in the encoder and in the decoder with {m.num_blocks} residual block(s) each, attention "
        f"radius {m.radius}{sr}. It is trained for {tr.iters:,} steps of batch {d.batch_size} on "
        f"{d.num_frames}-frame clips of {d.patch_size} px LQ crops of the `{d.dataset}` dataset, Adam at lr "
        f"{tr.lr:g} with cosine decay; its PWC-Lite starts {start} and {flow}. "
        f"The paper profile: C = {pm.num_feat}, {pm.num_layers} layers of {pm.num_blocks} blocks, "
        f"{pt.iters:,} steps of batch {pd_.batch_size} on {pd_.num_frames}-frame {pd_.patch_size} px crops of "
        f"`{pd_.dataset}`. The baselines are trained by the same trainer, on the same data, with the same "
        f"budget and seed: their resolved configs differ from S2SVR's only in "
        f"{', '.join(f'`{k}`' for k in sorted(diff)) or 'nothing'}. Flow initialisation: {init or 'none'}.")


def paper_parameter_counts(config: str) -> dict:
    """`{arch: total parameters}` of every method built with `config`'s paper-profile sizes (flow net
    included), counted on the `meta` device (shapes only, instant)."""
    import torch

    from ..configs import load_config
    from ..models import build_model, parameter_breakdown
    model_cfg = load_config(config, "paper").model
    out = {}
    for arch in ARCHS:
        with torch.device("meta"):
            out[arch] = parameter_breakdown(build_model(dataclasses.replace(model_cfg, arch=arch)))["total"]
    return out


def metric_keys(result: dict) -> tuple:
    """(main, secondary) metric keys of a result: ('psnr', 'ssim') or ('delta_psnr', 'delta_ssim')."""
    return ("delta_psnr", "delta_ssim") if result["convention"]["kind"] == "delta" else ("psnr", "ssim")


def metric_names(result: dict) -> tuple:
    """Column titles of :func:`metric_keys`, with the units of the paper's tables (delta-SSIM x 1e-4)."""
    if result["convention"]["kind"] == "delta":
        return ("ΔPSNR (dB)", "ΔSSIM (×1e-4)")
    y = " (Y)" if result["convention"]["test_y"] else " (RGB)"
    return ("PSNR (dB)" + y, "SSIM" + y)


def _scaled(result: dict, values: Mapping) -> tuple:
    main, second = metric_keys(result)
    scale = 1e4 if result["convention"]["kind"] == "delta" else 1.0
    return float(values[main]), float(values[second]) * scale


def format_score(result: dict, values: Mapping) -> str:
    """'27.23 / 0.7812' (PSNR / SSIM) or '0.123 / 45.6' (delta-PSNR dB / delta-SSIM x 1e-4; the paper prints
    delta-SSIM as an integer, one more digit here because small networks move it by less than one unit)."""
    p, s = _scaled(result, values)
    if result["convention"]["kind"] == "delta":
        return f"{_num(p, 3)} / {_num(s, 1)}"
    return f"{p:.2f} / {s:.4f}"


def _num(x: float, digits: int) -> str:
    """`x` rounded to `digits`, without a minus sign on a value that rounds to zero ('-0.0')."""
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def measured_table(results: Mapping[str, dict], task: str, paper_params: Mapping | None = None):
    """One row per method of `by_arch(results, task)`: parameters (this profile, flow net included, and
    without it), the paper profile's count (if `paper_params`, see :func:`paper_parameter_counts`), the mean
    metrics over the test sequences, training steps and seconds."""
    import pandas as pd
    rows = {}
    for arch, r in by_arch(results, task).items():
        names = metric_names(r)
        p, s = _scaled(r, r["mean"])
        par = r["parameters"]
        row = {"params": par["total"], "params w/o flow": par["total"] - par.get("flow", 0)}
        if paper_params is not None:
            row["params (paper profile)"] = paper_params.get(arch)
        row.update({names[0]: round(p, 3 if r["convention"]["kind"] == "delta" else 2),
                    names[1]: round(s, 1 if r["convention"]["kind"] == "delta" else 4),
                    "steps": r["steps"], "train s (1 thread)": round(float(r["train_seconds"]), 1)})
        rows[method_label(task, arch)] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def beside_paper(paper, results: Mapping[str, dict], task: str, match: Mapping[str, str], measured_column: str,
                 not_run: str, not_in_paper: str = "-"):
    """The paper's table (`paper`: DataFrame, one row per method, cells typed from the paper) with two more
    columns measured in this run: the parameter count and the mean score (:func:`format_score`) under
    `measured_column`. `match` maps a paper row to the arch that implements it here (e.g. 'Bicubic' ->
    'identity'); the other paper rows get `not_run` (why the run cannot produce them); the run's methods
    that the paper has no row for are appended (named '<method> (not in the paper's table)'), their paper
    cells `not_in_paper`."""
    runs = by_arch(results, task)
    table = paper.astype(str).copy()
    table["params (this run)"] = not_run
    table[measured_column] = not_run
    for row, arch in match.items():
        if arch in runs:
            table.loc[row, "params (this run)"] = f"{runs[arch]['parameters']['total']:,}"
            table.loc[row, measured_column] = format_score(runs[arch], runs[arch]["mean"])
    matched = set(match.values())
    for arch, r in runs.items():
        if arch not in matched:
            extra = {c: not_in_paper for c in paper.columns}
            extra.update({"params (this run)": f"{r['parameters']['total']:,}",
                          measured_column: format_score(r, r["mean"])})
            table.loc[f"{method_label(task, arch)} (not in the paper's table)"] = extra
    return table


def per_sequence_table(results: Mapping[str, dict], task: str):
    """Sequences x methods, each cell 'PSNR / SSIM' (or 'dPSNR / dSSIM x1e-4'), with a last row 'mean'. For
    compressed video a first column gives the PSNR (Y) of the compressed input the deltas start from."""
    import pandas as pd
    runs = by_arch(results, task)
    cols = {}
    first = next(iter(runs.values()))
    if first["convention"]["kind"] == "delta":
        col = {n.split("/", 1)[-1]: f"{v['psnr_compressed']:.2f}" for n, v in first["per_sequence"].items()}
        col["mean"] = f"{first['mean']['psnr_compressed']:.2f}"
        cols["input PSNR (Y, dB)"] = col
    for arch, r in runs.items():
        col = {name.split("/", 1)[-1]: format_score(r, v) for name, v in r["per_sequence"].items()}
        col["mean"] = format_score(r, r["mean"])
        cols[method_label(task, arch)] = col
    return pd.DataFrame(cols)


def verdict(results: Mapping[str, dict], task: str, ours: str = "s2svr") -> dict:
    """Compare `ours` with each other method on the main metric (PSNR, or delta-PSNR for compressed video).

    Returns {'gain': {arch: mean(ours) - mean(arch)} in dB, 'wins': {arch: (sequences where ours is higher,
    sequences)}, 'beats_all': bool (ours above every trained baseline, single-frame and BasicVSR-style, on the
    mean), 'text': a Markdown paragraph saying so with the numbers (and the span of all methods' means)}.
    """
    runs = by_arch(results, task)
    mine = runs[ours]
    key = metric_keys(mine)[0]
    gain, wins = {}, {}
    for arch, r in runs.items():
        if arch == ours:
            continue
        gain[arch] = float(mine["mean"][key]) - float(r["mean"][key])
        common = [n for n in mine["per_sequence"] if n in r["per_sequence"]]
        wins[arch] = (sum(mine["per_sequence"][n][key] > r["per_sequence"][n][key] for n in common), len(common))
    trained = [a for a in ("single_frame", "basicvsr") if a in gain]
    beats_all = bool(trained) and all(gain[a] > 0 for a in trained)
    what = "ΔPSNR" if key == "delta_psnr" else "PSNR"
    parts = []
    for arch in gain:
        g, (w, n) = gain[arch], wins[arch]
        where = (f"within 0.001 dB of the {method_label(task, arch)}" if abs(g) < 5e-4 else
                 f"{abs(g):.3f} dB {'above' if g > 0 else 'below'} the {method_label(task, arch)}")
        parts.append(f"{where} (higher on {w} of {n} test sequences)")
    means = [float(r["mean"][key]) for r in runs.values()]
    head = (f"**Measured verdict:** S2SVR's mean {what} is " + "; ".join(parts) + f". The {len(means)} methods' "
            f"means span {max(means) - min(means):.3f} dB. ")
    if beats_all:
        tail = ("At this scale S2SVR does beat both trained baselines, the ordering the paper claims; the size of "
                "the gap is not comparable with the paper's (tiny networks, 250-step budgets, embedded clips).")
    else:
        below = [method_label(task, a) for a in trained if gain[a] <= 0]
        tail = (f"**Not reproduced at this scale:** S2SVR does not beat the {' and the '.join(below)} baseline"
                f"{'s' if len(below) > 1 else ''} trained with the same data and budget. This says nothing about "
                "the paper's full-size result, which this run cannot test.")
    if "identity" in gain and gain["identity"] <= 0:
        tail += (" S2SVR is not even above the " + method_label(task, "identity") + ": at this budget it "
                 + ("does worse than bicubic upsampling alone." if task == "sr"
                    else "degrades its input instead of restoring it."))
    return {"gain": gain, "wins": wins, "beats_all": beats_all, "text": head + tail}


def restored_frames(result: dict, sequence: str) -> np.ndarray:
    """The restored test frames a run saved for `sequence` (e.g. 'sr/bikes_076'): uint8 `(T, H, W, C)`."""
    if not result.get("outputs"):
        raise FileNotFoundError(f"run {result.get('arch')!r} kept no restored frames (save_outputs off)")
    return np.load(Path(result["outputs"]) / f"{sequence.replace('/', '_')}.npy")


def reference_frames(result: dict, sequence: str) -> tuple:
    """(LQ, GT) uint8 `(T, H, W, C)` of the frames a run evaluated on `sequence`, read as the evaluator reads
    them (Y for single-channel models) from the run's own test set (`s2svr.train.data.build_test_sequences`)."""
    from ..train.data import build_test_sequences, data_mode
    cfg = experiment_config(result)
    seqs = {s.name: s for s in build_test_sequences(cfg)}
    seq = seqs[sequence]
    idx = list(range(int(result["per_sequence"][sequence]["frames"])))
    mode = data_mode(cfg)
    return seq.lq.read(idx, mode=mode), seq.gt.read(idx, mode=mode)


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
    """JPEG bytes, one per frame of `frames`, for :func:`s2svr.book.figures.image_slider`: top row the whole
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
