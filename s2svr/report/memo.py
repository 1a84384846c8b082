"""A chapter's expensive measurements, kept so that `make book` does not measure them again.

`remember(fn, *args, **kwargs)` is `fn(*args, **kwargs)` (a JSON-able result: dicts, lists, numbers, strings),
kept under a key that is a digest of
- `fn`'s module and name, and the sources that decide its result (:data:`SOURCES`, and `fn`'s own module);
- the *contents* of its arguments: a video's frames (`FrameSource`), a network's weights and, for each of its layers, what it is and how it runs in
  use (`s2svr.flow.memo`'s digests: a flow net's zoom in use counts), arrays and tensors byte for byte, and
  everything else by value.
So a kept result is reused only for the same network on the same data with the same code; anything else is
measured afresh.

Where a result is looked for, in order:
1. `weights/memo/` (`s2svr.reference.weights_dir`), the results `make weights` measured with the shipped weights
   (profile cpu), so that `make book` on a clean clone reads them; skipped with `S2SVR_TRAIN=1`
   (`make book TRAIN=1` measures everything again);
2. `<outputs>/memo/` (`S2SVR_OUTPUTS`, default `outputs`), this machine's own, written after each measurement.
`S2SVR_MEMO=DIR` makes DIR the only folder, read and written: `make weights` fills `weights/memo/` that way.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..data.sequence import FrameSource
from ..flow.memo import _run_settings, weights_digest
from ..utils import make_once, write_text_atomic

PACKAGE = Path(__file__).resolve().parents[1]
# what decides a measurement besides fn's own module: the flow nets, the restorers, their evaluation, the metrics
SOURCES = ("flow", "models", "train/flow_evaluate.py", "train/evaluate.py", "train/flow_bank.py", "metrics.py")


def _update(h, x) -> None:
    """Feed the contents of `x` into the hash `h` (see the module docstring)."""
    if isinstance(x, torch.nn.Module):  # its weights, and what each of its layers is and how it runs in use
        h.update(b"module:" + weights_digest(x).encode())
        for name, sub in x.named_modules():
            h.update(f"{name}:{type(sub).__qualname__}:{_run_settings(sub)};".encode())
    elif isinstance(x, FrameSource):  # a video's frames, by their contents (wherever they are read from)
        h.update(b"frames:")
        _update(h, x.read(list(range(len(x)))))
    elif isinstance(x, torch.Tensor):
        _update(h, x.detach().cpu().contiguous().numpy() if x.dtype != torch.bfloat16 else x.float().numpy())
    elif isinstance(x, np.ndarray):
        a = np.ascontiguousarray(x)
        h.update(f"array:{a.dtype}:{a.shape}:".encode() + a.tobytes())
    elif isinstance(x, dict):
        h.update(b"dict{")
        for k in sorted(x, key=str):
            _update(h, str(k))
            _update(h, x[k])
        h.update(b"}")
    elif isinstance(x, (list, tuple)):
        h.update(b"seq[")
        for v in x:
            _update(h, v)
        h.update(b"]")
    elif dataclasses.is_dataclass(x) and not isinstance(x, type):
        h.update(type(x).__qualname__.encode())
        _update(h, {f.name: getattr(x, f.name) for f in dataclasses.fields(x)})
    elif x is None or isinstance(x, (str, int, float, bool)):
        h.update(f"{type(x).__name__}:{x!r};".encode())
    elif hasattr(x, "__dict__"):  # a stand-in or a classical method: its class and its settings
        h.update(b"object:" + type(x).__qualname__.encode())
        _update(h, {k: v for k, v in vars(x).items() if not k.startswith("_")})
    else:
        h.update(f"{type(x).__qualname__}:{x!r};".encode())


def _sources(fn: Callable) -> list[Path]:
    own = Path(getattr(__import__(fn.__module__, fromlist=["_"]), "__file__", "") or "")
    files = {own} if own.is_file() else set()
    for s in SOURCES:
        p = PACKAGE / s
        files |= set(p.rglob("*.py")) if p.is_dir() else {p}
    return sorted(f for f in files if "__pycache__" not in f.parts)


def sources_digest(fn: Callable) -> str:
    """A digest of the sources that decide `fn`'s results (:data:`SOURCES` and `fn`'s module)."""
    h = hashlib.sha256()
    for f in _sources(fn):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:20]


def memo_key(fn: Callable, *args, **kwargs) -> str:
    """The key a result of `fn(*args, **kwargs)` is kept under (`<fn name>-<digest>`)."""
    h = hashlib.sha256(f"{fn.__module__}.{fn.__qualname__}:{sources_digest(fn)}".encode())
    _update(h, list(args))
    _update(h, kwargs)
    return f"{fn.__name__}-{h.hexdigest()[:20]}"


def folders() -> list[Path]:
    """Where results are looked for, in order (the module docstring): the last one is written."""
    if os.environ.get("S2SVR_MEMO"):
        return [Path(os.environ["S2SVR_MEMO"])]
    from ..reference import weights_dir
    local = Path(os.environ.get("S2SVR_OUTPUTS", "outputs")) / "memo"
    return ([] if os.environ.get("S2SVR_TRAIN") == "1" else [weights_dir() / "memo"]) + [local]


def remember(fn: Callable, *args, **kwargs):
    """`fn(*args, **kwargs)`, read from a folder of :func:`folders` when a result with the same key is kept there,
    else measured and kept in the last one (JSON, written whole; two chapters executed at once that ask for the
    same result wait for one measurement)."""
    key = memo_key(fn, *args, **kwargs)
    *shipped, local = folders()
    for d in shipped:
        if (d / f"{key}.json").is_file():
            return json.loads((d / f"{key}.json").read_text())["result"]
    path = local / f"{key}.json"

    def measure():
        doc = {"function": f"{fn.__module__}.{fn.__qualname__}", "sources": sources_digest(fn),
               "result": fn(*args, **kwargs)}
        write_text_atomic(path, json.dumps(doc, default=_plain))
    make_once(path, measure)
    return json.loads(path.read_text())["result"]


def _plain(x):
    """NumPy numbers and arrays as JSON numbers and lists (a result comes back as plain Python)."""
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"{type(x).__name__} cannot be kept in a memo")


def stale(folder: Path) -> list[str]:
    """The results kept in `folder` whose function's sources have changed since (`make memo` measures them again)."""
    import importlib
    out = []
    for p in sorted(Path(folder).glob("*.json")):
        doc = json.loads(p.read_text())
        module, _, name = doc["function"].rpartition(".")
        fn = getattr(importlib.import_module(module), name, None)
        if fn is None or sources_digest(fn) != doc.get("sources"):
            out.append(p.name)
    return out
