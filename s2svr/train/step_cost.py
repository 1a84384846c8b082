"""The trainer's step, measured without the trainer: what one training step of a config costs.

Explained in the book's chapter `notebooks/exp_study.py`; `s2svr.bench` times it and the restorer study
(`s2svr.experiments.study`) records its FLOPs beside each run's logged seconds per step.
"""
from __future__ import annotations

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
