"""How accurate must the flow be before a multi-frame SR network gains from its neighbours? The alignment oracle.

Explained in the chapter `notebooks/exp_study.py`. The restorer study (`s2svr/experiments/study.py`) finds no
neighbour gain for x4 SR at the cpu scale, whatever factor it changes. Real clips cannot say why, because their
true motion is unknown. Camera-path clips can: a still photograph under a smooth moving camera
(`s2svr.data.camera_paths`), whose LQ flow is known exactly (`exact_lq_flows`). Here the BasicVSR-style network
trains and is judged with

- the true flow, then the true flow plus a smooth error of standard deviation `sigma` LQ pixels (`SIGMAS`);
- the flow of the SR student, the flow net every restorer of the book uses;

beside the single-frame network, all at the study's SR budget (its `base` recipe). Training clips: two paths of
each training photograph but the last; validation: four paths of the last one (`VAL_PHOTO`), never trained on.
No test clip or test photograph is used. Per run it records the validation PSNR, the neighbour gain (every
validation frame with a full window, `s2svr.train.neighbours`) and the end-point error of its flow against the
truth on the validation clips.

`python -m s2svr.experiments.alignment run` trains what is missing (resumable, under `outputs/cpu/alignment`);
`collect` writes `weights/study/alignment.csv`, which the book draws.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

SIGMAS = (0.0, 0.1, 0.25, 0.5)   # LQ pixels: std of the smooth error added to the true flow
VAL_PHOTO = "grass"              # the last training photograph: validation only
VAL_SEEDS = (1005, 1011, 3000, 3001)  # its camera paths (1005 and 1011 are the study's extra_train paths of it)
TRAIN_SEEDS = 2                  # paths per other training photograph (seeds 1000 + k, as the study's)
ERROR_GRID = 3                   # the error field: a 3 x 3 grid of Gaussian offsets, interpolated bilinearly
COLUMNS = ("run", "arch", "flow", "sigma", "steps", "val", "neighbour_gain", "neighbour_wins", "neighbour_windows",
           "epe", "epe_zero", "seconds_per_step", "train_seconds", "val_real", "neighbour_gain_real")


@dataclass(frozen=True)
class Run:
    name: str
    arch: str                    # single_frame | basicvsr | s2svr
    flow: Optional[str]          # None (no flow), 'truth' or 'student'
    sigma: float = 0.0           # with 'truth': the error's std, LQ px


RUNS = ([Run("single-frame", "single_frame", None)]
        + [Run(f"BasicVSR, true flow + {s:g} px", "basicvsr", "truth", s) for s in SIGMAS]
        + [Run("BasicVSR, student flow", "basicvsr", "student"),
           Run("S2SVR, true flow", "s2svr", "truth", 0.0), Run("S2SVR, student flow", "s2svr", "student")])


def _clips(split: str):
    """(sequences, exact flow banks) of the training or validation camera-path clips."""
    from ..data.camera_paths import exact_lq_flows, sr_clip
    from ..data.embedded_recipe import TRAIN_PHOTOS
    from ..data.sequence import FrameSource, VideoSequence
    if split == "train":
        specs = [(p, 1000 + k + 6 * j) for j in range(TRAIN_SEEDS) for k, p in enumerate(TRAIN_PHOTOS)
                 if p != VAL_PHOTO]
    else:
        specs = [(VAL_PHOTO, s) for s in VAL_SEEDS]
    seqs, flows = [], []
    for photo, seed in specs:
        lq, gt, mats = sr_clip(photo, seed)
        name = f"{photo}_{seed}"
        seqs.append(VideoSequence(f"sr/{name}", FrameSource.from_frames(f"{name}/lq", lq),
                                  FrameSource.from_frames(f"{name}/gt", gt), scale=4))
        flows.append(exact_lq_flows(mats, lq.shape[1:3]))
    return seqs, flows


def flow_error(shape: tuple, sigma: float, seed) -> np.ndarray:
    """A smooth error field `(2, h, w)`: Gaussian offsets of std `sigma` on an `ERROR_GRID` square grid, bilinear
    in between (flow nets err smoothly, not pixel by pixel)."""
    import torch
    import torch.nn.functional as F
    if sigma == 0:
        return np.zeros((2,) + tuple(shape), np.float32)
    g = np.random.default_rng(seed).normal(0.0, sigma, (1, 2, ERROR_GRID, ERROR_GRID)).astype(np.float32)
    return F.interpolate(torch.from_numpy(g), size=tuple(shape), mode="bilinear", align_corners=True)[0].numpy()


def bank_of(flows, sigma: float = 0.0, seed: int = 0):
    """A `FlowBank` of exact flows `[(fw, bw)]`, each pair's flow plus its own smooth error (`flow_error`)."""
    from ..train.flow_bank import FlowBank
    fw, bw = [], []
    for k, (f, b) in enumerate(flows):
        hw = f.shape[-2:]
        fw.append(np.stack([f[i] + flow_error(hw, sigma, [seed, k, i, 0]) for i in range(len(f))]))
        bw.append(np.stack([b[i] + flow_error(hw, sigma, [seed, k, i, 1]) for i in range(len(b))]))
    return FlowBank(fw, bw)


def epe(bank, flows) -> float:
    """Mean end-point error (LQ px) of a bank's forward and backward flows against the exact ones."""
    err = [np.sqrt(((got - want) ** 2).sum(1)).mean() for k, (f, b) in enumerate(flows)
           for got, want in ((bank.fw[k], f), (bank.bw[k], b))]
    return float(np.mean(err))


def _study_job(arch: str):
    from .study import study_jobs
    return next(job for _, _, job in study_jobs("sr", ["base"]) if job.arch == arch)


def run_dir(run: Run, output_dir: str | Path = "outputs", key_of=None) -> Path:
    """`<output_dir>/cpu/alignment/<arch>-<flow>-<hash>`: the hash covers the study job's key and the flow.
    `key_of(job)`: the key rule (default `s2svr.experiments.jobs.key`; `s2svr.experiments.rekey` asks the old one)."""
    from .jobs import key
    ident = json.dumps([(key_of or key)(_study_job(run.arch)), run.flow, run.sigma], sort_keys=True)
    tag = hashlib.sha256(ident.encode()).hexdigest()[:10]
    return Path(output_dir) / "cpu" / "alignment" / f"{run.arch}-{run.flow or 'none'}-{tag}"


def train_one(run: Run, output_dir: str | Path = "outputs", progress: bool = True, max_steps: int | None = None) -> dict:
    """Train (or resume) and judge one run; its result is also kept in its folder (`result.json`). `max_steps`:
    stop early (tests)."""
    import torch

    from ..train.loading import load_restorer
    from ..train.evaluate import evaluate_sequences, metric_convention
    from ..train.flow_bank import FlowBank
    from ..train.neighbours import neighbour_gain
    from ..train.trainer import train
    from .runner import cached
    from .study import median_step_seconds, root as study_root
    d = run_dir(run, output_dir)
    if (d / "result.json").is_file():
        return json.loads((d / "result.json").read_text())
    job = _study_job(run.arch)
    flow_ckpt = None
    if job.flow is not None:
        dep = cached(job.flow, study_root(output_dir))
        if dep is None:
            raise RuntimeError(f"{job.flow.label}: the SR student has not been trained under {study_root(output_dir)}; "
                               "run `python -m s2svr.experiments.study run --factor sr:base` first")
        flow_ckpt = dep["checkpoint"]
    cfg = job.cfg(flow_checkpoint=flow_ckpt)
    train_seqs, train_flows = _clips("train")
    val_seqs, val_flows = _clips("val")
    t0 = time.time()
    bank = bank_of(train_flows, run.sigma, seed=1) if run.flow == "truth" else None
    res = train(cfg, d / "train", progress=progress, flow_cache=d / "flow_cache", sequences=train_seqs,
                flows=bank, val_sequences=[], max_steps=max_steps)
    model, _ = load_restorer(res.checkpoint)
    model.eval()
    val_bank = err = None
    if run.flow == "truth":
        val_bank = bank_of(val_flows, run.sigma, seed=2)
    elif run.flow == "student":
        with torch.no_grad():
            val_bank = FlowBank.compute(model.flow, val_seqs, "rgb", getattr(model, "flow_size", None))
    if val_bank is not None:
        err = epe(val_bank, val_flows)
    scores = evaluate_sequences(model, val_seqs, cfg, progress=False, bank=val_bank)
    zero = epe(FlowBank([np.zeros_like(f) for f, _ in val_flows], [np.zeros_like(b) for _, b in val_flows]),
               val_flows)
    ng = {"gain": 0.0, "wins": 0, "windows": 0}
    if run.flow is not None:
        ng = neighbour_gain(model, val_seqs, num_frames=None, stride=1, convention=metric_convention(cfg),
                            bank=val_bank)
    out = {"run": run.name, "arch": run.arch, "flow": run.flow or "", "sigma": run.sigma if run.flow == "truth" else "",
           "steps": res.step, "val": scores["mean"]["psnr"], "neighbour_gain": ng["gain"],
           "neighbour_wins": ng["wins"], "neighbour_windows": ng["windows"], "epe": err, "epe_zero": zero,
           "seconds_per_step": median_step_seconds(d / "train" / "log.csv"), "train_seconds": time.time() - t0}
    (d / "result.json").write_text(json.dumps(out, indent=1))
    return out


def on_real(run: Run, output_dir: str | Path = "outputs") -> dict:
    """A finished run judged again on the real validation clips of the SR study (`study.VAL_CLIPS["sr"]`), with the
    flow of its own flow net (the SR student; a run trained with the true flow has no other on real clips): does a
    network that learned to use its neighbours on camera paths use them on real footage? Kept in its
    `result.json` under 'real': {'val', 'neighbour_gain', 'neighbour_wins', 'neighbour_windows'}."""
    import torch

    from ..train.data import build_val_sequences
    from ..train.evaluate import evaluate_sequences, metric_convention
    from ..train.flow_bank import FlowBank
    from ..train.loading import load_restorer
    from ..train.neighbours import neighbour_gain
    from ..utils import write_text_atomic
    d = run_dir(run, output_dir)
    res = json.loads((d / "result.json").read_text())
    if "real" in res:
        return res["real"]
    model, cfg = load_restorer(d / "train" / "last.pt")
    model.eval()
    cfg = _study_job(run.arch).cfg()  # the study's data: its validation clips are real held-out shots
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, test_frames=None))  # whole clips
    seqs = build_val_sequences(cfg)
    bank = None
    with torch.no_grad():
        if run.flow is not None:
            bank = FlowBank.compute(model.flow, seqs, "rgb", getattr(model, "flow_size", None))
        scores = evaluate_sequences(model, seqs, cfg, progress=False, bank=bank)
        ng = {"gain": 0.0, "wins": 0, "windows": 0}
        if run.flow is not None:
            ng = neighbour_gain(model, seqs, num_frames=None, stride=1, convention=metric_convention(cfg), bank=bank)
    res["real"] = {"val": scores["mean"]["psnr"], "neighbour_gain": ng["gain"], "neighbour_wins": ng["wins"],
                   "neighbour_windows": ng["windows"]}
    write_text_atomic(d / "result.json", json.dumps(res, indent=1))
    return res["real"]


def csv_path() -> Path:
    from ..reference import weights_dir
    return weights_dir() / "study" / "alignment.csv"


def collect(output_dir: str | Path = "outputs") -> Path:
    """Write the finished runs to `weights/study/alignment.csv` (in `RUNS` order), keeping the rows already there
    of runs that are not on this machine."""
    from .study import shipped_rows, write_table
    old = shipped_rows(csv_path(), ("run",))
    rows = []
    for r in RUNS:
        done = run_dir(r, output_dir) / "result.json"
        if done.is_file():
            res = json.loads(done.read_text())
            real = res.pop("real", None) or {}
            rows.append({**res, "val_real": real.get("val"), "neighbour_gain_real": real.get("neighbour_gain")})
        elif (r.name,) in old:
            rows.append(old[(r.name,)])
    return write_table(csv_path(), COLUMNS, rows, digits=5)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m s2svr.experiments.alignment", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["run", "real", "collect", "list"],
                    help="real: judge the finished runs again on the SR study's real validation clips")
    ap.add_argument("--output-dir", default="outputs")
    ap.add_argument("--only", nargs="*", type=int, help="run only these, in this order (indices of `list`)")
    args = ap.parse_args(argv)
    if args.command == "list":
        for i, r in enumerate(RUNS):
            done = (run_dir(r, args.output_dir) / "result.json").is_file()
            print(f"{i}  {'done' if done else 'todo'}  {r.name}  {run_dir(r, args.output_dir)}")
        return 0
    if args.command in ("run", "real"):
        import torch
        torch.set_num_threads(1)
        for i in (range(len(RUNS)) if args.only is None else args.only):
            if args.command == "run":
                print(json.dumps(train_one(RUNS[i], args.output_dir)), flush=True)
            elif (run_dir(RUNS[i], args.output_dir) / "result.json").is_file():
                print(RUNS[i].name, json.dumps(on_real(RUNS[i], args.output_dir)), flush=True)
    print(collect(args.output_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
