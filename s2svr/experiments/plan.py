"""Every experiment of the book in one place: the chapters ask this module for results by name.

`results(profile, names, output_dir)` runs (or reuses, see `s2svr.experiments.runner`) the named jobs and their
dependencies under `<output_dir>/<profile>/experiments` and returns {name: result}; `output_dir` is the chapters'
parameter of the same name (`outputs` by default, in `make book` as in a chapter opened by hand). Several chapters share runs (Table 1's
S2SVR is also Table 4's "unsupervised" row and Table 5's model), so they are defined once here.
`python -m s2svr.experiments.plan --profile cpu` runs the whole plan ahead of the chapters.

Flow (Algorithm 1, on the embedded flow set): one teacher on HQ frames (shared by the three tasks, its
data and loss do not depend on the task), a distilled student per task on that task's degraded frames, and,
for super-resolution, the controls of Table 4: student without distillation, supervised on HQ and on LQ.
Restoration: per task, identity (bicubic / degraded input), single-frame, BasicVSR-style and S2SVR, the two
recurrent ones with their PWC-Lite initialised from the task's distilled student; for Table 4 S2SVR-SR again
with the flow of each control.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from ..configs import load_config
from ..configs.schema import ARCHS, FLOW_ARCHS
from .jobs import FlowJob, RestoreJob
from .runner import run

TASK_CONFIGS = {"sr": "sr_reds4", "deblur": "deblur_gopro", "vqe": "vqe_mfqe"}
# the paper's path of Algorithm 1 (raw cost volume, constant lr 1e-4, forward-backward occlusion from the first step,
# no clipping, ARFlow's augmentation, zoom 1, students from scratch) over a profile's recipe
PAPER_FLOW = {"net": {"cost_norm": False}, "loss": {"occlusion": "fb", "smooth_order": 1}, "stage1": None,
              "optim": {"lr": 1e-4, "warmup_iters": 0, "schedule": "constant", "grad_clip": 0.0},
              "augment": {"flips": "hflip", "jitter": 0.0, "patch_size": 128},
              "zoom": 1.0, "lq_zoom": None, "pad": False, "student_init": "scratch"}
# How the plan's teacher runs in use (its evaluation curve, the chapters, `s2svr flow`), per profile: a use, not part
# of what it trained (`FlowJob.use_zoom`, recorded beside the weights). At zoom 4 PWC-Lite's 1/4-resolution output
# lies on the frames' own pixel grid; chosen on the training pairs (chapter notebooks/distillation.py). The paper
# path and the other profiles run it at the zoom it trained at.
TEACHER_USE_ZOOM = {"cpu": 4}

# The zoom at which the restorers run their flow net, in training and in use, where it is not the config's
# `flow.lq_zoom` (which is also the student's training zoom, so cannot change without retraining the student). cpu
# SR: 4, not 8. The study measured it on its validation clips (chapter notebooks/exp_study.py): the same PSNR within
# 0.03 dB, and a quarter of the flow net's pixels in use.
RESTORER_LQ_ZOOM = {"cpu": {"sr": 4}}
# The headline comparison of each task (S2SVR against the single-frame and BasicVSR-style networks) is trained again
# with these seeds beside the config's seed 0: the verdicts judge a difference against the spread over seeds
# (`s2svr.report.verdicts`). Named `<task>/<arch>/seed<N>`; their restored test frames are not kept. Seed 2 costs
# about 2.7 core-hours: with it the plan is about 12 core-hours, over `make weights`' 5 hours at two jobs at a time
# (see `python -m s2svr.experiments.weights cost`); the reference weights were trained in chunks (`KEEP=1`).
SEEDS = {"cpu": (1, 2)}
HEADLINE = ("single_frame", "basicvsr", "s2svr")

FLOW_TRUTH = {"dataset": "embedded", "root": "data/embedded"}  # the data of a supervised flow stage (see jobs)


def jobs(profile: str) -> dict:
    """{name: job} of the whole plan for `profile` (profile paper under `S2SVR_REHEARSAL=1`: every job at its
    config's ci sizes, `s2svr.experiments.rehearsal`)."""
    out = {}
    teacher = FlowJob("sr_reds4", profile, "teacher", use_zoom=TEACHER_USE_ZOOM.get(profile))
    out["flow/teacher"] = teacher
    for task, config in TASK_CONFIGS.items():
        out[f"flow/{task}/student"] = FlowJob(config, profile, "student", teacher=teacher)
    # the control without distillation: from the teacher's weights too when the students start from them
    from_teacher = load_config("sr_reds4", profile).flow.student_init == "teacher"
    out["flow/sr/student-nodistill"] = FlowJob("sr_reds4", profile, "student-nodistill",
                                               teacher=teacher if from_teacher else None)
    # Table 4's supervised controls need ground-truth flow, which only the embedded flow set has (synthetic layered
    # motion, chapter "Data"): on a real dataset (profile paper) they train on that set, as the paper's supervised
    # flow nets trained on synthetic data; the S2SVR each initialises then trains on the task's own data
    truth = {} if load_config("sr_reds4", profile).data.dataset == "embedded" else {"data": FLOW_TRUTH}
    for frames in ("hq", "lq"):
        out[f"flow/sr/supervised-{frames}"] = FlowJob("sr_reds4", profile, "supervised", frames=frames
                                                      ).with_overrides(**truth)
    # the recipe against the plateau: the same teacher with ARFlow's raw cost volume, and on the paper's path
    # (raw cost volume, constant lr 1e-4, forward-backward occlusion from the start, no clipping)
    # (the raw-cost control stays at its training zoom in use: its flow is ~zero at any zoom, see the chapter)
    plain_teacher = dataclasses.replace(teacher, use_zoom=None)
    out["flow/teacher-rawcost"] = plain_teacher.with_overrides(flow={"net": {"cost_norm": False}})
    out["flow/teacher-paper"] = plain_teacher.with_overrides(flow=PAPER_FLOW)
    zooms = RESTORER_LQ_ZOOM.get(profile, {})

    def restorer(config, arch, net=None, seed=0, **over):
        """`arch` on `config`, its flow net initialised from job `net`, with the profile's restorer zoom."""
        task = next(t for t, c in TASK_CONFIGS.items() if c == config)
        if arch in FLOW_ARCHS and task in zooms:
            over.setdefault("flow", {})["lq_zoom"] = zooms[task]
        if seed:
            over["seed"] = seed
        job = RestoreJob(config, profile, arch=arch, flow=net, save_outputs=not seed)
        return job.with_overrides(**over) if over else job

    for task, config in TASK_CONFIGS.items():
        student = out[f"flow/{task}/student"]
        for arch in ARCHS:
            out[f"{task}/{arch}"] = restorer(config, arch, student if arch in FLOW_ARCHS else None)
    for control in ("student-nodistill", "supervised-hq"):
        out[f"sr/s2svr+{control}"] = restorer("sr_reds4", "s2svr", out[f"flow/sr/{control}"])
    # Table 4 without learning the flow at all: S2SVR with OpenCV's DIS flow (runs offline, unlike RAFT)
    out["sr/s2svr+dis"] = restorer("sr_reds4", "s2svr", flow={"net": {"type": "dis"}})
    for seed in SEEDS.get(profile, ()):
        for task, config in TASK_CONFIGS.items():
            for arch in HEADLINE:
                out[f"{task}/{arch}/seed{seed}"] = restorer(config, arch, out[f"{task}/{arch}"].flow, seed=seed)
    if profile == "paper":  # Table 1's Vimeo-90K-T column: fine-tuned from the REDS model, as the paper trains it
        out["sr_vimeo/s2svr"] = RestoreJob("sr_vimeo", profile, arch="s2svr", flow=out["flow/sr/student"],
                                           init=out["sr/s2svr"])
    from .rehearsal import active, rehearsed
    return rehearsed(out) if active(profile) else out


def root(profile: str, output_dir: str | Path = "outputs") -> Path:
    """Where the plan's runs of `profile` live: `<output_dir>/<profile>/experiments`."""
    return Path(output_dir) / profile / "experiments"


def may_train(profile: str) -> bool:
    """Whether missing experiments may be trained: always with `S2SVR_TRAIN=1` (`make book TRAIN=1`), and for a
    profile that has no shipped reference weights (ci, paper); a profile that has them builds from them."""
    from ..reference import manifest
    return os.environ.get("S2SVR_TRAIN") == "1" or not any(e.get("profile") == profile for e in manifest().values())


def results(profile: str, names=None, output_dir: str | Path = "outputs", workers: int = 2,
            progress: bool = True, shipped: bool = True, train: bool | None = None, nproc: int = 1) -> dict:
    """{name: result dict} for `names` (default: the whole plan), running what is not cached.

    `shipped`: take what the reference weights hold (`s2svr.experiments.weights`); `train` (default
    :func:`may_train`): train what is neither cached nor shipped, else that is an error naming `make weights`.
    `nproc > 1`: every restoration training under `torchrun` with that many processes (`s2svr.experiments.runner`).
    """
    plan = jobs(profile)
    names = list(plan) if names is None else list(names)
    unknown = [n for n in names if n not in plan]
    if unknown:
        raise KeyError(f"unknown experiment(s) {unknown}; known: {', '.join(plan)}")
    done = run([plan[n] for n in names], root(profile, output_dir), workers=workers, progress=progress,
               shipped=shipped, train=may_train(profile) if train is None else train, nproc=nproc)
    return {n: done[plan[n]] for n in names}


def preflight(profile: str, names=None, output_dir: str | Path = "outputs", shipped: bool = True) -> list[str]:
    """The problems that would stop the jobs of `names` (default: the plan) that are neither finished nor shipped
    (`s2svr.experiments.preflight`)."""
    from ..reference import shipped_entry
    from .jobs import key
    from .preflight import check
    plan = jobs(profile)
    todo = [plan[n] for n in (names or plan) if n in plan]
    if shipped:
        todo = [j for j in todo if shipped_entry(key(j)) is None]
    return check(todo, root(profile, output_dir))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m s2svr.experiments.plan", description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--output-dir", default="outputs", help="the chapters' output_dir (default: outputs)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", nargs="*", help="names (default: all); see --list")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--train", action="store_true", help="train what is neither cached nor shipped")
    ap.add_argument("--no-shipped", action="store_true", help="ignore the shipped weights (make weights)")
    ap.add_argument("--nproc", type=int, default=1, metavar="N",
                    help="run each restoration training under torchrun --nproc_per_node N (DDP over N GPUs; gloo "
                         "processes on a CPU); flow stages run in one process")
    args = ap.parse_args(argv)
    if args.list:
        print("\n".join(jobs(args.profile)))
        return 0
    t0 = time.time()
    problems = preflight(args.profile, args.only, args.output_dir, shipped=not args.no_shipped)
    if problems:  # one line each, before anything is started or written
        for line in problems:
            print(f"plan {args.profile}: {line}", file=sys.stderr)
        print(f"plan {args.profile}: {len(problems)} problem(s); nothing was run", file=sys.stderr)
        return 2
    res = results(args.profile, args.only, output_dir=args.output_dir, workers=args.workers,
                  shipped=not args.no_shipped, train=True if args.train else None, nproc=args.nproc)
    for name, r in res.items():
        extra = r.get("mean") or r.get("checkpoint")
        print(f"{name:32s} {extra}")
    print(f"plan {args.profile}: {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
