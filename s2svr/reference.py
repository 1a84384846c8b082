"""The shipped reference weights: `weights/manifest.json` and the checkpoints it lists (profile cpu).

The manifest maps a model's name (e.g. 'flow-teacher', 'sr-s2svr') to its file, digest, config hash and
provenance. `make weights` writes it; the CLI's defaults and the experiment plan read it. The folder is
`weights/` beside the package (a source checkout) or `$S2SVR_WEIGHTS`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

MANIFEST = "manifest.json"


class ReferenceError(FileNotFoundError):
    """No shipped reference model of that name."""


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
