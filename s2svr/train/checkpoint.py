"""Checkpoints that prove their integrity: safetensors, no pickle, a sha256 over every byte, checked at load.

Explained in `book/use_train.md`. One checkpoint is one safetensors file
(the names `last.pt` and `flow_<stage>.pt` are kept; the content is detected, not the suffix)::

    8 bytes   little-endian length N of the header
    N bytes   JSON header: the tensors' dtypes, shapes and offsets, and "__metadata__" = {
                  "format": "s2svr-checkpoint-v2",
                  "kind": "restoration" | "flow", "task": "sr" | "deblur" | "vqe" | "", "stage": ..., "step": ...,
                  "s2svr":  JSON of the whole state with every tensor replaced by {"$tensor": NAME}
                            (config, step, kind, stage, arch, optimiser / scheduler / RNG structure),
                  "sha256": hex digest of the whole file with these 64 digits written as zeros }
    rest      the tensors' bytes: model weights as `model.<parameter>`, optimiser moments as
              `optimizer.state.<i>.exp_avg`, RNG states as `rng.torch`, ...

So a resumed run gets model, optimiser, scheduler, step and RNG states back bit for bit, and a flipped bit
anywhere (header or tensors) or a truncated file is caught before anything is used. Weights may be stored
in fp16 (`convert_checkpoint(..., dtype=torch.float16)`, the release format); they are loaded into the
model's own dtype. The pickle-based files of format v1 (`torch.save`) are not loaded; `s2svr
convert-checkpoint OLD NEW` converts one (read with `torch.load(weights_only=True)`).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from ..outputs import partial_name, remove, remove_stale_partials

FORMAT = "s2svr-checkpoint-v2"
OLD_FORMAT = "s2svr-checkpoint-v1"
_ZEROS = "0" * 64
_MAX_HEADER = 100 << 20


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, corrupt, truncated, foreign, or from another task/kind/arch."""


# ------------------------------------------------------------------------------ state <-> (JSON, tensors)


def _encode(x, name: str, tensors: dict, storages: set):
    if isinstance(x, torch.Tensor):
        key, i = name or "tensor", 1
        while key in tensors:
            key, i = f"{name}#{i}", i + 1
        t = x.detach().to("cpu").contiguous()
        ptr = t.untyped_storage().data_ptr() if t.numel() else None
        if ptr is not None and ptr in storages:  # tied or sliced tensors: safetensors stores no shared memory
            t = t.clone()
        elif ptr is not None:
            storages.add(ptr)
        tensors[key] = t
        return {"$tensor": key}
    sub = (lambda k: f"{name}.{k}" if name else str(k))
    if isinstance(x, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in x):
            return {k: _encode(v, sub(k), tensors, storages) for k, v in x.items()}
        return {"$items": [[_encode(k, "", {}, set()), _encode(v, sub(k), tensors, storages)] for k, v in x.items()]}
    if isinstance(x, tuple):
        return {"$tuple": [_encode(v, sub(i), tensors, storages) for i, v in enumerate(x)]}
    if isinstance(x, list):
        return [_encode(v, sub(i), tensors, storages) for i, v in enumerate(x)]
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if hasattr(x, "item") and getattr(x, "shape", None) == ():  # numpy scalars
        return x.item()
    raise TypeError(f"save_checkpoint: cannot store {type(x).__name__} at {name!r} (tensors and plain values only)")


def _decode(x, tensors: dict):
    if isinstance(x, list):
        return [_decode(v, tensors) for v in x]
    if isinstance(x, dict):
        if set(x) == {"$tensor"}:
            return tensors[x["$tensor"]]
        if set(x) == {"$tuple"}:
            return tuple(_decode(v, tensors) for v in x["$tuple"])
        if set(x) == {"$items"}:
            return {_decode(k, tensors): _decode(v, tensors) for k, v in x["$items"]}
        return {k: _decode(v, tensors) for k, v in x.items()}
    return x


def _task(state: dict) -> str:
    return ((state.get("config") or {}).get("model") or {}).get("task") or ""


# ------------------------------------------------------------------------------ writing


def checkpoint_bytes(state: dict[str, Any]) -> bytes:
    """The bytes of a checkpoint holding `state` (see the module docstring), digest included."""
    from safetensors.torch import save
    tensors: dict = {}
    skeleton = _encode({"format": FORMAT, **state}, "", tensors, set())
    meta = {"format": FORMAT, "kind": str(state.get("kind") or ""), "task": _task(state),
            "stage": str(state.get("stage") or ""), "step": str(state.get("step", "")),
            "s2svr": json.dumps(skeleton, separators=(",", ":")), "sha256": _ZEROS}
    data = save(tensors, metadata=meta)
    digest = hashlib.sha256(data).hexdigest()
    n = int.from_bytes(data[:8], "little")
    header = data[8:8 + n]
    assert header.count(_ZEROS.encode()) == 1, "the digest placeholder must be unique in the header"
    return data[:8] + header.replace(_ZEROS.encode(), digest.encode()) + data[8 + n:]


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write `state` (tensors and plain values, nested) to `path` atomically: a temporary sibling
    `.NAME.partial-PID.tmp`, fsync, then rename. A run killed while saving leaves the previous checkpoint
    intact; its temporary file is removed by the next save to the same path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(path)
    for old in path.parent.glob(f".{path.name}.*.tmp"):  # mkstemp leftovers of format v1's writer
        if ".partial-" not in old.name:
            remove(old)
    data = checkpoint_bytes(state)
    tmp = partial_name(path, ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        remove(tmp)
        raise
    return path


# ------------------------------------------------------------------------------ reading


def _refuse(path, problem) -> CheckpointError:
    return CheckpointError(f"{path}: {problem}")


def _convert_hint(path) -> str:
    return f"convert it once with `s2svr convert-checkpoint {path} NEW.pt`"


def read_header(path: str | Path, data: bytes | None = None) -> tuple[dict, bytes]:
    """(safetensors header as a dict, the file's bytes) of a checkpoint, its digest verified."""
    path = Path(path)
    if not path.is_file():
        raise _refuse(path, "checkpoint not found" if not path.exists() else "not a file")
    data = path.read_bytes() if data is None else data
    if data[:4] == b"PK\x03\x04":
        raise _refuse(path, f"a pickle-based torch.save file (format {OLD_FORMAT} or foreign), not an s2svr "
                            f"safetensors checkpoint; {_convert_hint(path)}")
    if len(data) < 10:
        raise _refuse(path, f"not an s2svr checkpoint (a {len(data)}-byte file; expected a safetensors file)")
    n = int.from_bytes(data[:8], "little")
    if data[8:9] != b"{" or n > _MAX_HEADER:
        raise _refuse(path, "not an s2svr checkpoint (not a safetensors file: no JSON header after the 8-byte length)")
    if 8 + n > len(data):
        raise _refuse(path, f"truncated: the header alone should be {n} bytes, the file has {len(data) - 8}")
    try:
        header = json.loads(data[8:8 + n])
    except (ValueError, UnicodeDecodeError):
        raise _refuse(path, "corrupted: the safetensors header is not valid JSON") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or "sha256" not in meta:
        found = meta.get("format") if isinstance(meta, dict) else None
        if found == FORMAT:  # an s2svr header whose digest entry is gone: a damaged file, not a foreign one
            raise _refuse(path, "corrupted: the header is an s2svr checkpoint's but its sha256 entry is missing")
        raise _refuse(path, f"a safetensors file without s2svr metadata (format {found!r}; expected "
                            f"{FORMAT!r} in the header's __metadata__)")
    ends = [v["data_offsets"][1] for k, v in header.items()
            if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v]
    size = max(ends, default=0)
    if len(data) - 8 - n < size:
        raise _refuse(path, f"truncated: {len(data) - 8 - n} bytes of tensor data, the header describes {size}")
    want = str(meta.get("sha256", ""))
    hb = data[8:8 + n]
    if len(want) != 64 or hb.count(want.encode()) != 1:
        raise _refuse(path, "corrupted: the header's sha256 field is damaged")
    got = hashlib.sha256(data[:8] + hb.replace(want.encode(), _ZEROS.encode()) + data[8 + n:]).hexdigest()
    if got != want:
        raise _refuse(path, f"corrupted: its sha256 is {got[:16]}..., the header records {want[:16]}... "
                            "(flipped bits or a partial copy; copy it again or use an older checkpoint)")
    if meta.get("format") != FORMAT or "s2svr" not in meta:
        raise _refuse(path, f"format {meta.get('format')!r}, expected {FORMAT!r} (written by another version of s2svr)")
    return header, data


def load_checkpoint(path: str | Path, map_location="cpu", kind: str | None = None,
                    task: str | None = None) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, after checking its digest.

    Args:
        kind: expected `state['kind']` ('restoration' or 'flow'), checked when given.
        task: expected model task ('sr', 'deblur', 'vqe'), checked when given.
    Raises:
        CheckpointError with a one-line message naming the file, the problem and what was expected.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load
    path = Path(path)
    header, data = read_header(path)
    meta = header["__metadata__"]
    if kind is not None and meta.get("kind") != kind:
        raise _refuse(path, f"a '{meta.get('kind')}' checkpoint, expected '{kind}'")
    if task is not None and meta.get("task") != task:
        raise _refuse(path, f"trained for task '{meta.get('task')}', this run is task '{task}'")
    try:
        tensors = load(data)
        state = _decode(json.loads(meta["s2svr"]), tensors)
    except (SafetensorError, ValueError, KeyError, TypeError) as e:  # digest matched: written wrongly
        raise _refuse(path, f"inconsistent checkpoint ({type(e).__name__}: {str(e)[:120]})") from None
    if map_location not in (None, "cpu", torch.device("cpu")):
        state = _to(state, torch.device(map_location))
    state.pop("format", None)
    return state


def _to(x, device):
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, dict):
        return {k: _to(v, device) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_to(v, device) for v in x)
    return x


def load_weights(model: torch.nn.Module, weights: dict, path) -> None:
    """`model.load_state_dict(weights)`, a mismatch reported in one line (which names, which shapes).

    Weights in another floating dtype (fp16 release files) are cast to the model's parameters' dtype."""
    own = model.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    shapes = [k for k in own if k in weights and tuple(weights[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if shapes:
            k = shapes[0]
            parts.append(f"{len(shapes)} of another shape (e.g. {k}: {list(weights[k].shape)} in the file, "
                         f"{list(own[k].shape)} in the model)")
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        raise _refuse(path, f"weights of another architecture than {type(model).__name__} expects: "
                            + "; ".join(parts))
    model.load_state_dict(weights)


# ------------------------------------------------------------------------------ conversion


def convert_checkpoint(old: str | Path, new: str | Path, dtype: torch.dtype | None = None,
                       weights_only: bool = False) -> Path:
    """Convert a format-v1 `torch.save` checkpoint (read with `weights_only=True`: no code runs) or a v2 one
    to a v2 file at `new`; `dtype=torch.float16` stores the floating weights in fp16 and, like
    `weights_only=True`, drops the training state (optimiser, scheduler, RNG): the release format."""
    old, new = Path(old), Path(new)
    if not old.is_file():
        raise _refuse(old, "checkpoint not found")
    if old.read_bytes()[:4] == b"PK\x03\x04":
        import pickle
        import zipfile
        try:
            state = torch.load(old, map_location="cpu", weights_only=True)
        except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise _refuse(old, f"not a readable torch checkpoint ({first[:160]})") from None
        if not isinstance(state, dict) or state.get("format") != OLD_FORMAT:
            raise _refuse(old, f"not an s2svr checkpoint (no '{OLD_FORMAT}' marker)")
        state.pop("format")
    else:
        state = load_checkpoint(old)
    if dtype is not None or weights_only:
        state = {k: v for k, v in state.items() if k not in ("optimizer", "scheduler", "rng")}
        state["weights_only"] = True
    if dtype is not None:
        state["model"] = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state["model"].items()}
    return save_checkpoint(new, state)


# ------------------------------------------------------------------------------ RNG


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
