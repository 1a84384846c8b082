"""The trainer's step, measured without the trainer: what one training step of a config costs.

Explained in the book's chapter `notebooks/exp_study.py`; `s2svr.bench` times it and the restorer study
(`s2svr.experiments.study`) records its FLOPs beside each run's logged seconds per step.
"""
from __future__ import annotations

import contextlib
import functools

import torch

from ..flow.nets import build_flow_net
from ..models import build_model


def synthetic_clip(t: int, c: int, size: int, seed: int = 0) -> torch.Tensor:
    """A smooth texture moving right by one pixel a frame, `(1, T, C, size, size)` in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    base = torch.nn.functional.avg_pool2d(torch.rand(1, c, size, size, generator=g), 5, 1, 2)
    return torch.stack([torch.roll(base, shifts=i, dims=-1) for i in range(t)], dim=1)


def training_step(cfg, seed: int = 0):
    """The trainer's step for `cfg` on a synthetic batch of its shape: `(step, flops)`, where `step()` runs one
    Charbonnier + Adam step with the trainer's parameter groups and `flops` counts its convolutions and matmuls,
    forward and backward (`FlopCounterMode`, as the inference rows).

    As in `s2svr.train.trainer.train`: a flow net frozen for the whole run (`flow_freeze_iters >= iters`, every
    cpu run) has no gradients and its flows are computed before the step (once per sequence, `FlowBank`), so the
    step does not run it; a flow net that is fine-tuned runs inside the step."""
    from torch.utils.flop_counter import FlopCounterMode

    from ..losses import charbonnier_loss
    from ..models.motion import estimate_flows
    from .trainer import _param_groups
    torch.manual_seed(seed)
    model = build_model(cfg.model, flow_net=build_flow_net(cfg.flow)).train()
    flow = getattr(model, "flow", None)
    frozen = flow is not None and cfg.train.flow_freeze_iters >= cfg.train.iters
    if frozen:
        flow.requires_grad_(False)
    if cfg.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam([g for g in _param_groups(model, cfg) if g["params"]], betas=tuple(cfg.train.betas))
    d, c = cfg.data, cfg.model.in_channels
    s = cfg.model.scale if cfg.model.task == "sr" else 1
    lq = synthetic_clip(d.num_frames, c, d.patch_size).expand(d.batch_size, -1, -1, -1, -1).contiguous()
    gt = torch.rand(d.batch_size, d.num_frames, c, d.patch_size * s, d.patch_size * s)
    kwargs = {}
    if frozen and cfg.train.precompute_flow:
        with torch.no_grad():  # the flow bank's work, done before training starts
            kwargs["flows"] = estimate_flows(flow, lq, cfg.model.flow_size)

    def step():
        loss = charbonnier_loss(model(lq, **kwargs), gt, eps=cfg.train.charbonnier_eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up (and Adam's state)
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return step, counter.get_total_flops()


def restorer_flops(cfg, frames: int = 3, patch: int = 16) -> dict:
    """FLOPs of one training step of `cfg` (forward and backward), scaled from a small measured step: the restorer's
    FLOPs grow with clips x frames x LQ pixels; the flow net's, run inside the step once it is no longer frozen,
    with clips x frame pairs, each pair at the config's `model.flow_size` (or at the crop's size when None).

    Measured: one step of `batch 1 x frames x patch^2` with the flow net frozen and its flows precomputed (the
    restorer alone), and the flow net's forward and backward on one pair (:func:`flow_pair_flops`). Returns
    {'restorer', 'flow'} (FLOPs per step at the config's batch, frames and crop; 'flow' 0 without a flow net, and
    0 during the first 'frozen_steps')."""
    from dataclasses import replace
    t, d = cfg.train, cfg.data
    small = replace(cfg, data=replace(d, batch_size=1, num_frames=frames, patch_size=patch),
                    train=replace(t, iters=2, flow_freeze_iters=2))
    _, only = training_step(small)
    flow_part = 0.0
    if cfg.model.arch in ("basicvsr", "s2svr") and cfg.flow.net.type == "pwclite":  # a classical flow does not train
        size = cfg.model.flow_size or d.patch_size
        flow_part = flow_pair_flops(cfg.flow, size, cfg.model.in_channels) * d.batch_size * (d.num_frames - 1)
    scale = d.batch_size * (d.num_frames / frames) * (d.patch_size / patch) ** 2
    return {"restorer": only * scale, "flow": flow_part, "frozen_steps": min(t.flow_freeze_iters, t.iters)}


@functools.lru_cache(maxsize=None)  # configs are frozen: one count per flow net and size
def flow_pair_flops(flow_cfg, size: int, in_channels: int = 3) -> int:
    """FLOPs of the restorers' flow net on one frame pair of `size^2`, both directions, forward and backward."""
    from torch.utils.flop_counter import FlopCounterMode

    from ..models.motion import estimate_flow_pair
    torch.manual_seed(0)
    net = build_flow_net(flow_cfg).train()
    clip = synthetic_clip(2, in_channels, size)[0]
    counter = FlopCounterMode(display=False)
    with counter:
        fw, bw = estimate_flow_pair(net, clip[:1], clip[1:], None)
        (fw.sum() + bw.sum()).backward()
    return counter.get_total_flops()


def flow_stage_flops(cfg, stage: str, patch: int = 64) -> float:
    """FLOPs of one step of an Algorithm 1 stage of `cfg` (forward, loss and backward; a student also runs its
    teacher forward), scaled from one `patch^2` pair to the config's batch and crop (`flow.budget.batch_size`,
    `flow.augment.patch_size`; PWC-Lite's cost follows the pixels; the loss before `flow.stage1`)."""
    from torch.utils.flop_counter import FlopCounterMode

    from ..losses import FlowLoss
    from .flow import build_flow_model, stage_frames, stage_loss
    f = cfg.flow
    torch.manual_seed(0)
    frames = stage_frames(stage)
    model = build_flow_model(f, frames).train()
    teacher = build_flow_model(f, "hq").eval() if stage == "student" else None
    s = cfg.model.scale if frames == "lq" and cfg.model.task == "sr" else 1
    hq = synthetic_clip(2, 3, patch)[0]
    lq = torch.nn.functional.avg_pool2d(hq, s) if s > 1 else hq
    batch = {"hq1": hq[:1], "hq2": hq[1:], "lq1": lq[:1], "lq2": lq[1:], "flow_gt": torch.zeros(1, 2, *lq.shape[-2:])}
    loss_fn = FlowLoss.from_config(f.loss)
    counter = FlopCounterMode(display=False)
    with counter:
        loss, _ = stage_loss(stage, model, batch, loss_fn, teacher=teacher)
        loss.backward()
    return counter.get_total_flops() * f.budget.batch_size * (f.augment.patch_size / patch) ** 2


@contextlib.contextmanager
def _quiet_stderr():
    """The process's stderr (file descriptor 2) to /dev/null for the block: the profiler's C++ side prints a line
    at its start and stop there, which a notebook would show."""
    import os
    import sys
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def step_profile(step, repeats: int = 2, top: int = 10):
    """Where a training step's time goes: `step` (from :func:`training_step`) run `repeats` times under
    `torch.profiler`, its operators by self CPU time. Returns a DataFrame (index: the operator; columns 'ms per
    step', 'share', 'calls per step') of the `top` operators and one row 'everything else'; the shares sum to 1."""
    import pandas as pd
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(repeats):
            step()
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: -e.self_cpu_time_total)
    rows = {e.key: (e.self_cpu_time_total, e.count) for e in events[:top]}
    rest = events[top:]
    if rest:
        rows["everything else"] = (sum(e.self_cpu_time_total for e in rest), sum(e.count for e in rest))
    return pd.DataFrame({"ms per step": {k: t / 1e3 / repeats for k, (t, _) in rows.items()},
                         "share": {k: t / total for k, (t, _) in rows.items()},
                         "calls per step": {k: n / repeats for k, (_, n) in rows.items()}})
