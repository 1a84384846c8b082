"""Carry shipped weights and finished runs over a change of the experiment keys, without training anything.

A job's key (`s2svr.experiments.jobs.key`) is a plain hash of its resolved config. When the key's rule changes but
no job computes anything else (the config's fields moved into sections, a bumped `CACHE_VERSION`), the stored
results are still right, only their names are stale. `rekey` then

- rewrites `weights/manifest.json`: every entry whose key matches its plan job under the old rule gets the job's
  new key (no weight file is touched: their sha256 stay) and, for a flow net used otherwise than it trained, its
  `use` beside the weights; entries that do not match are reported, not guessed;
- rewrites the `key` column of the study's tables (`weights/study/*.csv`), where a row's key is a study job's old one;
- renames finished runs (and the flow stages they started from) under `outputs/<profile>/experiments`,
  `outputs/cpu/study` and `outputs/cpu/alignment` from their old key to their new one (and the paths their records
  hold), so nothing trains again. A run still training is not renamed: rekey after it ends.

The one old rule it knows (`LEGACY_VERSION`): cache version "2", where the `flow` section was flat (forty fields,
`s2svr.configs.flat`) and the teacher's zoom in use (`infer_zoom`) was a field of it, hashed into the teacher's own
key but not into the key of what depends on it. `python -m s2svr.experiments.rekey [--dry-run] [--output-dir DIR]`.
"""
from __future__ import annotations

import argparse
import functools
import json
import re
import time
from pathlib import Path

from ..configs.flat import flat_from_sections
from ..reference import MANIFEST, manifest, weights_dir
from ..utils import write_text_atomic
from .jobs import job_hash, key
from .plan import jobs as plan_jobs
from .study import ordered_jobs, root as study_root

LEGACY_VERSION = "2"


def _rule2(job, ident: dict, own: bool) -> dict:
    """`ident` as rule "2" hashed it: the flow section flat, with `infer_zoom` (the job's `use_zoom`) in a
    teacher's own key only."""
    cfg = dict(ident["config"])
    if cfg.get("flow"):  # ({} for a restorer without a flow net)
        cfg["flow"] = flat_from_sections(cfg["flow"])
        if own and job.kind == "flow" and job.stage == "teacher":
            cfg["flow"]["infer_zoom"] = job.use_zoom
    return {**ident, "config": cfg}


@functools.lru_cache(maxsize=None)
def legacy_key(job, own: bool = True) -> str:
    """`job`'s key under rule "2" (`own=False`: as a dependency names it); ValueError when its config has no rule-2
    form (`s2svr.configs.flat.flat_from_sections`)."""
    return job_hash(job, LEGACY_VERSION, dep_key=lambda j: legacy_key(j, own=False),
                    transform=lambda j, ident: _rule2(j, ident, own))


def _legacy_or_none(job) -> str | None:
    try:
        return legacy_key(job)
    except ValueError:
        return None


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
        if entry.get("key") != _legacy_or_none(job):
            problems.append(f"{name}: its key {entry.get('key')} is not the plan job's under either rule (stale: "
                            "`make weights` retrains it); left as it is")
            continue
        changed[name] = (entry["key"], new)
        entry["key"] = new
        if getattr(job, "use", None):  # rule 2 hashed it into the teacher's key; today it is recorded beside it
            entry["use"] = job.use
    if changed and not dry_run:
        doc["rekeyed"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_text_atomic(dest / MANIFEST, json.dumps(doc, indent=1))
    return changed, problems


def rekey_tables(jobs, folder: Path | None = None, dry_run: bool = False) -> dict[str, int]:
    """Rewrite the old keys of `jobs` to their new ones in the `key` column of the study's tables
    (`weights/study/*.csv`); {file name: rows changed}. Nothing else in a file changes."""
    folder = Path(folder) if folder is not None else weights_dir() / "study"
    pairs = {old: key(j) for j in jobs if (old := _legacy_or_none(j)) not in (None, key(j))}
    out = {}
    if not pairs or not folder.is_dir():
        return out
    last_column = re.compile(r",(" + "|".join(map(re.escape, pairs)) + r")(?=\r?$)", re.M)
    for path in sorted(folder.glob("*.csv")):
        text = path.read_bytes().decode()  # as it is: the csv module ends its rows with \r\n
        new, n = last_column.subn(lambda m: "," + pairs[m.group(1)], text)
        if n:
            out[path.name] = n
            if not dry_run:
                write_text_atomic(path, new)
    return out


def _with_dependencies(jobs) -> list:
    """`jobs` and every job they depend on (a study's restorers and their flow stages), each once."""
    out, seen = [], set()

    def visit(j):
        if j in seen:
            return
        seen.add(j)
        for d in j.dependencies():
            visit(d)
        out.append(j)
    for j in jobs:
        visit(j)
    return out


def rekey_runs(jobs, root: Path, dry_run: bool = False) -> list[tuple[Path, Path]]:
    """Rename the finished or started runs of `jobs` and of the jobs they depend on under `root` from their old key
    to their new one."""
    moved = []
    for job in _with_dependencies(jobs):
        stem = f"{Path(job.config).stem}-{job.label}-"
        old_key = _legacy_or_none(job)
        if old_key is None:
            continue
        old, new = Path(root) / f"{stem}{old_key}", Path(root) / f"{stem}{key(job)}"
        if old == new or not old.is_dir() or any(old == m for m, _ in moved):  # (jobs of equal keys: one run)
            continue
        if new.exists():
            continue  # already carried over, or trained anew: the newer run stays
        if not dry_run:
            old.rename(new)
            _repoint(new, old.name, getattr(job, "use", None))
        moved.append((old, new))
    return moved


def rekey_alignment(output_dir, dry_run: bool = False) -> list[tuple[Path, Path]]:
    """Rename the alignment oracle's runs (`s2svr.experiments.alignment`, named by the hash of their study job's key)
    from their old name to their new one."""
    from . import alignment
    moved = []
    for run in alignment.RUNS:
        try:
            old = alignment.run_dir(run, output_dir, key_of=legacy_key)
        except ValueError:
            continue
        new = alignment.run_dir(run, output_dir)
        if old == new or not old.is_dir() or new.exists():
            continue
        if not dry_run:
            old.rename(new)
        moved.append((old, new))
    return moved


def _repoint(d: Path, old_name: str, use: dict | None = None) -> None:
    """The paths a run's records hold (checkpoint, logs, outputs) name its folder: point them at the new name; a flow
    stage's result also records how its net is used (`use`), as results of today do."""
    for name in ("result.json", "job.json"):
        p = d / name
        if not p.is_file():
            continue
        text = p.read_text()
        new = text.replace(old_name, d.name)
        if name == "result.json" and use and "use" not in (res := json.loads(new)):
            new = json.dumps({**res, "use": use}, indent=2)
        if new != text:
            write_text_atomic(p, new)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m s2svr.experiments.rekey", description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu", help="the plan whose weights and runs are rekeyed")
    ap.add_argument("--output-dir", default="outputs", help="where the runs are (default: outputs)")
    ap.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    args = ap.parse_args(argv)
    plan = plan_jobs(args.profile)
    changed, problems = rekey_manifest(plan, dry_run=args.dry_run) if manifest() else ({}, [])
    moved = rekey_runs(plan.values(), Path(args.output_dir) / args.profile / "experiments", args.dry_run)
    tables = {}
    if args.profile == "cpu":
        study = ordered_jobs() + ordered_jobs(seed=1) + ordered_jobs(seed=2)
        moved += rekey_runs(study, study_root(args.output_dir), args.dry_run)
        moved += rekey_alignment(args.output_dir, args.dry_run)
        tables = rekey_tables(study, dry_run=args.dry_run)
    verb = "would be" if args.dry_run else "were"
    print(f"{len(changed)} manifest entries {verb} rekeyed, {sum(tables.values())} study table rows {verb} "
          f"rekeyed, {len(moved)} runs {verb} renamed")
    for old, new in moved:
        print(f"  {old} -> {new.name}")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
