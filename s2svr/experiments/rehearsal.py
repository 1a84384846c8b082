"""The paper plan at toy size: the rehearsal of the paper path (`make rehearse`, `book/tools/rehearse.py`).

Explained in the GPU page `notebooks/use_gpu.py` (section "Rehearse it first, on a CPU").

With `S2SVR_REHEARSAL=1` in the environment, `s2svr.experiments.plan.jobs("paper")` returns the paper plan (same
jobs, same dependencies, the paper configs' datasets, data paths and splits) whose every job is shrunk to its
config's `ci` sizes and budgets. The shrink is derived from each YAML, never typed: its `profiles.ci` sections
`model`, `flow` and `train` as they are, and of `data` the sizes of a training sample (clip length, crop, batch,
loader workers) but not what says which data is read and scored (`dataset`, `root`, `test_frames`: whole test
clips, as the paper scores them), so a rehearsal job reads the paper's dataset through the paper's path and is
evaluated on it by the paper's protocol (see :func:`ci_sizes`). The job's own overrides (a control's flow recipe,
the DIS flow) apply on top, as they do on top of a profile.

The switch is an environment variable because the chapters, executed by papermill in their own kernels, must
build the same jobs (same keys) as the plan that trained them; the chapters' own budgets follow it too
(`s2svr.configs.chapters.chapter_budget` gives a paper chapter its ci budget under the switch).
"""
from __future__ import annotations

import dataclasses
import json
import os

ENV = "S2SVR_REHEARSAL"
DATA_KEPT = ("dataset", "root", "test_frames")  # of the paper profile: which data, scored how; the rest are sizes


def active(profile: str) -> bool:
    """Whether `profile`'s plan is the rehearsal: profile `paper` with `S2SVR_REHEARSAL=1`."""
    return profile == "paper" and os.environ.get(ENV) == "1"


def ci_sizes(config: str) -> dict:
    """The overrides that shrink `config` (a packaged name or a YAML path) to its `ci` profile's sizes and budgets,
    keeping the data it reads and how it is scored: `profiles.ci` of the YAML without the `data` keys of
    `DATA_KEPT`."""
    import yaml

    from ..configs import resolve_config_path
    raw = yaml.safe_load(resolve_config_path(config).read_text()) or {}
    ci = dict((raw.get("profiles") or {}).get("ci") or {})
    if not ci:
        raise ValueError(f"{config}: no ci profile to take the rehearsal's sizes from")
    if "data" in ci:
        ci["data"] = {k: v for k, v in ci["data"].items() if k not in DATA_KEPT}
    return ci


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def shrink(job, _done=None):
    """`job` (a `FlowJob` or `RestoreJob`) and every job it depends on, with :func:`ci_sizes` under its overrides."""
    done = {} if _done is None else _done
    if job is None:
        return None
    if job not in done:
        deps = {f.name: shrink(getattr(job, f.name), done) for f in dataclasses.fields(job)
                if f.name in ("teacher", "flow", "init")}
        over = _merge(ci_sizes(job.config), json.loads(job.overrides))
        done[job] = dataclasses.replace(job, overrides=json.dumps(over, sort_keys=True), **deps)
    return done[job]


def rehearsed(plan: dict) -> dict:
    """{name: shrunk job} of a plan (`s2svr.experiments.plan.jobs`); jobs shared by names stay shared."""
    done = {}
    return {name: shrink(job, done) for name, job in plan.items()}
