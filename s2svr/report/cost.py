"""GPU hours and memory of the paper's runs, estimated from what a CPU can measure.

Explained in `notebooks/report.py` (section "What the paper profile would take").

Measured (:func:`measure`, float32, on any CPU):

* FLOPs of one steady-state frame, split in two: PWC-Lite on one frame pair (both directions, at the config's
  `model.flow_size`, so the same for every crop) and the rest of the network per LQ pixel (the flow replaced by
  zero flow; convolutions and matmuls only, `s2svr.bench.flops_per_frame`);
* activation memory kept for the backward pass (tensors saved by autograd, each storage once, :func:`saved_bytes`)
  of a training forward pass: PWC-Lite per frame pair, the rest per frame and per LQ pixel, from two tiny clips.

Assumed (:class:`GpuAssumption`, stated beside every estimate): a training step costs 3x the forward FLOPs
(forward + backward); the flow net costs only its forward pass while frozen (the first `flow_freeze_iters`);
a flow-training step (Algorithm 1) costs 3x PWC-Lite's pair FLOPs per sample, plus the teacher's forward for
the student; a GPU sustains `util` of its `peak_flops`; no mixed precision, data-loading stalls or validation.
:func:`estimate` is that arithmetic alone, so it can be checked without measuring anything.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GpuAssumption:
    """The GPUs an estimate assumes (none of this is measured)."""

    name: str = "V100"
    peak_flops: float = 15.7e12   # NVIDIA V100 SXM2, float32 (datasheet)
    util: float = 0.30            # sustained fraction: small 64 px patches and recurrent steps keep it low
    gpus: int = 8                 # restoration training (the paper's 8 GPUs); flow training uses one

    @property
    def sustained(self) -> float:
        """FLOP/s of one GPU at the assumed utilisation."""
        return self.peak_flops * self.util


@dataclass(frozen=True)
class Measured:
    """What :func:`measure` counts for one config (FLOPs forward only; bytes float32)."""

    flow_flops: float    # PWC-Lite, one frame pair, both directions
    flow_bytes: float    # saved for backward by that pair
    flops_px: float      # the rest of the network, per LQ pixel of one frame
    bytes_px: float      # saved for backward per LQ pixel of one frame
    bytes_frame: float   # saved for backward per frame, whatever its size
    params: int          # parameters, flow net included


def saved_bytes(fn) -> int:
    """Bytes of the tensors autograd saves for backward while running `fn()`, each storage counted once (a tensor
    saved by two operations, or two views of one storage, is held once)."""
    seen = {}

    def pack(t):
        s = t.untyped_storage()
        seen[(s.data_ptr(), s.nbytes())] = s.nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def flow_pair_cost(flow_net, flow_size, side: int = 16) -> tuple[float, float]:
    """(FLOPs forward, bytes saved for backward) of `flow_net` on one frame pair, both directions, at
    `flow_size` (PWC-Lite resizes its input to it, so the frames' own `side` does not matter)."""
    from torch.utils.flop_counter import FlopCounterMode

    from ..train.step_cost import synthetic_clip
    pair = synthetic_clip(2, 3, side)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        flow_net.eval()(pair[:, 0], pair[:, 1], with_bw=True, work_size=flow_size)
    flow_net.train()
    nbytes = saved_bytes(lambda: flow_net(pair[:, 0], pair[:, 1], with_bw=True, work_size=flow_size))
    return float(counter.get_total_flops()), float(nbytes)


def measure(cfg, flow: tuple[float, float] | None = None, seed: int = 0) -> Measured:
    """Count a config's costs on small synthetic clips (see the module docstring).

    Args:
        cfg: a resolved ExperimentConfig (`load_config(name, 'paper')`), arch 's2svr'.
        flow: PWC-Lite's (FLOPs, bytes) per pair from an earlier :func:`flow_pair_cost`, to reuse (it does not
            depend on the crop); None measures it on this config's flow net.
    """
    from ..bench import flops_per_frame
    from ..models import build_model, parameter_breakdown
    from ..train.step_cost import synthetic_clip
    from .saliency import without_motion
    torch.manual_seed(seed)
    net = build_model(cfg.model)
    ch = cfg.model.in_channels
    if flow is None:
        flow = flow_pair_cost(net.flow, cfg.model.flow_size)
    body = without_motion(net)  # the rest of the network: flow replaced by zero flow
    side = 16
    flops_px = flops_per_frame(body, synthetic_clip(3, ch, side)) / side ** 2
    body.train()
    # saved bytes are affine in the pixels of a frame: two sizes give the slope and the intercept
    b8, b16 = (saved_bytes(lambda: body(synthetic_clip(2, ch, s))) for s in (8, 16))
    bytes_px = (b16 - b8) / (2 * (16 ** 2 - 8 ** 2))
    return Measured(flow_flops=flow[0], flow_bytes=flow[1], flops_px=flops_px, bytes_px=bytes_px,
                    bytes_frame=b8 / 2 - 8 ** 2 * bytes_px, params=parameter_breakdown(net)["total"])


def estimate(cfg, m: Measured, gpu: GpuAssumption = GpuAssumption()) -> dict:
    """Hours and memory of `cfg`'s runs from the measured `m` under the assumed `gpu` (pure arithmetic).

    Returns {'flops_frame' (forward, one LQ frame of the training crop, flow pair included), 'train_flops' and
    'train_hours' (restoration training on `gpu.gpus` GPUs), 'flow_flops' and 'flow_hours' (Algorithm 1's teacher
    and student on one GPU), 'activations_gb' (one clip per GPU), 'states_gb' (weights, gradients and Adam's two
    moments, float32)}.
    """
    d, t = cfg.data, cfg.train
    frames, px, batch = d.num_frames, d.patch_size ** 2, d.batch_size
    fwd_body, fwd_flow = frames * m.flops_px * px, (frames - 1) * m.flow_flops  # per clip
    frozen = min(t.flow_freeze_iters, t.iters)
    train_flops = batch * (frozen * (3 * fwd_body + fwd_flow) + (t.iters - frozen) * 3 * (fwd_body + fwd_flow))
    # teacher step (3x) + student step (3x) + the frozen teacher's forward for the student's labels (1x)
    flow_flops = cfg.flow.budget.iters * cfg.flow.budget.batch_size * (3 + 3 + 1) * m.flow_flops
    act = frames * (m.bytes_frame + m.bytes_px * px) + (frames - 1) * m.flow_bytes
    return {"flops_frame": m.flops_px * px + m.flow_flops,
            "train_flops": train_flops, "train_hours": train_flops / (gpu.gpus * gpu.sustained) / 3600,
            "flow_flops": flow_flops, "flow_hours": flow_flops / gpu.sustained / 3600,
            "activations_gb": act / 1e9, "states_gb": 4 * 4 * m.params / 1e9}


def eval_hours(m: Measured, frames: int, height: int, width: int, gpu: GpuAssumption = GpuAssumption()) -> float:
    """Hours of one GPU to restore `frames` LQ frames of `height x width` (forward only, one flow pair a frame)."""
    return frames * (m.flops_px * height * width + m.flow_flops) / gpu.sustained / 3600
