"""The two kinds of job the book runs, and their identity (the hash of the fully resolved config).

A job is a flow stage of Algorithm 1 (`FlowJob`, trained by `s2svr.train.flow.run_stage`) or a restoration
training plus its evaluation (`RestoreJob`, `s2svr.train.trainer.train` then
`s2svr.train.evaluate.evaluate_sequences`); `s2svr.experiments.worker` runs either one. Its identity covers
profile, overrides, architecture and, for a job that starts from a flow checkpoint, the identity of the job
that made it: a changed budget, model size or flow initialisation runs anew, package edits that do not change
a config do not. How a trained flow net is used (a teacher's zoom in use, `FlowJob.use_zoom`) is not part of what it
is: it is recorded beside its weights (the job's result, the shipped manifest's `use`), never hashed.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass, field
from typing import Optional

CACHE_VERSION = "3"  # bump to invalidate every cached experiment (`python -m s2svr.experiments.rekey` carries
# shipped weights and finished runs over when no job computes anything else)
# Config fields added after weights had shipped, each with the value that computes what the code computed before it
# existed: at that value a field is left out of a restorer's key (as `init` is), so adding it retrains and renames
# nothing; any other value is in the key.
LATE_FIELDS = {"model": {"carry": "output"}, "train": {"grad_clip": 0.0}}
S2SVR_FIELDS = {"model": ("carry",)}  # fields that only S2SVR reads (the baselines are built without them)


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
    # the zoom its trained net runs at in use and in its evaluation curve (None: the zoom it trained at); not part of
    # its identity: recorded beside its weights (`result.json`'s and the manifest's `use`)
    use_zoom: Optional[float] = None

    kind = "flow"

    @property
    def label(self) -> str:
        return self.stage if self.stage != "supervised" else f"supervised-{self.frames}"

    def with_overrides(self, **sections) -> "FlowJob":
        return dataclasses.replace(self, overrides=_freeze(sections))

    @property
    def use(self) -> dict:
        """How its trained net runs in use, as recorded beside the weights: a dict of its zoom in use (key
        'zoom', the value of use_zoom), or an empty dict when it has none."""
        return {} if self.use_zoom is None else {"zoom": self.use_zoom}

    def resolved(self, dep_key=None) -> dict:
        """The resolved config and what it depends on; `dep_key(job)` names a dependency (default `key`)."""
        from ..configs import config_to_dict, load_config
        dep_key = dep_key or key
        cfg = load_config(self.config, self.profile, overrides=json.loads(self.overrides) or None)
        d = config_to_dict(cfg)
        if self.stage == "student" and self.teacher is None:
            raise ExperimentError(f"{self.config} {self.stage}: a student needs a teacher job")
        return {"kind": "flow", "stage": self.stage, "frames": self.frames, "config": d,
                "teacher": dep_key(self.teacher) if self.teacher else None}

    def identity(self, dep_key=None) -> dict:
        """What the stage depends on (the hashed part of `resolved`): the seed, the flow section and the data it
        trains on, not the restorers' model and training budget (`run_stage` reads nothing else), so a changed
        restoration budget keeps the shipped flow stages."""
        r = self.resolved(dep_key)
        c = r["config"]
        return {**r, "config": {"seed": c["seed"], "flow": c["flow"], "model": {"task": c["model"]["task"]},
                                "data": {k: c["data"][k] for k in ("dataset", "root")}}}

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
        """The resolved config and what it depends on; `dep_key(job)` names a dependency (default `key`)."""
        from ..configs import config_to_dict
        dep_key = dep_key or key
        d = config_to_dict(self.cfg())
        if self.arch not in FLOW_ARCHS:  # no flow net: the flow recipe is not part of what it is
            d["flow"] = {}
        out = {"kind": "restore", "config": d, "flow": dep_key(self.flow) if self.flow else None,
               "save_outputs": self.save_outputs}
        if self.init is not None:  # only then: the keys of jobs without one stay what they were
            out["init"] = dep_key(self.init)
        return out

    def identity(self, dep_key=None) -> dict:
        """`resolved` less the fields of `LATE_FIELDS` at their old behaviour's value, and for a baseline less
        the fields only S2SVR reads (`S2SVR_FIELDS`): a baseline is the same job whatever they say."""
        r = self.resolved(dep_key)
        d = r["config"]
        drop = {s: {k for k, old in f.items() if d.get(s, {}).get(k, old) == old} for s, f in LATE_FIELDS.items()}
        if self.arch != "s2svr":
            for s, names in S2SVR_FIELDS.items():
                drop.setdefault(s, set()).update(names)
        return {**r, "config": {s: {k: v for k, v in sec.items() if k not in drop.get(s, ())}
                                if isinstance(sec, dict) else sec for s, sec in d.items()}}

    def dependencies(self) -> list:
        return [j for j in (self.flow, self.init) if j is not None]


def job_hash(job, version: str = CACHE_VERSION, dep_key=None, transform=None) -> str:
    """sha256 of `version`, of `job`'s identity (its dependencies named by `dep_key`, default :func:`key`) and, on the
    embedded dataset, of the recipe that builds it. `transform(job, identity) -> identity`: an older rule's edit
    (`s2svr.experiments.rekey`)."""
    h = hashlib.sha256(version.encode())
    ident = job.identity(dep_key or key)
    if transform is not None:
        ident = transform(job, ident)
    h.update(json.dumps(ident, sort_keys=True, default=str).encode())
    if ident["config"]["data"]["dataset"] == "embedded":
        from ..data.embedded_recipe import recipe, recipe_hash
        h.update(recipe_hash(recipe()).encode())
    return h.hexdigest()[:12]


@functools.lru_cache(maxsize=None)  # jobs are frozen: resolving a config (YAML) once per job is enough
def key(job) -> str:
    """Identity of a job: sha256 of its resolved config (every field, new ones at their defaults too), of its
    dependencies' identities and, on the embedded dataset, of the recipe that builds it (a changed clip is a
    changed experiment). How a trained net is used (`FlowJob.use_zoom`) is not in it."""
    return job_hash(job)
