"""Loading trained models for use: a restorer or a flow net from its checkpoint, without the trainers.

Explained in the book's chapter `notebooks/use_restore.py`. Everything that only uses a model (`s2svr restore`,
`s2svr eval`, `s2svr flow`, the report, the experiment worker's evaluation) loads it here, beside the checkpoint
format (`s2svr/train/checkpoint.py`); nothing here imports the trainers, their data loaders or DDP.

A shipped restorer does not repeat its frozen flow net: its checkpoint names the flow net's file by sha256
(`flow_ref`), and :func:`restorer_weights` finds that file in the restorer's own folder first, then among the
shipped reference weights (`s2svr/reference.py`), so the two files can be copied anywhere together.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..configs import config_from_dict
from ..flow.nets import build_flow_net
from ..flow.pwclite import PWCLite
from ..flow.use import FlowUse
from ..models import build_model
from ..utils import resolve_device
from .checkpoint import load_checkpoint, load_weights


# how a net ran, which flow checkpoints written before `s2svr.flow.use` kept in their arch: not layers
USE_IN_OLD_ARCH = ("zoom", "pad", "infer_zoom")


def flow_arch(state: dict) -> dict:
    """PWC-Lite's layers recorded in a flow checkpoint (its constructor arguments; older ones: ARFlow's, raw cost
    volume)."""
    arch = dict(state.get("arch") or {"search_range": 4, "cost_norm": False})
    return {k: v for k, v in arch.items() if k not in USE_IN_OLD_ARCH}


def trained_use(state: dict) -> FlowUse:
    """The zoom and padding a flow checkpoint's net was trained at (`'use'`; before it, in its arch), the use it
    runs at unless told otherwise. A teacher's zoom in use is not there: an argument of use, recorded beside the
    shipped weights (`s2svr.reference.reference_use`)."""
    if state.get("use"):
        return FlowUse(**state["use"])
    arch = state.get("arch") or {}
    return FlowUse(zoom=arch.get("zoom", 1.0), pad=arch.get("pad", False))


def load_flow_net(path, device="cpu", frozen: bool = True, zoom: float | None = None) -> PWCLite:
    """A PWC-Lite from an Algorithm 1 checkpoint (any stage), run at the use it trained at, or at `zoom` (its padding
    kept); frozen and in eval mode for use as a teacher."""
    state = load_checkpoint(path, kind="flow")
    use = trained_use(state)
    model = PWCLite(**flow_arch(state)).using(use if zoom is None else use.but(zoom=zoom))
    load_weights(model, state["model"], path)
    model.to(resolve_device(device))
    if frozen:
        model.eval().requires_grad_(False)
    return model


def load_restorer(path: str | Path, device: str | torch.device = "cpu", task: str | None = None):
    """(model in eval mode, config) from a restoration checkpoint."""
    state = load_checkpoint(path, kind="restoration", task=task)
    cfg = config_from_dict(state["config"], str(path))
    model = build_model(cfg.model, flow_net=build_flow_net(cfg.flow))
    load_weights(model, restorer_weights(state, path), path)
    return model.to(device).eval(), cfg


def restorer_weights(state: dict, path: str | Path | None = None) -> dict:
    """A restoration checkpoint's weights; a shipped restorer's frozen flow net comes from the flow file it names
    by digest (`flow_ref`): one in the checkpoint's own folder, else a shipped reference file."""
    weights = dict(state["model"])
    ref = state.get("flow_ref")
    if ref:
        flow = load_checkpoint(flow_file_by_digest(ref["sha256"], Path(path).parent if path else None), kind="flow")
        weights.update({f"flow.{k}": v for k, v in flow["model"].items()})
    return weights


def flow_file_by_digest(sha256: str, folder: Path | None = None) -> Path:
    """The flow checkpoint whose sha256 is `sha256`: a `.safetensors` file of `folder`, else a shipped one."""
    from ..reference import checkpoint_by_digest, sha256_file
    if folder is not None and folder.is_dir():
        for p in sorted(folder.glob("*.safetensors")):
            if sha256_file(p) == sha256:
                return p
    return checkpoint_by_digest(sha256)
