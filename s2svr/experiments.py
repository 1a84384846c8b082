"""Experiments the book runs, cached by what they compute: `run(jobs)` trains and evaluates what is missing.

A job is a flow stage of Algorithm 1 (`FlowJob`) or a restoration training plus its evaluation
(`RestoreJob`). Its identity is the hash of its fully resolved config (profile, overrides, architecture and,
for a job that starts from a flow checkpoint, the identity of the job that made it), so a chapter that asks
again for the same experiment gets the finished result back in milliseconds, while a changed budget, model
size or flow initialisation runs anew. Package edits that do not change a config do not invalidate results;
delete the folder (`outputs/<profile>/experiments/`) to force a re-run.

Each job runs in its own subprocess (on the GPU when there is one; `S2SVR_DEVICE=cpu|cuda:1|...` chooses) with one
CPU thread (two jobs side by side on two cores are faster than one
job with two threads on a shared machine), writes into `ROOT/<name>-<key>/`, and marks success by writing
`result.json` last (atomically): an interrupted job leaves no result and resumes from its checkpoint.

    from s2svr.experiments import FlowJob, RestoreJob, run
    teacher = FlowJob("sr_reds4", "cpu", "teacher")
    student = FlowJob("sr_reds4", "cpu", "student", teacher=teacher)
    s2svr = RestoreJob("sr_reds4", "cpu", arch="s2svr", flow=student)
    results = run([teacher, student, s2svr], root="outputs/cpu/experiments")
    results[s2svr]["mean"]            # {'psnr': ..., 'ssim': ...} on the test set
    results[student]["checkpoint"]    # path of flow_student.pt
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


CACHE_VERSION = "1"
RESULT = "result.json"


class ExperimentError(RuntimeError):
    """A job failed; the message names the job and the last line of its log."""


def _freeze(d: Optional[dict]) -> str:
    return json.dumps(d or {}, sort_keys=True)


@dataclass(frozen=True)
class FlowJob:
    """One stage of Algorithm 1 on `config`'s data (`s2svr flow-train`); `teacher` for stage 'student'."""

    config: str
    profile: str
    stage: str                          # teacher | student | student-nodistill | supervised
    teacher: Optional["FlowJob"] = None
    frames: str = "hq"                  # frames of the supervised stage: hq | lq
    overrides: str = field(default="{}")  # JSON of config overrides (use `with_overrides`)

    kind = "flow"

    @property
    def label(self) -> str:
        return self.stage if self.stage != "supervised" else f"supervised-{self.frames}"

    def with_overrides(self, **sections) -> "FlowJob":
        return FlowJob(self.config, self.profile, self.stage, self.teacher, self.frames, _freeze(sections))

    def resolved(self) -> dict:
        from .configs import config_to_dict, load_config
        cfg = load_config(self.config, self.profile, overrides=json.loads(self.overrides) or None)
        d = config_to_dict(cfg)
        if self.stage == "student" and self.teacher is None:
            raise ExperimentError(f"{self.config} {self.stage}: a student needs a teacher job")
        return {"kind": "flow", "stage": self.stage, "frames": self.frames, "config": d,
                "teacher": key(self.teacher) if self.teacher else None}

    def dependencies(self) -> list:
        return [self.teacher] if self.teacher else []


@dataclass(frozen=True)
class RestoreJob:
    """Train `arch` on `config` (profile `profile`) with the flow net initialised from `flow`'s checkpoint,
    then evaluate it on the test set; `arch='identity'` is evaluated without training."""

    config: str
    profile: str
    arch: str = "s2svr"
    flow: Optional[FlowJob] = None
    overrides: str = field(default="{}")
    save_outputs: bool = True           # keep the restored test frames (uint8 .npy) for figures

    kind = "restore"

    @property
    def label(self) -> str:
        return self.arch if self.flow is None else f"{self.arch}+{self.flow.label}"

    def with_overrides(self, **sections) -> "RestoreJob":
        return RestoreJob(self.config, self.profile, self.arch, self.flow, _freeze(sections), self.save_outputs)

    def cfg(self, flow_checkpoint: Optional[str] = None):
        from .configs import load_config
        over = json.loads(self.overrides)
        over.setdefault("model", {})["arch"] = self.arch
        if flow_checkpoint:
            over.setdefault("flow", {})["checkpoint"] = flow_checkpoint
        return load_config(self.config, self.profile, overrides=over)

    def resolved(self) -> dict:
        from .configs import config_to_dict
        d = config_to_dict(self.cfg())
        return {"kind": "restore", "config": d, "flow": key(self.flow) if self.flow else None,
                "save_outputs": self.save_outputs}

    def dependencies(self) -> list:
        return [self.flow] if self.flow else []


@functools.lru_cache(maxsize=None)  # jobs are frozen: resolving a config (YAML) once per job is enough
def key(job) -> str:
    """Identity of a job: sha256 of its resolved config and of its dependencies' identities."""
    h = hashlib.sha256(CACHE_VERSION.encode())
    h.update(json.dumps(job.resolved(), sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


def job_dir(job, root) -> Path:
    name = f"{Path(job.config).stem}-{job.label}-{key(job)}"
    return Path(root) / name


def cached(job, root) -> Optional[dict]:
    """The finished result of `job` under `root`, or None."""
    p = job_dir(job, root) / RESULT
    return json.loads(p.read_text()) if p.is_file() else None


def _ordered(jobs) -> list:
    """Every job and its dependencies, dependencies first, each once."""
    out, seen = [], set()

    def visit(j):
        if j in seen:
            return
        for d in j.dependencies():
            visit(d)
        seen.add(j)
        out.append(j)
    for j in jobs:
        visit(j)
    return out


def _spec(job, root) -> dict:
    spec = {"kind": job.kind, "resolved": job.resolved(), "config": job.config, "profile": job.profile}
    if job.kind == "flow":
        spec.update(stage=job.stage, frames=job.frames,
                    teacher=cached(job.teacher, root)["checkpoint"] if job.teacher else None)
    else:
        spec.update(arch=job.arch, save_outputs=job.save_outputs,
                    flow_checkpoint=cached(job.flow, root)["checkpoint"] if job.flow else None)
    return spec


def _launch(job, root, progress) -> dict:
    d = job_dir(job, root)
    d.mkdir(parents=True, exist_ok=True)
    (d / "job.json").write_text(json.dumps(_spec(job, root), indent=2))
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", S2SVR_THREADS="1")
    t0 = time.time()
    with open(d / "log.txt", "w") as log:
        rc = subprocess.call([sys.executable, "-m", "s2svr.experiments", str(d)], stdout=log,
                             stderr=subprocess.STDOUT, env=env)
    if rc != 0:
        lines = [ln for ln in (d / "log.txt").read_text().splitlines() if ln.strip()]
        raise ExperimentError(f"{d.name}: failed (exit {rc}): {lines[-1] if lines else 'no output'}; "
                              f"log {d / 'log.txt'}")
    res = cached(job, root)
    if progress:
        print(f"  done {d.name} in {time.time() - t0:.0f} s", flush=True)
    return res


def run(jobs, root, workers: int = 2, progress: bool = True) -> dict:
    """Run every job of `jobs` (and their dependencies) that has no result under `root` yet, `workers` at a
    time, dependencies first; returns {job: result dict} for all of them."""
    order = _ordered(jobs)
    results = {j: cached(j, root) for j in order}
    todo = [j for j in order if results[j] is None]
    if progress and todo:
        print(f"experiments: {len(order) - len(todo)} cached, running {len(todo)} under {root}", flush=True)
    futures = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending = list(todo)
        while pending or futures:
            for j in [j for j in pending if all(results[d] is not None for d in j.dependencies())]:
                pending.remove(j)
                futures[pool.submit(_launch, j, root, progress)] = j
            if not futures:
                raise ExperimentError("unsatisfiable dependencies: " + ", ".join(j.label for j in pending))
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for f in finished:
                results[futures.pop(f)] = f.result()
    return results


# ---- the subprocess side -------------------------------------------------------------------------------------

def _atomic_json(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)


def _run_flow(spec: dict, d: Path) -> dict:
    from .configs import config_from_dict
    from .train.flow import run_stage
    cfg = config_from_dict(spec["resolved"]["config"])
    t0 = time.time()
    run_stage(cfg, spec["stage"], d, teacher=spec["teacher"] or None, device=os.environ.get("S2SVR_DEVICE", "auto"),
              frames=spec["frames"], resume=(d / f"flow_{spec['stage']}.pt").exists(), progress=False)
    return {"checkpoint": str(d / f"flow_{spec['stage']}.pt"), "seconds": time.time() - t0,
            "log": str(d / f"flow_{spec['stage']}_log.csv")}


def _run_restore(spec: dict, d: Path) -> dict:
    import numpy as np
    import torch

    from .configs import config_from_dict
    from .flow.pwclite import PWCLite
    from .models import build_model, parameter_breakdown
    from .train.data import build_test_sequences
    from .train.evaluate import evaluate_sequences
    from .train.trainer import model_from_checkpoint, train
    from .utils import resolve_device
    over = dict(spec["resolved"]["config"])
    if spec["flow_checkpoint"]:
        over["flow"] = dict(over["flow"], checkpoint=spec["flow_checkpoint"])
    cfg = config_from_dict(over, str(d / "job.json"))
    device = resolve_device(os.environ.get("S2SVR_DEVICE", "auto"))
    t0 = time.time()
    steps = 0
    if spec["arch"] == "identity":
        torch.manual_seed(cfg.seed)
        model = build_model(cfg.model, flow_net=PWCLite.from_config(cfg.flow)).to(device).eval()
    else:
        res = train(cfg, d / "train", device=str(device), progress=False)
        steps = res.step
        model, _ = model_from_checkpoint(res.checkpoint, device=device)
    train_s = time.time() - t0
    out_dir = d / "outputs"
    if spec["save_outputs"]:
        out_dir.mkdir(exist_ok=True)
    t1 = time.time()
    with torch.no_grad():
        ev = evaluate_sequences(model, build_test_sequences(cfg), cfg, device=device, progress=False,
                                save_dir=out_dir if spec["save_outputs"] else None)
    return {**ev, "arch": spec["arch"], "steps": steps, "train_seconds": train_s,
            "eval_seconds": time.time() - t1, "parameters": parameter_breakdown(model),
            "checkpoint": str(d / "train" / "last.pt") if steps else None,
            "outputs": str(out_dir) if spec["save_outputs"] else None,
            "torch": torch.__version__, "threads": torch.get_num_threads(), "numpy": np.__version__}


def _job_main(d: str) -> int:
    import torch
    torch.set_num_threads(int(os.environ.get("S2SVR_THREADS", "1")))
    d = Path(d)
    spec = json.loads((d / "job.json").read_text())
    res = _run_flow(spec, d) if spec["kind"] == "flow" else _run_restore(spec, d)
    res["spec"] = spec
    _atomic_json(res, d / RESULT)
    return 0


if __name__ == "__main__":
    sys.exit(_job_main(sys.argv[1]))
