"""Where does the multi-frame gain appear? The restorer study: one factor of the cpu recipe at a time, with
S2SVR, the BasicVSR-style network and the single-frame network at the same budget.

Explained in the book's chapter `notebooks/exp_study.py`. Every run trains on the task's training clips minus the
validation clips (`VAL_CLIPS`, whole training shots that no test clip uses) and is judged on those validation
clips only: the study chooses the recipe, so it never looks at the test clips. Per run it records

- the validation PSNR of the whole clips (`val_psnr`);
- the neighbour gain (`s2svr.train.neighbours`): every validation frame with a full window restored from its
  real window minus from a still one; a single-frame network gains exactly 0;
- for compressed video, the delta PSNR on the validation clips re-encoded with H.264 (`val_h264`,
  `s2svr/data/codec_check.py`): a codec the models never train on;
- the seconds per training step, median of the run's log (validation and checkpoints left out), and the FLOPs of
  that step (`s2svr.train.step_cost.training_step`).

`python -m s2svr.experiments.study run [--task sr ...]` trains what is missing, in `ORDER` (resumable: each run is
a plan job cached by its config under `outputs/cpu/study`); `collect` writes the finished runs to
`weights/study/<task>.csv` (and the validation curves of its long runs to `<task>_curves.csv`), which the
book draws (so `make book` never trains the study); `list` shows the state.
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path

from ..configs import load_config
from .jobs import RestoreJob, key
from .plan import TASK_CONFIGS, jobs as plan_jobs
from .runner import cached, job_dir, run

PROFILE = "cpu"
ARCHS = ("single_frame", "basicvsr", "s2svr")  # same budget each; the order of the tables
# Held out of training for validation: whole training shots (BBB regions and bikes shots 1 and 3) that no test clip
# uses (the cpu configs' `data.val_clips`). The rest of the training split trains.
VAL_CLIPS = {task: tuple(load_config(name, PROFILE).data.val_clips) for task, name in TASK_CONFIGS.items()}


def _merge(a: dict, b: dict) -> dict:
    """`a` with `b`'s sections merged in, field by field (overrides of two factors at once)."""
    out = {k: dict(v) for k, v in a.items()}
    for k, v in b.items():
        out.setdefault(k, {}).update(v)
    return out


# The recipe the study started from, which its 'base' rows measured: the cpu configs have since adopted what the
# study chose (SR: identity heads, VQE: the L2 loss; the SR restorers' flow zoom is the plan's RESTORER_LQ_ZOOM).
# Every study run is that starting recipe plus one factor, so its runs and tables stay what they measured.
START = {"sr": {"model": {"head_init": "default"}},
         "deblur": {"model": {"carry": "output"}, "data": {"extra_train": None}},
         "vqe": {"train": {"charbonnier_eps": 1e-6}}}
# (factor, value, overrides): each changes one thing of the task's starting recipe ('base').
BASE = ("base", "cpu recipe", {})
IDENTITY = ("head_init", "identity", {"model": {"head_init": "identity"}})
# S2SVR's ResConvGRU layers carry F_b's output to the next frame, as the public code's encoder does, not their
# output with the inter-layer residual (Eq. 9 as written; `s2svr.models.convgru`), which adds each frame's input to
# the state: trained on 5-frame clips, such states grew along the 16-frame validation clips (the chapter's probe
# "past the training clip"). The baselines do not read it, so their rows are base's runs.
CARRY = ("carry", "block", {"model": {"carry": "block"}})
# or F_g's own state, bounded within [-1, 1] over any number of frames: deblurring's S2SVR still drifted with
# 'block' (its F_b amplifies) and collapsed with more training data (`extra_train`)
CARRY_GRU = ("carry", "gru", {"model": {"carry": "gru"}})
# deblurring trains on 4 real clips: beside them, the training photographs still under camera-shake exposures,
# each frame blurred along its own path (s2svr.data.camera_paths)
DEBLUR_EXTRA = {"data": {"extra_train": "camera_paths"}}
LONG_6000 = {"train": {"iters": 6000, "flow_freeze_iters": 6000}}
FACTORS = {
    "sr": [BASE, IDENTITY,
           ("num_frames", 15, {"data": {"num_frames": 15}}),
           ("iters", 6000, {"train": {"iters": 6000, "flow_freeze_iters": 6000}}),
           ("width", "C32 x 2 blocks", {"model": {"num_feat": 32, "num_blocks": 2}}),
           # the restorers' flow net (the SR student, trained at lq_zoom 8) run at a lower zoom, in training and in
           # use: a quarter, a sixteenth of the pixels (the single-frame network has no flow net: its run is base's)
           ("lq_zoom", 4, {"flow": {"lq_zoom": 4}}),
           ("lq_zoom", 2, {"flow": {"lq_zoom": 2}}),
           # beside the real clips, the training photographs under a moving camera: sub-pixel motion to exploit
           ("extra_train", "camera paths", {"data": {"extra_train": "camera_paths"}}),
           CARRY, CARRY_GRU],
    # deblurring is where the multi-frame networks already lean on their neighbours (+1 dB and more) and still
    # trail the single-frame network: does a 3x longer run let them pass it?
    "deblur": [BASE, IDENTITY, ("iters", 6000, LONG_6000), CARRY,
               ("carry_iters", "block, 6000", _merge(CARRY[2], LONG_6000)),
               # training clips as long as the validation clips (16 frames): no frame is past the training length
               ("num_frames", 15, {"data": {"num_frames": 15}}),
               # S2SVR's validation peaks near step 500 and then falls in every 2000-step run while its training
               # loss stays flat, and every network's curve dips at the same steps of a seed (the same batches):
               # a lower learning rate, and the global gradient norm clipped at 0.1, about the 90th percentile
               # of S2SVR's steps 150-400 of the base run on its training clips (median 0.07, largest 0.24)
               ("lr", 5e-4, {"train": {"lr": 5e-4}}),
               ("lr", 2e-4, {"train": {"lr": 2e-4}}),
               ("grad_clip", 0.1, {"train": {"grad_clip": 0.1}}),
               ("extra_train", "camera paths", DEBLUR_EXTRA), CARRY_GRU,
               # the bounded state with the more varied data, under which the unbounded one collapsed
               ("carry_extra_train", "gru, camera paths", _merge(CARRY_GRU[2], DEBLUR_EXTRA)),
               # the adopted recipe's curves still rise at its last step: the same, 3x longer
               ("carry_extra_train_iters", "gru, camera paths, 6000",
                _merge(_merge(CARRY_GRU[2], DEBLUR_EXTRA), LONG_6000))],
    "vqe": [BASE, IDENTITY,
            ("patch_size", 64, {"data": {"patch_size": 64}}),
            ("lr", 2e-4, {"train": {"lr": 2e-4}}),
            # Charbonnier with eps 0.1 is L2 for errors << 0.1 (a codec's are ~0.02): the loss PSNR measures. Under L1
            # (eps 1e-6) a correction whose sign is hard to predict shrinks to zero, and the multi-frame networks' did
            ("loss", "L2 (Charbonnier eps 0.1)", {"train": {"charbonnier_eps": 0.1}}),
            # MFQEv2's authors see Delta PSNR near 0 for the first epochs: the validation curve of a 5x longer run
            ("iters", 10000, {"train": {"iters": 10000, "flow_freeze_iters": 10000}}),
            # the two that moved the validation Delta PSNR, together: the adopted L2 loss trained 5x longer
            ("l2_iters", 10000, {"train": {"iters": 10000, "flow_freeze_iters": 10000, "charbonnier_eps": 0.1}}),
            CARRY, CARRY_GRU],
}
# What the cpu configs and the plan adopted from the study, each chosen on the validation clips (the rows' `val`),
# never on the test clips: SR the identity heads (every architecture's validation PSNR up) and the restorers' flow
# net at zoom 4 (within 0.03 dB of zoom 8 on validation, a quarter of the flow net's pixels in use); VQE the L2 loss
# (the single-frame network's validation Delta PSNR up, and S2SVR's); deblurring S2SVR carrying F_g's bounded state
# with the camera-path clips (S2SVR above both baselines on the same data over three seeds each, its curve rising to
# the end; unbounded, the same data made it collapse: the chapter's "One seed or three"). The plan's jobs are the starting recipe plus these factors (tests/report/test_study.py
# checks it, key for key).
ADOPTED = {"sr": (("head_init", "identity"), ("lq_zoom", 4)), "deblur": (("carry_extra_train", "gru, camera paths"),),
           "vqe": (("loss", "L2 (Charbonnier eps 0.1)"),)}
# The order the runs are trained in: the cheap factors of every task first, the long ones after.
ORDER = [("sr", "base"), ("sr", "head_init"), ("sr", "extra_train"), ("sr", "lq_zoom"), ("vqe", "base"),
         ("vqe", "head_init"), ("sr", "num_frames"), ("deblur", "base"), ("deblur", "head_init"), ("sr", "iters"), ("vqe", "patch_size"),
         ("sr", "width"), ("vqe", "lr"), ("vqe", "loss"), ("vqe", "iters"),
         ("vqe", "l2_iters"), ("deblur", "iters"), ("deblur", "carry"), ("sr", "carry"), ("vqe", "carry"),
         ("deblur", "carry_iters"), ("deblur", "num_frames"), ("deblur", "lr"), ("deblur", "grad_clip"),
         ("deblur", "extra_train"), ("deblur", "carry_extra_train"), ("deblur", "carry_extra_train_iters")]
COLUMNS = ("task", "factor", "value", "arch", "seed", "steps", "metric", "val", "val_h264", "neighbour_gain",
           "neighbour_wins", "neighbour_windows", "test", "seconds_per_step", "gflop_per_step", "train_seconds", "key")


def adopted_jobs(task: str) -> dict:
    """{arch: the study's job of the starting recipe plus every factor of `ADOPTED[task]`}, as the study would
    train it (validation clips, outputs not kept)."""
    over = dict(START[task])
    for factor, value in ADOPTED[task]:
        (o,) = [o for f, v, o in FACTORS[task] if f == factor and v == value]
        over = _merge(over, o)
    plan = plan_jobs(PROFILE)
    return {arch: RestoreJob(plan[f"{task}/{arch}"].config, PROFILE, arch=arch, flow=plan[f"{task}/{arch}"].flow,
                             save_outputs=False).with_overrides(**over) for arch in ARCHS}


def study_jobs(task: str = "sr", factors=None, seed: int = 0) -> list[tuple[str, object, RestoreJob]]:
    """[(factor, value, job)] of the study of `task`: every factor x every arch."""
    plan = plan_jobs(PROFILE)
    out = []
    for factor, value, over in FACTORS[task]:
        if factors and factor not in factors:
            continue
        over = _merge(START[task], over)
        if seed:
            over["seed"] = seed
        for arch in ARCHS:
            base = plan[f"{task}/{arch}"]
            out.append((factor, value, RestoreJob(base.config, PROFILE, arch=arch, flow=base.flow, save_outputs=False)
                        .with_overrides(**over)))
    return out


def ordered_jobs(tasks=None, seed: int = 0, order=None) -> list[RestoreJob]:
    """Every study job of `tasks` (default all), in `order` ((task, factor) pairs; default `ORDER`)."""
    return [job for task, factor, *value in (order or ORDER) if tasks is None or task in tasks
            for _, v, job in study_jobs(task, [factor], seed=seed) if not value or str(v) == value[0]]


def parse_factors(items) -> list[tuple[str, str]]:
    """`--factor sr:iters sr:lq_zoom=4` -> [("sr", "iters"), ("sr", "lq_zoom", "4")], checked against `FACTORS`."""
    out = []
    for item in items:
        task, _, rest = item.partition(":")
        factor, eq, value = rest.partition("=")
        values = {str(v) for f, v, _ in FACTORS.get(task, []) if f == factor}
        if not values or (eq and value not in values):
            known = ", ".join(f"{t}:{f}" for t, f in ORDER)
            raise SystemExit(f"--factor {item}: not a study factor (known: {known}; a value as sr:lq_zoom=4)")
        out.append((task, factor, value) if eq else (task, factor))
    return out


def root(output_dir: str | Path = "outputs") -> Path:
    return Path(output_dir) / PROFILE / "study"


def median_step_seconds(log_csv: str | Path) -> float | None:
    """Median `seconds_per_step` of a run's log rows (the trainer leaves validation and checkpoints out)."""
    p = Path(log_csv)
    if not p.is_file():
        return None
    with open(p, newline="") as f:
        vals = [float(r["seconds_per_step"]) for r in csv.DictReader(f) if r.get("seconds_per_step")]
    return statistics.median(vals) if vals else None


def row(task: str, factor: str, value, job: RestoreJob, res: dict) -> dict:
    """One CSV row of a finished study run: its validation metric (PSNR, or delta PSNR for compressed video),
    neighbour gain, test metric (for the record: the study chooses on validation only) and cost."""
    from ..train.evaluate import metric_convention
    from ..train.step_cost import training_step
    cfg = job.cfg()
    metric = "delta_psnr" if metric_convention(cfg)["kind"] == "delta" else "psnr"
    val = res.get("validation") or {}
    _, flops = training_step(cfg)
    return {"task": task, "factor": factor, "value": value, "arch": job.arch, "seed": cfg.seed,
            "steps": res.get("steps"), "metric": metric, "val": val.get("mean", {}).get(metric),
            "val_h264": (val.get("h264") or {}).get(metric),
            "neighbour_gain": val.get("neighbour_gain"), "neighbour_wins": val.get("neighbour_wins"),
            "neighbour_windows": val.get("neighbour_windows"), "test": res.get("mean", {}).get(metric),
            "seconds_per_step": median_step_seconds(res.get("log") or ""), "gflop_per_step": flops / 1e9,
            "train_seconds": res.get("train_seconds"), "key": key(job)}


def study_csv(task: str) -> Path:
    from ..reference import weights_dir
    return weights_dir() / "study" / f"{task}.csv"


def collect(task: str = "sr", output_dir: str | Path = "outputs", seeds=None) -> Path:
    """Write every finished run of the study of `task` (under `root(output_dir)`) to `weights/study/<task>.csv`,
    keeping rows already there whose run is no longer on this machine. `seeds`: the seeds whose runs are looked
    for; default seed 0 and every seed the shipped table has."""
    path = study_csv(task)
    # one run can stand in several rows (the single-frame network has no flow net, so its run of the factor
    # `lq_zoom` is the one of `base`): a kept row is found by its factor and value as well as its run's key
    old = shipped_rows(path, ("factor", "value", "key"))
    if seeds is None:
        seeds = sorted({0} | {int(r["seed"]) for r in old.values() if r.get("seed")})
    # and a run that a factor does not change (a baseline under S2SVR's own `carry`) is its key's kept row (base's)
    by_key = {}
    for (factor, _, k), r in old.items():
        if factor == "base" or k not in by_key:
            by_key[k] = r
    rows = []
    for seed in seeds:
        for factor, value, job in study_jobs(task, seed=seed):
            res, kept = cached(job, root(output_dir)), old.get((factor, str(value), key(job)))
            if kept is None and key(job) in by_key:
                kept = {**by_key[key(job)], "factor": factor, "value": str(value)}
            if res is not None:
                rows.append(row(task, factor, value, job, res))
            elif kept is not None:
                rows.append(kept)
    collect_curves(task, output_dir, seeds)
    return write_table(path, COLUMNS, rows, digits=6)


# The study's factor 'steps': the validation curve of its long runs, kept step by step (the runner logs one point
# every `train.val_interval` steps), beside the last point that the table keeps.
CURVE_FACTORS = ("iters", "l2_iters", "carry_iters", "carry_extra_train_iters")
# and of the starting-length runs whose curves say whether a factor stops deblurring's validation from falling
# after its early peak (the chapter draws them one panel per network)
SETTLING_FACTORS = {"deblur": ("base", "num_frames", "lr", "grad_clip", "extra_train", "carry", "carry_extra_train")}
CURVE_COLUMNS = ("task", "factor", "value", "arch", "seed", "step", "metric", "val", "key")


def curves_csv(task: str) -> Path:
    return study_csv(task).with_name(f"{task}_curves.csv")


def curve_rows(task: str, factor: str, value, job: RestoreJob, res: dict) -> list[dict]:
    """The validation curve of a finished study run: one row per logged validation (its `val_log`)."""
    cfg = job.cfg()
    metric = "delta_psnr" if cfg.model.task == "vqe" else "psnr"
    log = Path(res.get("val_log") or "")
    if not log.is_file():
        return []
    with open(log, newline="") as f:
        return [{"task": task, "factor": factor, "value": value, "arch": job.arch, "seed": cfg.seed,
                 "step": int(r["step"]), "metric": metric, "val": float(r[metric]), "key": key(job)}
                for r in csv.DictReader(f)]


def collect_curves(task: str = "sr", output_dir: str | Path = "outputs", seeds=(0,)) -> Path | None:
    """Write the validation curves of the finished runs of `CURVE_FACTORS` and `SETTLING_FACTORS` of `task` to
    `weights/study/<task>_curves.csv`, keeping the curves already there of runs not on this machine; None when
    the task has no such factor."""
    factors = (*CURVE_FACTORS, *SETTLING_FACTORS.get(task, ()))
    if not any(f in factors for f, _, _ in FACTORS[task]):
        return None
    path = curves_csv(task)
    old = {}
    if path.is_file():
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                old.setdefault((r["factor"], r["value"], r["key"]), []).append(r)
    rows = []
    for seed in seeds:
        for factor, value, job in study_jobs(task, factors, seed=seed):
            res = cached(job, root(output_dir))
            rows += (curve_rows(task, factor, value, job, res) if res is not None
                     else old.get((factor, str(value), key(job)), []))
    return write_table(path, CURVE_COLUMNS, rows, digits=6)


def shipped_rows(path: Path, by: tuple) -> dict:
    """{(row[c] for c in by): row} of a shipped results table (empty when there is none): the rows `collect` keeps
    for runs that are not on this machine."""
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        return {tuple(r[c] for c in by): r for r in csv.DictReader(f)}


def write_table(path: Path, columns, rows, digits: int = 6) -> Path:
    """Write `rows` (dicts; only `columns` kept, floats to `digits` significant digits) to the CSV `path`, whole or
    not at all (a temporary file, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.{digits}g}" if isinstance(v, float) else v) for k, v in r.items() if k in columns})
    tmp.replace(path)
    return path


USE_ZOOMS = (8, 4, 2, 1)   # the SR flow net's zoom in use, for the table of quality and time in use
USE_SIZE = (176, 144)      # LQ frame of the timing (carphone's size, CIF/4)


def use_csv(task: str) -> Path:
    return study_csv(task).with_name(f"{task}_use.csv")


def use_rows(task: str = "sr", output_dir: str | Path = "outputs", frames: int = 8) -> list[dict]:
    """The cost in use of the finished multi-frame runs of `task`'s base and lq_zoom factors: validation score and
    seconds per frame (the whole restore of `frames` frames of `USE_SIZE`, one thread) at each zoom of `USE_ZOOMS` in
    use, beside the single-frame network's seconds per frame measured in the same process (a time ratio that a
    loaded machine affects less than the times)."""
    import numpy as np
    import torch

    from ..models.motion import set_flow_use
    from ..restore import restore_stream
    from ..train.data import build_val_sequences
    from ..train.evaluate import evaluate_sequences, metric_convention
    from ..train.loading import load_restorer
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    w, h = USE_SIZE
    base = (rng.random((h + frames, w + frames, 3)) * 255).astype(np.uint8)
    clip = [base[i:i + h, i:i + w] for i in range(frames)]  # a texture moving diagonally one pixel a frame

    def sec_per_frame(model):  # the whole restore over its frames: a whole-clip model yields its frames at once
        t0 = time.perf_counter()
        n = sum(1 for _ in restore_stream(model, iter(clip)))
        return (time.perf_counter() - t0) / n

    rows, single = [], None
    for factor, value, job in study_jobs(task, ["base", "lq_zoom"]):
        res = cached(job, root(output_dir))
        if res is None or not res.get("checkpoint"):
            continue
        model, cfg = load_restorer(res["checkpoint"])
        if job.arch == "single_frame":
            if single is None:
                single = sec_per_frame(model)
            continue
        metric = "delta_psnr" if metric_convention(cfg)["kind"] == "delta" else "psnr"
        for zoom in USE_ZOOMS:
            set_flow_use(model, zoom=zoom)
            with torch.no_grad():
                ev = evaluate_sequences(model, build_val_sequences(cfg), cfg, progress=False)
            if single is None:  # no finished single-frame run to time against
                continue
            spf, ref = sec_per_frame(model), single
            rows.append({"task": task, "factor": factor, "value": value, "arch": job.arch,
                         "train_zoom": cfg.flow.lq_zoom, "use_zoom": zoom, "metric": metric,
                         "val": ev["mean"][metric], "seconds_per_frame": spf, "single_frame_seconds": ref,
                         "ratio": spf / ref, "size": f"{w}x{h}", "key": key(job)})
    return rows


def write_use(task: str = "sr", output_dir: str | Path = "outputs") -> Path:
    rows = use_rows(task, output_dir)
    path = use_csv(task)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["task"])
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    tmp.replace(path)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m s2svr.experiments.study", description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("run", "collect", "list", "use"))
    ap.add_argument("--task", nargs="*", choices=sorted(FACTORS), help="default: every task, in ORDER")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output-dir", default="outputs")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--factor", nargs="*", default=None, metavar="TASK:FACTOR",
                    help="run only these, in this order (default: every factor, in ORDER)")
    args = ap.parse_args(argv)
    order = parse_factors(args.factor) if args.factor else None
    tasks = args.task or sorted(FACTORS)
    if args.command == "list":
        for task in tasks:
            for factor, value, job in study_jobs(task, seed=args.seed):
                state = "done" if cached(job, root(args.output_dir)) else "todo"
                print(f"{task:7s} {factor:12s} {str(value):16s} {job.arch:13s} {state}  "
                      f"{job_dir(job, root(args.output_dir))}")
        return 0
    if args.command == "use":  # the cost in use of the finished SR runs (eval only, no training)
        print(f"written {write_use('sr', args.output_dir)}")
        return 0
    if args.command == "run":
        run(ordered_jobs(tasks, seed=args.seed, order=order), root(args.output_dir), workers=args.workers, train=True)
    for task in tasks:
        print(f"written {collect(task, args.output_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
