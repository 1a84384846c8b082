"""The small recipe against the targets it was set for: does time pay at the cpu scale?

The restorer study (`notebooks/exp_study.py`) looked for a cpu recipe in which the multi-frame networks use their
neighbours. Before it started, these targets said what "using time" would have to look like in the reference
weights (all three seeds of the adopted recipe, as the book's chapters measure them):

- super-resolution: S2SVR's neighbour gain at least +0.3 dB; S2SVR at least 0.2 dB above the single-frame network
  and above the BasicVSR-style one, each margin larger than its spread over seeds;
- deblurring: S2SVR above every baseline of the same budget and 0.5 dB above its blurred input, each margin larger
  than its spread over seeds; no network below its input;
- compressed video: Delta PSNR at least +0.3 dB on the embedded test, and +0.1 dB on the validation clips
  re-encoded with H.264 (a codec no model trains on);
- use: restoring a 176x144 video with S2SVR takes at most 4 times the single-frame network's time;
- throughput: S2SVR's SR training step runs at half the FLOP/s of a large matmul or more (both on one thread,
  measured as the chapter runs: `s2svr.bench`).

:func:`recipe_targets` computes each row from the plan's results (mean over the seeds and test clips, with the
seed spread of :func:`s2svr.report.verdicts.paired_comparison`) and the study's cost-in-use table. A target that
is not met is printed as such, with the number: the book says where the small recipe stops.
"""
from __future__ import annotations

import math
from typing import Mapping

import pandas as pd

from .runs import ARCHS, method_label, seed_runs
from .verdicts import paired_comparison

# (task, name, threshold in dB or x): typed once, the targets above.
SR_GAIN, SR_MARGIN, DEBLUR_INPUT, VQE_TEST, VQE_H264, USE_RATIO, STEP_FRACTION = 0.3, 0.2, 0.5, 0.3, 0.1, 4.0, 0.5


def _mean(values) -> float:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return sum(values) / len(values) if values else float("nan")


def _row(task: str, target: str, measured: str, data: str, met) -> dict:
    return {"task": task, "target": target, "measured": measured, "data": data,
            "met": "not measured" if met is None else ("yes" if met else "no")}


def _margin(results: Mapping[str, dict], task: str, a: str, b: str, key: str):
    """paired_comparison of `a` minus `b` over their common seeds (the input, trained once, against every seed)."""
    from .scores import paired_seeds
    return paired_comparison(*paired_seeds(seed_runs(results, task, a), seed_runs(results, task, b)), key)


def _clears(d: dict, need: float = 0.0) -> bool:
    """The targets' rule for a margin: its mean over seeds and clips at least `need`, and larger than its spread
    over seeds (what a new seed changes)."""
    return d["diff"] >= need and d["diff"] > d["seed_spread"]


def _margin_text(d: dict) -> str:
    sd = f", sd over {d['seeds']} seeds {d['seed_spread']:.3f}" if d["seeds"] > 1 else ", one seed"
    return f"{d['diff']:+.3f} dB (95 % interval [{d['lo']:+.3f}, {d['hi']:+.3f}]{sd})"


def _validation(results: Mapping[str, dict], task: str, arch: str, field: str, key: str | None = None) -> float:
    """Mean over seeds of a validation record: `field` ('neighbour_gain') or `field`[key] ('h264', 'delta_psnr')."""
    vals = [(r.get("validation") or {}).get(field) for r in seed_runs(results, task, arch)]
    return _mean([(v or {}).get(key) for v in vals] if key else vals)


def _seeds(results: Mapping[str, dict], task: str) -> int:
    return len(seed_runs(results, task, "s2svr"))


def _sr(res: Mapping[str, dict]) -> list[dict]:
    n = _seeds(res, "sr")
    gain = _validation(res, "sr", "s2svr", "neighbour_gain")
    rows = [_row("sr", f"S2SVR's neighbour gain >= +{SR_GAIN} dB", f"{gain:+.3f} dB",
                 f"validation clips, mean of {n} seed(s)", None if math.isnan(gain) else gain >= SR_GAIN)]
    for arch, need in (("single_frame", SR_MARGIN), ("basicvsr", 0.0)):
        if f"sr/{arch}" not in res:
            continue
        d = _margin(res, "sr", "s2svr", arch, "psnr")
        what = f" + {need} dB" if need else ""
        rows.append(_row("sr", f"S2SVR >= {method_label('sr', arch)}{what}, margin above the seed spread",
                         _margin_text(d), f"test clips, {d['seeds']} seed(s)",
                         _clears(d, need)))
    return rows


def _deblur(res: Mapping[str, dict]) -> list[dict]:
    rows = []
    for arch in ("single_frame", "basicvsr"):
        if f"deblur/{arch}" in res:
            d = _margin(res, "deblur", "s2svr", arch, "psnr")
            rows.append(_row("deblur", f"S2SVR >= {method_label('deblur', arch)}, margin above the seed spread",
                             _margin_text(d), f"test clips, {d['seeds']} seed(s)", _clears(d)))
    if "deblur/identity" not in res:
        return rows
    d = _margin(res, "deblur", "s2svr", "identity", "psnr")
    rows.append(_row("deblur", f"S2SVR >= blurred input + {DEBLUR_INPUT} dB", _margin_text(d),
                     f"test clips, {d['seeds']} seed(s)", _clears(d, DEBLUR_INPUT)))
    below = {arch: _margin(res, "deblur", arch, "identity", "psnr")["diff"]
             for arch in ARCHS if arch != "identity" and f"deblur/{arch}" in res}
    worst = min(below, key=below.get)
    rows.append(_row("deblur", "no network ends below its blurred input",
                     ", ".join(f"{method_label('deblur', a)} {v:+.3f} dB" for a, v in below.items()),
                     "test clips, minus the input, mean over seeds", below[worst] >= 0))
    return rows


def _vqe(res: Mapping[str, dict]) -> list[dict]:
    n = _seeds(res, "vqe")
    test = {a: _mean(float(r["mean"]["delta_psnr"]) for r in seed_runs(res, "vqe", a))
            for a in ARCHS if a != "identity" and f"vqe/{a}" in res}
    h264 = {a: _validation(res, "vqe", a, "h264", "delta_psnr") for a in test}

    def text(vals):
        return ", ".join(f"{method_label('vqe', a)} {v:+.3f} dB" for a, v in vals.items())
    return [_row("vqe", f"S2SVR's Delta PSNR >= +{VQE_TEST} dB (QP37)", text(test),
                 f"test clips, mean of {n} seed(s)", test["s2svr"] >= VQE_TEST),
            _row("vqe", f"S2SVR's Delta PSNR >= +{VQE_H264} dB on H.264", text(h264),
                 f"validation clips re-encoded with H.264, mean of {n} seed(s)",
                 None if math.isnan(h264["s2svr"]) else h264["s2svr"] >= VQE_H264)]


def _use(use: pd.DataFrame | None, zoom: int | None) -> list[dict]:
    """S2SVR's time per frame over the single-frame network's, at the flow zoom the shipped SR restorers use,
    from the study's cost-in-use table (the run trained at that zoom where it was measured, else the base run)."""
    target = f"S2SVR's restore time <= {USE_RATIO:g} x the single-frame network's (x4 SR)"
    sel = pd.DataFrame() if use is None or use.empty else use[(use["arch"] == "s2svr") & (use["use_zoom"] == zoom)]
    if sel.empty:
        return [_row("use", target, "-", "no cost-in-use measurement shipped", None)]
    own = sel[sel["train_zoom"] == zoom]
    r = (own if not own.empty else sel).iloc[0]
    return [_row("use", target, f"{r['ratio']:.1f} x ({r['seconds_per_frame']:.2f} s against "
                 f"{r['single_frame_seconds']:.3f} s per frame)",
                 f"{r['size']} frames, one thread, flow net at zoom {zoom} (trained at zoom {int(r['train_zoom'])})",
                 r["ratio"] <= USE_RATIO)]


def _throughput(step: Mapping | None, matmul_flops_per_s: float | None) -> list[dict]:
    target = f"S2SVR's SR training step at >= {STEP_FRACTION:.0%} of the matmul's FLOP/s"
    if not step or not matmul_flops_per_s:
        return [_row("throughput", target, "-", "not measured", None)]
    frac = step["flops_per_s"] / matmul_flops_per_s
    return [_row("throughput", target, f"{frac:.0%} ({step['flops_per_s'] / 1e9:.1f} against "
                 f"{matmul_flops_per_s / 1e9:.1f} GFLOP/s; {step['seconds_per_step']:.3f} s per step)",
                 f"one thread, batch {step['batch']}, measured as this page was built", frac >= STEP_FRACTION)]


def recipe_targets(results: Mapping[str, dict], use: pd.DataFrame | None = None, zoom: int | None = None,
                   step: Mapping | None = None, matmul_flops_per_s: float | None = None) -> pd.DataFrame:
    """One row per target: task, target, measured, data, met ('yes' / 'no' / 'not measured').

    `results`: the plan's results of every task (`<task>/<arch>` and their `/seed<N>` runs, as
    :func:`s2svr.report.runs.load_task` returns them); a task without its S2SVR run is skipped. `use`: the study's
    cost-in-use table (`s2svr.report.study.load_use`), `zoom`: the SR restorers' flow zoom in use. `step`: a row
    of `s2svr.bench.bench_training` for S2SVR's SR step, `matmul_flops_per_s`: the matmul's FLOP/s on the same
    thread (`s2svr.bench.matmul_flops`)."""
    rows = []
    for task, fn in (("sr", _sr), ("deblur", _deblur), ("vqe", _vqe)):
        if f"{task}/s2svr" in results:
            rows += fn(results)
    rows += _use(use, zoom) + _throughput(step, matmul_flops_per_s)
    return pd.DataFrame(rows)


def targets_summary(table: pd.DataFrame) -> str:
    """'k of n targets met. Met: ... Not met: ...' in one Markdown paragraph (the targets' names; the table has
    the numbers)."""
    words = f"**{int((table['met'] == 'yes').sum())} of {len(table)} targets met.**"
    for label, flag in (("Met", "yes"), ("Not met", "no"), ("Not measured", "not measured")):
        names = [f"{task}: {t}" for task, t, m in zip(table["task"], table["target"], table["met"]) if m == flag]
        if names:
            words += f" {label}: " + "; ".join(names) + "."
    return words
