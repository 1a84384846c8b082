"""Scores of plan results: the measured tables of Tables 1-3, the paper's table beside them, the verdicts.

Used by `notebooks/exp_sr.py`, `notebooks/exp_deblur.py`, `notebooks/exp_vqe.py`, `notebooks/exp_ablation.py`
and `notebooks/report.py`. The tables read the numbers the plan measured (`s2svr.report.runs`); nothing here
trains or evaluates a network.
"""
from __future__ import annotations

from typing import Mapping

from .runs import by_arch, method_label, seed_runs

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

def _seed(result: dict, default: int) -> int:
    """The training seed a run's config records (`default` where the result carries no config)."""
    try:
        return int(result["spec"]["resolved"]["config"]["seed"])
    except (KeyError, TypeError):
        return default


def seed_table(results: Mapping[str, dict], task: str):
    """Methods x training seeds: each run's mean test score (the metric of :func:`metric_keys`), then the mean over
    seeds and their standard deviation (blank for a method trained once)."""
    import pandas as pd
    from .verdicts import _sd
    rows = {}
    for arch in by_arch(results, task):
        runs = seed_runs(results, task, arch)
        key = metric_keys(runs[0])[0]
        vals = [float(r["mean"][key]) for r in runs]
        row = {f"seed {_seed(r, k)}": v for k, (r, v) in enumerate(zip(runs, vals))}
        row.update({"mean over seeds": sum(vals) / len(vals), "sd over seeds": _sd(vals) if len(vals) > 1 else None})
        rows[method_label(task, arch)] = row
    seeds = sorted({c for r in rows.values() for c in r if c.startswith("seed ")}, key=lambda c: int(c[5:]))
    return pd.DataFrame.from_dict(rows, orient="index")[seeds + ["mean over seeds", "sd over seeds"]]


def paired_seeds(a: list, b: list) -> tuple[list, list]:
    """Two methods' runs over seeds, paired for :func:`s2svr.report.verdicts.paired_comparison`: seed k against
    seed k over the seeds both have; a method with one run (the input itself, which trains nothing, or a method
    trained once) stands against every seed of the other."""
    if len(a) == 1 or len(b) == 1:
        n = max(len(a), len(b))
        return (a * n if len(a) == 1 else a), (b * n if len(b) == 1 else b)
    n = min(len(a), len(b))
    return a[:n], b[:n]


def task_verdict(results: Mapping[str, dict], task: str, ours: str = "s2svr", profile: str = "cpu") -> dict:
    """"S2SVR beats every other method" on one task's test clips, by the book's one rule
    (`s2svr.report.verdicts.paired_comparison`: a 95 % interval over the independent clips, widened by the spread
    over training seeds where `results` holds several, :func:`s2svr.report.runs.seed_runs`).

    Returns {'gain': {arch: mean difference ours - arch, dB}, 'wins': {arch: (clips where ours is higher, clips)},
    'paired': {arch: the comparison}, 'beats_all': bool (the interval above 0 against both trained baselines,
    single-frame and BasicVSR-style), 'outcome', 'text': a Markdown paragraph with the numbers}.
    """
    from .verdicts import combine, paired_comparison, paired_text, verdict
    runs = by_arch(results, task)
    mine = seed_runs(results, task, ours)
    key = metric_keys(mine[0])[0]
    paired = {arch: paired_comparison(*paired_seeds(mine, seed_runs(results, task, arch)), key)
              for arch in runs if arch != ours}
    gain = {arch: d["diff"] for arch, d in paired.items()}
    wins = {arch: (d["wins"], d["sequences"]) for arch, d in paired.items()}
    trained = [a for a in ("single_frame", "basicvsr") if a in paired]
    outcome = combine(paired[a]["outcome"] for a in trained) if trained else None
    what = "ΔPSNR" if key == "delta_psnr" else "PSNR"
    parts = [f"minus the {method_label(task, arch)}: {paired_text(d)}" for arch, d in paired.items()]
    head = f"**Measured verdict ({verdict(outcome, profile)}):** S2SVR's {what} " + "; ".join(parts) + ". "
    below = [method_label(task, a) for a in trained if paired[a]["outcome"] != "holds"]
    tail = ("S2SVR is ahead of both trained baselines, the ordering the paper claims; the size of the gap is not "
            "comparable with the paper's (small networks, the embedded clips)." if not below else
            f"Not reproduced here: S2SVR is not shown ahead of the {' and the '.join(below)} baseline"
            f"{'s' if len(below) > 1 else ''} trained with the same data and budget. This says nothing about the "
            "paper's full-size result, which this run cannot test.")
    if "identity" in gain and gain["identity"] <= 0:
        tail += (" S2SVR is not even above the " + method_label(task, "identity") + ": at this budget it "
                 + ("does worse than bicubic upsampling alone." if task == "sr"
                    else "degrades its input instead of restoring it."))
    return {"gain": gain, "wins": wins, "paired": paired, "beats_all": outcome == "holds", "outcome": outcome,
            "text": head + tail}
