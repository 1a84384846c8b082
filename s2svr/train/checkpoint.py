"""Checkpoints: written atomically, loaded safely (`weights_only=True`), checked against the run's config.

Explained in the book's chapter "Use it: train on the real datasets". A checkpoint is a dict of tensors and
plain Python values: model and optimiser state, scheduler state, step, RNG states and the config as a
plain dict, so that `torch.load(..., weights_only=True)` can read it and a resumed run continues exactly.
"""
from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

FORMAT = "s2svr-checkpoint-v1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, corrupt, foreign, or from another task/config."""


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write `state` to `path` atomically: a temporary file in the same folder, fsync, then rename.

    A run killed while saving leaves the previous checkpoint intact, never a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, **state}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, map_location="cpu", kind: str | None = None,
                    task: str | None = None) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Args:
        kind: expected `state['kind']` ('restoration' or 'flow'), checked when given.
        task: expected model task ('sr', 'deblur', 'vqe'), checked when given.
    Raises:
        CheckpointError with a one-line message naming the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({first[:160]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an s2svr checkpoint (no '{FORMAT}' marker)")
    if kind is not None and state.get("kind") != kind:
        raise CheckpointError(f"{path}: a '{state.get('kind')}' checkpoint, expected '{kind}'")
    if task is not None:
        ck_task = (state.get("config") or {}).get("model", {}).get("task")
        if ck_task != task:
            raise CheckpointError(f"{path}: trained for task '{ck_task}', this run is task '{task}'")
    return state


def rng_state() -> dict[str, Any]:
    """RNG states of torch (CPU and CUDA) as tensors: restorable with :func:`set_rng_state`."""
    out = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
