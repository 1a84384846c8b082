"""The two kinds of job the book runs, and their identity (the hash of the fully resolved config).

A job is a flow stage of Algorithm 1 (`FlowJob`, trained by `s2svr.train.flow.run_stage`) or a restoration
training plus its evaluation (`RestoreJob`, `s2svr.train.trainer.train` then
`s2svr.train.evaluate.evaluate_sequences`); `s2svr.experiments.worker` runs either one. Its identity covers
profile, overrides, architecture and, for a job that starts from a flow checkpoint, the identity of the job
that made it: a changed budget, model size or flow initialisation runs anew, package edits that do not change
a config do not.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from typing import Optional

CACHE_VERSION = "2"  # bump to invalidate every cached experiment (`python -m s2svr.experiments.rekey` carries
# shipped weights and finished runs over when no job computes anything else)


class ExperimentError(RuntimeError):
    """A job failed; the message names the job and the last line of its log."""


def _freeze(d: Optional[dict]) -> str:
    return json.dumps(d or {}, sort_keys=True)


@dataclass(frozen=True)
class FlowJob:
    """One stage of Algorithm 1 on `config`'s data (`s2svr.train.flow.run_stage`); `teacher` for stage 'student'."""

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

    def resolved(self, dep_key=None) -> dict:
        """The resolved config and what it depends on; `dep_key(job, in_use)` names a dependency (default `key`)."""
        from ..configs import config_to_dict, load_config
        dep_key = dep_key or key
        cfg = load_config(self.config, self.profile, overrides=json.loads(self.overrides) or None)
        d = config_to_dict(cfg)
        if self.stage == "student" and self.teacher is None:
            raise ExperimentError(f"{self.config} {self.stage}: a student needs a teacher job")
        return {"kind": "flow", "stage": self.stage, "frames": self.frames, "config": d,
                "teacher": dep_key(self.teacher, in_use=False) if self.teacher else None}

    def identity(self, dep_key=None) -> dict:
        """What the stage depends on (the hashed part of `resolved`): the seed, the flow section and the data it
        trains on, not the restorers' model and training budget (`run_stage` reads nothing else), so a changed
        restoration budget keeps the shipped flow stages."""
        r = self.resolved(dep_key)
        c = r["config"]
        return {**r, "config": {"seed": c["seed"], "flow": c["flow"], "model": {"task": c["model"]["task"]},
                                "data": {k: c["data"][k] for k in ("dataset", "root")}}}

    @property
    def runs_in_use(self) -> bool:
        """Whether the `IN_USE` fields change this job's output (the teacher: its checkpoint and evaluation)."""
        return self.stage == "teacher"

    def dependencies(self) -> list:
        return [self.teacher] if self.teacher else []


from ..configs.schema import FLOW_ARCHS  # noqa: E402 (the restorers that run a flow net)


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
    init: Optional["RestoreJob"] = None  # fine-tune from this job's trained weights (train.init: Vimeo from REDS)

    kind = "restore"

    @property
    def label(self) -> str:
        return self.arch if self.flow is None else f"{self.arch}+{self.flow.label}"

    def with_overrides(self, **sections) -> "RestoreJob":
        return RestoreJob(self.config, self.profile, self.arch, self.flow, _freeze(sections), self.save_outputs,
                          self.init)

    def cfg(self, flow_checkpoint: Optional[str] = None):
        from ..configs import load_config
        over = json.loads(self.overrides)
        over.setdefault("model", {})["arch"] = self.arch
        if flow_checkpoint:
            over.setdefault("flow", {})["checkpoint"] = flow_checkpoint
        return load_config(self.config, self.profile, overrides=over)

    def resolved(self, dep_key=None) -> dict:
        """The resolved config and what it depends on; `dep_key(job, in_use)` names a dependency (default `key`)."""
        from ..configs import config_to_dict
        dep_key = dep_key or key
        d = config_to_dict(self.cfg())
        if self.arch not in FLOW_ARCHS:  # no flow net: the flow recipe is not part of what it is
            d["flow"] = {}
        out = {"kind": "restore", "config": d, "flow": dep_key(self.flow, in_use=False) if self.flow else None,
               "save_outputs": self.save_outputs}
        if self.init is not None:  # only then: the keys of jobs without one stay what they were
            out["init"] = dep_key(self.init)
        return out

    runs_in_use = False  # its flow net is built from the config and loads the weights only: no teacher's zoom in use

    def identity(self, dep_key=None) -> dict:
        return self.resolved(dep_key)

    def dependencies(self) -> list:
        return [j for j in (self.flow, self.init) if j is not None]


# Fields that set how a trained teacher runs in use, not what any job learns: part of the key of a job whose output
# they change (`runs_in_use`: the teacher's checkpoint and evaluation), left out of every other job's and of the
# teacher's key as a dependency (`key(job, in_use=False)`): a student's distillation labels at the training zoom.
IN_USE = {"flow": ("infer_zoom",)}


def job_hash(job, in_use: bool = True, version: str = CACHE_VERSION, transform=None) -> str:
    """sha256 of `version`, of `job`'s identity (its dependencies named by the same rule) and, on the embedded dataset,
    of the recipe that builds it. `transform(identity) -> identity`: an older rule's edit (`s2svr.experiments.rekey`)."""
    def dep(j, in_use=True):
        current = version == CACHE_VERSION and transform is None
        return key(j, in_use) if current else job_hash(j, in_use, version, transform)
    h = hashlib.sha256(version.encode())
    ident = job.identity(dep)
    if not (in_use and job.runs_in_use):
        cfg = ident["config"]
        ident = {**ident, "config": {**cfg, **{sec: {k: v for k, v in cfg[sec].items() if k not in fields}
                                               for sec, fields in IN_USE.items() if isinstance(cfg.get(sec), dict)}}}
    if transform is not None:
        ident = transform(ident)
    h.update(json.dumps(ident, sort_keys=True, default=str).encode())
    if ident["config"]["data"]["dataset"] == "embedded":
        from ..data.embedded_recipe import recipe, recipe_hash
        h.update(recipe_hash(recipe()).encode())
    return h.hexdigest()[:12]


@functools.lru_cache(maxsize=None)  # jobs are frozen: resolving a config (YAML) once per job is enough
def key(job, in_use: bool = True) -> str:
    """Identity of a job: sha256 of its resolved config (every field, new ones at their defaults too), of its
    dependencies' identities and, on the embedded dataset, of the recipe that builds it (a changed clip is a
    changed experiment). `in_use=False`: without the `IN_USE` fields, what a job that depends on this one sees of
    it (the weights it trained)."""
    return job_hash(job, in_use)
