"""Scores of plan results: the measured tables of Tables 1-3, the paper's table beside them, the verdicts.

Used by `notebooks/exp_sr.py`, `notebooks/exp_deblur.py`, `notebooks/exp_vqe.py`, `notebooks/exp_ablation.py`
and `notebooks/report.py`. The tables read the numbers the plan measured (`s2svr.report.runs`); nothing here
trains or evaluates a network.
"""
from __future__ import annotations

from typing import Mapping

from .runs import by_arch, method_label

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


def paired_difference(result_a: dict, result_b: dict, key: str = "psnr") -> dict:
    """Run A minus run B on the same test set (plan results): mean difference of `key`, the per-sequence
    differences, and on how many sequences A is ahead. {'diff', 'per_sequence', 'wins', 'sequences', 'holds'},
    `holds` = A ahead on average *and* on a majority of the sequences (a guard against one lucky clip)."""
    names = list(result_a["per_sequence"])
    if sorted(names) != sorted(result_b["per_sequence"]):
        raise ValueError("the two results were scored on different test sequences")
    per = {n: result_a["per_sequence"][n][key] - result_b["per_sequence"][n][key] for n in names}
    diff = result_a["mean"][key] - result_b["mean"][key]
    wins = sum(v > 0 for v in per.values())
    return {"diff": diff, "per_sequence": per, "wins": wins, "sequences": len(names),
            "holds": diff > 0 and wins > len(names) / 2}
