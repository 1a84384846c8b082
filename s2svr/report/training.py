"""How each model of a chapter was trained: its curves, where and how long, and whether it had converged.

Used by the Experiments chapters (`notebooks/exp_sr.py`, ...) and `notebooks/distillation.py`. A run's logs are
the files its result names (`log`, its `val.csv` beside the checkpoint, or the shipped copies of
`weights/`), so a book built from the shipped weights shows the curves of the runs that made them.

Convergence (the criterion of the cpu profile, two-sided): a restorer has converged when its validation PSNR
changed by at most 0.05 dB over the last 20% of its iterations *and* ends within 0.05 dB of its best; a flow
stage when its EPE changed by at most 2% there. A run that falls from its best by more than the tolerance is not
converged: it is flagged with its best and last scores.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

LAST_FRACTION = 0.2
PSNR_TOL_DB = 0.05
EPE_TOL = 0.02


def late_change(steps, values, fraction: float = LAST_FRACTION) -> float | None:
    """`value(end) - value(start of the last `fraction`)`: the value at the last logged step minus the one at the
    largest logged step <= (1 - fraction) * last step. None with fewer than two points."""
    pts = sorted(zip(steps, values))
    if len(pts) < 2:
        return None
    end_step, end_value = pts[-1]
    before = [v for s, v in pts if s <= (1 - fraction) * end_step]
    return None if not before else end_value - before[-1]


def converged_restorer(val_steps, val_psnr) -> tuple[bool | None, float | None]:
    """(converged, PSNR change over the last 20%): converged when |change| <= 0.05 dB and the last score is within
    0.05 dB of the best (a run that peaked and fell back has not settled; None: too few points)."""
    gain = late_change(val_steps, val_psnr)
    if gain is None:
        return None, None
    pts = sorted(zip(val_steps, val_psnr))
    fell = max(v for _, v in pts) - pts[-1][1]
    return (abs(gain) <= PSNR_TOL_DB and fell <= PSNR_TOL_DB), gain


def converged_flow(steps, epe) -> tuple[bool | None, float | None]:
    """(converged, relative EPE change over the last 20%): converged when |change| <= 2%."""
    change = late_change(steps, epe)
    if change is None:
        return None, None
    end = sorted(zip(steps, epe))[-1][1]
    rel = change / max(end - change, 1e-12)
    return abs(rel) <= EPE_TOL, rel


def late_mean(steps, values, fraction: float = LAST_FRACTION) -> float | None:
    """Mean of `values` over the logged steps in the last `fraction` of the run (step > (1 - fraction) * last)."""
    pts = sorted(zip(steps, values))
    if not pts:
        return None
    tail = [v for s, v in pts if s > (1 - fraction) * pts[-1][0]]
    return sum(tail) / len(tail) if tail else None


def final_train_loss(result: dict, fraction: float = LAST_FRACTION) -> float | None:
    """A run's mean training loss over the last 20% of its logged steps (None without a log): how well the
    model fits its training clips, comparable between models trained on the same batches with the same loss."""
    import pandas as pd
    log = result.get("log")
    if not log or not Path(log).is_file():
        return None
    lg = pd.read_csv(log)
    return late_mean(lg["step"], lg["loss"], fraction) if "loss" in lg else None


def _val_log(result: dict) -> Path | None:
    for cand in (result.get("val_log"), result.get("checkpoint") and Path(result["checkpoint"]).parent / "val.csv"):
        if cand and Path(cand).is_file():
            return Path(cand)
    return None


def training_table(results: Mapping[str, dict], psnr_key: str = "psnr", inputs: Mapping[str, float] | None = None):
    """One row per trained run: steps, minutes of training, where it trained, and the convergence check.
    `inputs`: {name: the score of the input itself on the same clips}; a run that ends below it is flagged."""
    import pandas as pd
    rows = {}
    for name, r in results.items():
        if not r.get("steps"):
            continue  # identity: nothing trained
        row = {"steps": r["steps"], "train minutes": (r.get("train_seconds") or r.get("seconds") or 0) / 60,
               "trained": f"shipped weights ({r['shipped']})" if r.get("shipped") or r.get("spec", {}).get(
                   "shipped_checkpoint") else "in this build"}
        val = _val_log(r)
        if val is not None:
            v = pd.read_csv(val)
            col = psnr_key if psnr_key in v else next((c for c in v.columns if c != "step"), None)
            ok, gain = converged_restorer(v["step"], v[col]) if col else (None, None)
            row.update({"last-20% gain (dB)": gain, "converged": ok})
            if col:  # a run that peaked early and fell back is converged by the rule, but says more
                best = v[col].idxmax()
                row.update({"best val": float(v[col][best]), "at step": int(v["step"][best]),
                            "final - best (dB)": float(v[col].iloc[-1] - v[col][best])})
        row["train loss, last 20%"] = final_train_loss(r)
        if inputs and name in inputs and r.get("mean", {}).get(psnr_key) is not None:
            row["ends below its input"] = bool(r["mean"][psnr_key] < inputs[name])
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def plot_training(results: Mapping[str, dict], labels: Mapping[str, str] | None = None, psnr_key: str = "psnr"):
    """Training loss (left) and validation PSNR (right) against steps, one colour per run."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from .figures import step_axes
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.6))
    for i, (name, r) in enumerate(results.items()):
        label = (labels or {}).get(name, name)
        log = r.get("log")
        if log and Path(log).is_file():
            lg = pd.read_csv(log)
            if "loss" in lg:
                axes[0].plot(lg["step"], lg["loss"].rolling(5, min_periods=1).mean(), color=f"C{i}", label=label)
        val = _val_log(r)
        if val is not None:
            v = pd.read_csv(val)
            if psnr_key in v:
                axes[1].plot(v["step"], v[psnr_key], marker="o", ms=3, color=f"C{i}", label=label)
    axes[0].set_title("training loss (Charbonnier, running mean of 5 logs)", fontsize=9)
    axes[0].set_yscale("log")
    axes[1].set_title("validation PSNR (dB) (the validation clips; the test clips for runs without them)", fontsize=9)
    step_axes(axes)
    fig.tight_layout()
    plt.show()


def show_training(runs: Mapping[str, dict], task: str) -> None:
    """The training section of an Experiments chapter: :func:`training_table` and :func:`plot_training` of the
    runs of `task` that trained (`runs` = {arch: result}, as `s2svr.report.runs.load_task` gives)."""
    from IPython.display import display
    trained = {f"{task}/{a}": r for a, r in runs.items() if r.get("steps")}
    key = next(iter(runs["identity"].get("mean", {})), "psnr") if "identity" in runs else "psnr"
    inputs = {n: runs["identity"]["mean"][key] for n in trained} if "identity" in runs else None
    display(training_table(trained, inputs=inputs).style.format({"train minutes": "{:.1f}", "last-20% gain (dB)": "{:+.3f}",
                                                  "best val": "{:.3f}", "final - best (dB)": "{:+.3f}",
                                                  "train loss, last 20%": "{:.5f}"}, na_rep="-"))
    plot_training(trained)
