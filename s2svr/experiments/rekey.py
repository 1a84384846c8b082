"""Carry shipped weights and finished runs over a change of the experiment keys, without training anything.

A job's key (`s2svr.experiments.jobs.key`) is a plain hash of its resolved config. When the key's rule changes but
no job computes anything else (a new config field at a default that reproduces what came before, a bumped
`CACHE_VERSION`), the stored results are still right, only their names are stale. `rekey` then

- rewrites `weights/manifest.json`: every entry whose key matches its plan job under the old rule gets the job's
  new key (no weight file is touched: their sha256 stay), and entries that do not match are reported, not guessed;
- renames finished runs under `outputs/<profile>/experiments` and `outputs/cpu/study` from their old key to
  their new one (and the paths their records hold), so nothing trains again. A run still training is not renamed:
  rekey after it ends.

The one old rule it knows (`LEGACY`): cache version "1", where fields added after the first reference weights were
left out of the key at their defaults. `python -m s2svr.experiments.rekey [--dry-run]`.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..reference import MANIFEST, manifest, weights_dir
from ..utils import write_text_atomic
from .jobs import job_hash, key
from .plan import jobs as plan_jobs
from .study import ordered_jobs, root as study_root

# Rule "1": these fields, at these values (their defaults), were not hashed.
LEGACY_VERSION = "1"
LEGACY_DEFAULTS = {"flow": {"augment": "hflip", "jitter": 0.0, "zoom": 1.0, "lq_zoom": None, "pad": False,
                            "smooth_order": 1, "census_after_warmup": False, "student_init": "scratch",
                            "infer_zoom": None},
                   "model": {"head_init": "default"}, "data": {"val_clips": None, "extra_train": None}}


def _without_legacy_defaults(ident: dict) -> dict:
    cfg = dict(ident.get("config") or {})
    for section, fields in LEGACY_DEFAULTS.items():
        if isinstance(cfg.get(section), dict):
            cfg[section] = {k: v for k, v in cfg[section].items() if not (k in fields and v == fields[k])}
    return {**ident, "config": cfg}


def legacy_key(job) -> str:
    """`job`'s key under rule "1"."""
    return job_hash(job, True, LEGACY_VERSION, _without_legacy_defaults)


def rekey_manifest(jobs: dict, dest: Path | None = None, dry_run: bool = False) -> tuple[dict, list[str]]:
    """{name: (old, new)} of the manifest entries rekeyed, and the problems (entries left as they are)."""
    dest = Path(dest or weights_dir())
    doc = json.loads((dest / MANIFEST).read_text())
    changed, problems = {}, []
    for name, entry in doc["entries"].items():
        job = jobs.get(name)
        if job is None:
            problems.append(f"{name}: not a job of the plan; left as it is")
            continue
        new = key(job)
        if entry.get("key") == new:
            continue
        if entry.get("key") != legacy_key(job):
            problems.append(f"{name}: its key {entry.get('key')} is not the plan job's under either rule (stale: "
                            "`make weights` retrains it); left as it is")
            continue
        changed[name] = (entry["key"], new)
        entry["key"] = new
    if changed and not dry_run:
        doc["rekeyed"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_text_atomic(dest / MANIFEST, json.dumps(doc, indent=1))
    return changed, problems


def rekey_runs(jobs, root: Path, dry_run: bool = False) -> list[tuple[Path, Path]]:
    """Rename the finished or started runs of `jobs` under `root` from their old key to their new one."""
    moved = []
    for job in jobs:
        stem = f"{Path(job.config).stem}-{job.label}-"
        old, new = Path(root) / f"{stem}{legacy_key(job)}", Path(root) / f"{stem}{key(job)}"
        if old == new or not old.is_dir():
            continue
        if new.exists():
            continue  # already carried over, or trained anew: the newer run stays
        if not dry_run:
            old.rename(new)
            _repoint(new, old.name)
        moved.append((old, new))
    return moved


def _repoint(d: Path, old_name: str) -> None:
    """The paths a run's records hold (checkpoint, logs, outputs) name its folder: point them at the new name."""
    for name in ("result.json", "job.json"):
        p = d / name
        if p.is_file() and old_name in (text := p.read_text()):
            write_text_atomic(p, text.replace(old_name, d.name))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m s2svr.experiments.rekey", description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu", help="the plan whose weights and runs are rekeyed")
    ap.add_argument("--output-dir", default="outputs")
    ap.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    args = ap.parse_args(argv)
    plan = plan_jobs(args.profile)
    changed, problems = rekey_manifest(plan, dry_run=args.dry_run) if manifest() else ({}, [])
    moved = rekey_runs(plan.values(), Path(args.output_dir) / args.profile / "experiments", args.dry_run)
    if args.profile == "cpu":
        study = ordered_jobs() + ordered_jobs(seed=1) + ordered_jobs(seed=2)
        moved += rekey_runs(study, study_root(args.output_dir), args.dry_run)
    verb = "would be" if args.dry_run else ""
    print(f"{len(changed)} manifest entries {verb or 'were'} rekeyed, {len(moved)} runs {verb or 'were'} renamed")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
