"""The shipped reference weights: `weights/manifest.json` and the checkpoints it lists (profile cpu).

The manifest maps a model's name (the experiment plan's, e.g. 'flow/teacher', 'sr/s2svr') to its file, digest, config hash and
provenance, and, where it runs otherwise than it trained, how it is used (`use`: the teacher's zoom in use).
`make weights` writes it; the CLI's defaults and the experiment plan read it. The folder is
`weights/` beside the package (a source checkout) or `$S2SVR_WEIGHTS`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

MANIFEST = "manifest.json"


class ReferenceError(FileNotFoundError):
    """No shipped reference model of that name."""


def sha256_file(path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_dir() -> Path:
    return Path(os.environ.get("S2SVR_WEIGHTS") or Path(__file__).resolve().parent.parent / "weights")


def manifest() -> dict:
    """The manifest's entries by name ({} when no weights are shipped)."""
    p = weights_dir() / MANIFEST
    return json.loads(p.read_text()).get("entries", {}) if p.exists() else {}


def reference_checkpoint(name: str) -> Path:
    """Path of the shipped reference model `name`; ReferenceError (one line) when there is none."""
    entry = manifest().get(name)
    if entry is None:
        raise ReferenceError(f"{weights_dir() / MANIFEST}: no reference model '{name}' is shipped; pass --checkpoint "
                             f"(or run `make weights`)")
    return weights_dir() / entry["file"]


def reference_use(name: str) -> dict:
    """How the shipped model `name` runs in use, recorded beside its weights (the manifest entry's `use`, e.g. the
    teacher's `{'zoom': 4}`: a use, not part of what it trained); {} when it runs as it trained."""
    entry = manifest().get(name)
    if entry is None:
        raise ReferenceError(f"{weights_dir() / MANIFEST}: no reference model '{name}' is shipped")
    return dict(entry.get("use") or {})


def checkpoint_by_digest(sha256: str) -> Path:
    """The shipped file whose sha256 is `sha256` (a restorer's frozen flow net, `flow_ref`)."""
    for name, entry in manifest().items():
        if entry.get("sha256") == sha256:
            path = weights_dir() / entry["file"]
            if not path.is_file() or sha256_file(path) != sha256:
                raise ReferenceError(f"{path}: shipped flow net '{name}' is missing or does not match its sha256")
            return path
    raise ReferenceError(f"{weights_dir() / MANIFEST}: no shipped file with sha256 {sha256[:12]}... (the flow net "
                         f"this restorer was trained with)")


def shipped_entry(key: str) -> dict | None:
    """The manifest entry made by the job whose cache key is `key` (`s2svr.experiments.jobs.key`), with `name`,
    `path` and `log_path` set; None when none is shipped (or the entry has no file: an identity baseline, whose
    metrics are evaluated afresh). A listed file that is missing is an error naming it."""
    for name, entry in manifest().items():
        if entry.get("key") == key:
            if not entry.get("file"):
                return None
            path = weights_dir() / entry["file"]
            if not path.is_file():
                raise ReferenceError(f"{weights_dir() / MANIFEST}: entry '{name}' names {entry['file']}, which is "
                                     "missing")
            return {**entry, "name": name, "path": str(path),
                    "log_path": str(weights_dir() / entry["log"]) if entry.get("log") else None}
    return None


def git_commit() -> str:
    """HEAD of the checkout the package is in, with `-dirty` when a tracked file differs from it (provenance)."""
    import subprocess
    here = Path(__file__).resolve().parent
    try:
        run = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True, cwd=here,  # noqa: E731
                                        timeout=10).stdout.strip()
        head = run("rev-parse", "HEAD")
        return (head + ("-dirty" if run("status", "--porcelain", "-uno", "--", ".") else "")) if head else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
