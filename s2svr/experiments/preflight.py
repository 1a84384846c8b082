"""Before any job of a plan starts: does everything it needs exist? One line per missing thing, with its fix.

Explained in the book's page `book/use_train.md`. `check(jobs, root)` looks, for every job that has no result yet,
at the datasets it reads (each split in its layout, through the dataset's own loader), the checkpoints its config
names (a flow net to start from, a model to fine-tune), the device it will run on (`S2SVR_DEVICE`) and the free
disk under `root` for its checkpoints. It returns the problems as lines; `s2svr.experiments.plan` prints them and
exits 2 before anything is started or written, so a multi-day GPU run does not stop on its first missing file.
"""
from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from .runner import _ordered, cached

# bytes a restoration job keeps per parameter: fp32 weights + Adam's two moments, in last.pt and previous.pt
CHECKPOINT_BYTES_PER_PARAM = 4 * 3 * 2
MARGIN_BYTES = 200 * 2 ** 20  # logs, validation outputs, flow banks of one job


def _config(job):
    if job.kind == "restore":
        return job.cfg()
    import json

    from ..configs import load_config
    return load_config(job.config, job.profile, overrides=json.loads(job.overrides) or None)


def _data_problems(cfg, seen: set) -> list[str]:
    from ..data.registry import get_sequences
    out = []
    d = cfg.data
    if d.dataset == "embedded":  # built on first use (`s2svr.data.embedded`): nothing to prepare, nothing to check
        return out
    for split in ("train", "test"):
        key = (d.dataset, str(d.root), cfg.model.task, split)
        if key in seen:
            continue
        seen.add(key)
        try:
            if not get_sequences(d.dataset, d.root, cfg.model.task, split):
                out.append(f"{d.root}: no {split} sequences for task {cfg.model.task} ({d.dataset})")
        except (OSError, ValueError) as e:  # DatasetError (a FileNotFoundError) names the folder and the script
            out.append(str(e).splitlines()[0])
    return out


def _device_problem() -> str | None:
    want = os.environ.get("S2SVR_DEVICE", "auto")
    if not want.startswith("cuda"):
        return None
    import torch
    if not torch.cuda.is_available():
        return f"S2SVR_DEVICE={want}: no CUDA device here; unset S2SVR_DEVICE to run on the CPU"
    index = int(want.split(":")[1]) if ":" in want else 0
    if index >= torch.cuda.device_count():
        return f"S2SVR_DEVICE={want}: only {torch.cuda.device_count()} CUDA device(s) here"
    return None


@functools.lru_cache(maxsize=None)  # configs are frozen: one model built per distinct model and flow section
def _params_of(model_cfg, flow_cfg) -> int:
    from ..flow.nets import build_flow_net
    from ..models import build_model
    from ..utils import count_parameters
    import torch
    with torch.device("meta"):  # shapes only: no memory, no initialisation time
        return count_parameters(build_model(model_cfg, flow_net=build_flow_net(flow_cfg)))


def _params(cfg) -> int:
    return 0 if cfg.model.arch == "identity" else _params_of(cfg.model, cfg.flow)


def check(jobs, root) -> list[str]:
    """Every problem that would stop a job of `jobs` (or of their dependencies) that has no result under `root`."""
    todo = [j for j in _ordered(jobs) if cached(j, root) is None]
    problems, seen, need = [], set(), 0
    for job in todo:
        cfg = _config(job)
        problems += _data_problems(cfg, seen)
        for what, path in (("flow.checkpoint", cfg.flow.checkpoint), ("train.init", cfg.train.init)):
            if path and not Path(path).is_file():
                problems.append(f"{path}: missing ({what} of {job.config} {job.label}); train it first or fix the "
                                "config")
        need += CHECKPOINT_BYTES_PER_PARAM * _params(cfg) + MARGIN_BYTES
    dev = _device_problem()
    if dev and todo:
        problems.append(dev)
    if todo:
        probe = Path(root)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        free = shutil.disk_usage(probe).free
        if free < need:
            problems.append(f"{root}: {free / 2**30:.1f} GiB free, the {len(todo)} job(s) to run need about "
                            f"{need / 2**30:.1f} GiB for their checkpoints; free some disk or use --output-dir")
    return list(dict.fromkeys(problems))

