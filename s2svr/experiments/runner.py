"""The runner and its cache: `run(jobs, root)` trains and evaluates what has no result under `root` yet.

A job (`s2svr.experiments.jobs`) writes into `root/<config>-<label>-<key>/`, where `key` is the hash of its
resolved config: a chapter that asks again for the same experiment gets the finished result back at once.
Delete the folder (`outputs/<profile>/experiments/`) to force a re-run.

Each job runs in its own subprocess (`s2svr.experiments.worker`; on the GPU when there is one,
`S2SVR_DEVICE=cpu|cuda:1|...` chooses) with one CPU thread: two jobs side by side on two cores are faster than
one job with two threads. With `nproc > 1` a restoration job that trains runs under
`torchrun --standalone --nproc_per_node nproc` instead (DDP: one process per GPU, gloo on CPU, the batch split
over them; rank 0 evaluates and writes the result); a flow stage of Algorithm 1 always runs in one process.
Success is `result.json`, written last: an interrupted job leaves no result and resumes from its checkpoint.

    from s2svr.experiments import FlowJob, RestoreJob, run
    teacher = FlowJob("sr_reds4", "cpu", "teacher")
    student = FlowJob("sr_reds4", "cpu", "student", teacher=teacher)
    s2svr = RestoreJob("sr_reds4", "cpu", arch="s2svr", flow=student)
    results = run([teacher, student, s2svr], root="outputs/cpu/experiments")
    results[s2svr]["mean"]            # {'psnr': ..., 'ssim': ...} on the test set
    results[student]["checkpoint"]    # path of flow_student.pt
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Optional

from .jobs import ExperimentError, key
from .worker import RESULT
from ..utils import lock_file, write_text_atomic


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
        spec.update(stage=job.stage, frames=job.frames, use=job.use,
                    teacher=cached(job.teacher, root)["checkpoint"] if job.teacher else None)
    else:
        spec.update(arch=job.arch, save_outputs=job.save_outputs,
                    flow_checkpoint=cached(job.flow, root)["checkpoint"] if job.flow else None,
                    init_checkpoint=cached(job.init, root)["checkpoint"] if job.init else None)
    return spec


def _command(job, d: Path, entry, nproc: int) -> list:
    """The worker's command line: under torchrun (`nproc` processes) for a restoration job that trains."""
    trains = job.kind == "restore" and job.arch != "identity" and not entry
    if nproc > 1 and trains:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
                "-m", "s2svr.experiments.worker", str(d)]
    return [sys.executable, "-m", "s2svr.experiments.worker", str(d)]


def _launch(job, root, progress, entry=None, nproc: int = 1) -> dict:
    """Run `job` in a worker subprocess under a lock on its folder: a second runner (another `make book`, a study
    started twice) that reaches the same job waits for the first and reads its result instead of running it again."""
    d = job_dir(job, root)
    d.mkdir(parents=True, exist_ok=True)
    with open(d / ".lock", "w") as lock:
        lock_file(lock)
        done = cached(job, root)
        if done is not None:
            return done
        return _launch_locked(job, root, progress, entry, d, nproc)


def _launch_locked(job, root, progress, entry, d: Path, nproc: int = 1) -> dict:
    spec = _spec(job, root)
    if entry:  # evaluate the shipped weights instead of training
        from ..reference import weights_dir
        spec.update(shipped_checkpoint=entry["path"], shipped_steps=entry.get("steps"), shipped=entry["name"],
                    shipped_log=entry.get("log_path"), shipped_seconds=entry.get("seconds"),
                    shipped_val_log=str(weights_dir() / entry["val_log"]) if entry.get("val_log") else None)
    from ..reference import git_commit
    spec["commit"] = git_commit()  # the code it trained with (the manifest's provenance)
    (d / "job.json").write_text(json.dumps(spec, indent=2))
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", S2SVR_THREADS="1")
    t0 = time.time()
    with open(d / "log.txt", "w") as log:
        rc = subprocess.call(_command(job, d, entry, nproc), stdout=log, stderr=subprocess.STDOUT, env=env)
    if rc != 0:
        lines = [ln for ln in (d / "log.txt").read_text().splitlines() if ln.strip()]
        raise ExperimentError(f"{d.name}: failed (exit {rc}): {lines[-1] if lines else 'no output'}; "
                              f"log {d / 'log.txt'}")
    res = cached(job, root)
    if progress:
        print(f"\n  done {d.name} in {time.time() - t0:.0f} s", flush=True)
    return res


def _adopt(job, entry: dict, root) -> dict:
    """A shipped flow stage as a finished result (no training): its checkpoint and log are the shipped files."""
    d = job_dir(job, root)
    d.mkdir(parents=True, exist_ok=True)
    from ..reference import weights_dir
    res = {"checkpoint": entry["path"], "log": entry.get("log_path"), "seconds": entry.get("seconds"),
           "steps": entry.get("steps"), "shipped": entry["name"], "use": job.use, "spec": _spec(job, root)}
    if entry.get("eval_log"):
        res["eval_log"] = str(weights_dir() / entry["eval_log"])
    write_text_atomic(d / RESULT, json.dumps(res, indent=2))
    return res


def _adopt_scores(job, entry: dict, root) -> dict:
    """A shipped restorer as a finished result, from the scores and validation its manifest entry recorded at
    export: not evaluated again (`make book` reads it in no time; tests/experiments/test_shipped.py re-measures
    a shipped restorer against its entry). A job that keeps its restored frames (`save_outputs`, the figures'
    runs) gets them on demand: `s2svr.report.runs.restored_frames` restores a test clip the first time a chapter
    asks for it, into the folder the worker would have written (`outputs`), so only the clips a figure shows
    are restored."""
    d = job_dir(job, root)
    d.mkdir(parents=True, exist_ok=True)
    from ..reference import weights_dir
    res = {"mean": entry["metrics"], "per_sequence": entry["per_sequence"], "convention": entry["convention"],
           "arch": job.arch, "steps": entry.get("steps"), "train_seconds": entry.get("seconds"),
           "parameters": entry.get("parameters"), "checkpoint": entry["path"], "log": entry.get("log_path"),
           "val_log": str(weights_dir() / entry["val_log"]) if entry.get("val_log") else None,
           "validation": entry.get("validation"), "outputs": str(d / "outputs") if job.save_outputs else None,
           "on_demand": bool(job.save_outputs), "shipped": entry["name"], "spec": _spec(job, root)}
    write_text_atomic(d / RESULT, json.dumps(res, indent=2))
    return res


def _scores_only(job, entry) -> bool:
    """Whether a shipped restorer's entry holds everything its evaluation would give: the scores, and the
    validation where its config has validation clips (an entry exported before either was recorded: evaluated)."""
    return (entry is not None and job.kind == "restore"
            and all(k in entry for k in ("metrics", "per_sequence", "convention"))
            and ("validation" in entry or not job.cfg().data.val_clips))


def run(jobs, root, workers: int = 2, progress: bool = True, shipped: bool = True, train: bool = True,
        nproc: int = 1) -> dict:
    """Run every job of `jobs` (and their dependencies) that has no result under `root` yet, `workers` at a
    time, dependencies first; returns {job: result dict} for all of them. `nproc > 1`: each restoration training
    under `torchrun` with that many processes (see the module's docstring).

    With `shipped`, a job that the reference weights hold (`s2svr.experiments.weights.shipped`, same cache key)
    is not trained: a flow stage is adopted, a restoration network with the scores and validation its entry
    recorded at export (`_adopt_scores`; one exported before those were recorded is evaluated afresh). Without
    `train`, a job that would have to be trained is an error naming it (the book builds from the weights).
    """
    from ..reference import ReferenceError, shipped_entry

    def shipped_of(j):
        try:
            return shipped_entry(key(j))
        except ReferenceError as e:
            raise ExperimentError(str(e)) from None
    order = _ordered(jobs)
    results = {j: cached(j, root) for j in order}
    todo = [j for j in order if results[j] is None]
    entries = {j: shipped_of(j) for j in todo} if shipped else {}
    for j in [j for j in todo if entries.get(j) is not None and j.kind == "flow"]:
        results[j] = _adopt(j, entries[j], root)
        todo.remove(j)
    for j in [j for j in todo if _scores_only(j, entries.get(j))]:
        results[j] = _adopt_scores(j, entries[j], root)
        todo.remove(j)
    missing = [j for j in todo if entries.get(j) is None and not (j.kind == "restore" and j.arch == "identity")]
    if missing and not train:
        raise ExperimentError(f"{len(missing)} experiment(s) are neither cached nor in the shipped weights (stale or "
                              f"missing: {', '.join(f'{j.config}/{j.label}' for j in missing[:4])}...): run "
                              "`make weights KEEP=1` (trains only what weights/ lacks), or `make book TRAIN=1`")
    if progress and todo:
        print(f"experiments: {len(order) - len(todo)} ready, running {len(todo)} under {root}", flush=True)
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(todo), desc="experiments", unit="job")  # ETA from the finished jobs' pace
    futures = {}
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            pending = list(todo)
            while pending or futures:
                # hand a job to a worker only when one is free, the first ready one in dependency order: a
                # student queued behind every independent job would wait for all of them
                for j in [j for j in pending if all(results[d] is not None for d in j.dependencies())]:
                    if len(futures) >= max(1, workers):
                        break
                    pending.remove(j)
                    entry = entries.get(j)
                    futures[pool.submit(_launch, j, root, progress, entry, nproc)] = j
                if not futures:
                    raise ExperimentError("unsatisfiable dependencies: " + ", ".join(j.label for j in pending))
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for f in finished:
                    results[futures.pop(f)] = f.result()
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return results
