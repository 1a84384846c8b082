"""Evaluation: restore each test sequence whole and score it with the paper's metric conventions.

Explained in `notebooks/exp_sr.py` (and `notebooks/metrics.py` for the metrics).
Conventions (`metric_convention`): REDS4 and GOPRO on RGB; Vimeo-90K-T on Y (BasicSR's convention);
compressed video as delta-PSNR/delta-SSIM on the Y plane, per frame, averaged per video, then over videos.
Outputs are rounded to uint8 before scoring, as saved images would be.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..data.clips import to_tensor

from ..configs import ExperimentConfig
from ..data import VideoSequence
from .. import metrics


def metric_convention(cfg: ExperimentConfig) -> dict:
    """Which metrics a config's test set is scored with: {'kind': 'psnr'|'delta', 'test_y': bool, 'crop_border': int}."""
    if cfg.model.task == "vqe":
        return {"kind": "delta", "test_y": True, "crop_border": 0}
    return {"kind": "psnr", "test_y": cfg.data.dataset == "vimeo", "crop_border": 0}


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """`(T, C, H, W)` float in [0, 1] -> `(T, H, W, C)` uint8, rounded as when saving PNGs."""
    return (frames.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


STREAMING_LAYOUTS = ("paper", "frame")  # S2SVR's causal layout; baselines that restore each frame alone


def can_stream(model) -> bool:
    """Whether `model.stream(frames)` restores a video frame by frame with bounded memory: the model has a
    `stream` method and a causal `layout` ('paper', 'frame'); 'official' and 'clip' models need whole clips."""
    return callable(getattr(model, "stream", None)) and getattr(model, "layout", None) in STREAMING_LAYOUTS


@torch.no_grad()
def restore_frames(model, frames_lq: torch.Tensor, device="cpu", flows=None) -> torch.Tensor:
    """Restore one whole clip `(T, C, H, W)` -> `(T, C, sH, sW)` on the CPU.

    A model that can stream (:func:`can_stream`: S2SVR's `paper` layout, the frame-wise baselines) is restored
    as a stream (memory bounded, outputs moved to the CPU as they are produced); the others (`official` layout,
    BasicVSR-style `clip` baseline) get the whole clip at once. `flows`: the clip's `(flow_fw, flow_bw)`, each
    `(T-1, 2, H, W)`, computed beforehand by the model's own flow net (`s2svr.train.flow_bank`); the clip is then
    restored whole with them, which gives what the stream gives.
    """
    model.eval()
    if flows is not None and len(frames_lq) > 1:
        fw, bw = (torch.as_tensor(f).unsqueeze(0).to(device) for f in flows)
        return model(frames_lq.unsqueeze(0).to(device), flows=(fw, bw))[0].cpu()
    if can_stream(model):
        outs = [y.cpu() for y in model.stream(f.unsqueeze(0).to(device) for f in frames_lq)]
        return torch.cat(outs, 0)
    return model(frames_lq.unsqueeze(0).to(device))[0].cpu()


def _frames(seq: VideoSequence, n: int, mode: str):
    idx = list(range(n))
    return seq.lq.read(idx, mode=mode), seq.gt.read(idx, mode=mode)


def evaluate_sequences(model, sequences: Sequence[VideoSequence], cfg: ExperimentConfig, device="cpu",
                       progress: bool = True, save_dir: str | Path | None = None,
                       flow_cache: str | Path | None = None, bank=None) -> dict:
    """Per-sequence and mean metrics: {'per_sequence': {name: {...}}, 'mean': {...}, 'convention': {...}}.

    `flow_cache`: a folder where the model's flows of these sequences are kept (`FlowBank.cached`), so that
    evaluating models that share a flow net, or one model again, runs the flow net once (default: not kept).
    `bank`: the sequences' flows given instead (a `FlowBank`; the alignment oracle's true motion).
    """
    conv = metric_convention(cfg)
    mode = "y" if cfg.model.in_channels == 1 else "rgb"
    if bank is None and flow_cache is not None and getattr(model, "flow", None) is not None:
        from .flow_bank import FlowBank
        bank = FlowBank.cached(model.flow, sequences, mode, getattr(model, "flow_size", None), device=device,
                               cache_dir=flow_cache, max_frames=cfg.data.test_frames)
    per = {}
    it = sequences
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(sequences, desc="evaluate", unit="seq")
    for k, seq in enumerate(it):
        n = len(seq) if cfg.data.test_frames is None else min(len(seq), cfg.data.test_frames)
        lq, gt = _frames(seq, n, mode)
        flows = None if bank is None else (bank.fw[k], bank.bw[k])
        out = to_uint8(restore_frames(model, to_tensor(lq), device=device, flows=flows))
        if save_dir is not None:
            np.save(Path(save_dir) / f"{seq.name.replace('/', '_')}.npy", out)
        if conv["kind"] == "delta":  # per frame on Y, then the mean over this video's frames
            d = metrics.delta_metrics(out[..., 0], lq[..., 0], gt[..., 0])
            per[seq.name] = {k: float(v) for k, v in d.items() if not k.endswith("_frames")} | {"frames": n}
        else:
            p = [metrics.psnr(o, g, crop_border=conv["crop_border"], test_y=conv["test_y"]) for o, g in zip(out, gt)]
            s = [metrics.ssim(o, g, crop_border=conv["crop_border"], test_y=conv["test_y"]) for o, g in zip(out, gt)]
            per[seq.name] = {"psnr": float(np.mean(p)), "ssim": float(np.mean(s)), "frames": n}
    keys = [k for k in next(iter(per.values()), {}) if k != "frames"]
    mean = {k: float(np.mean([v[k] for v in per.values()])) for k in keys}
    return {"per_sequence": per, "mean": mean, "convention": conv}


def write_results(results: dict, out: str | Path) -> tuple[Path, Path]:
    """Write `results` as JSON and as a Markdown table beside it; returns both paths."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    keys = list(results["mean"])
    lines = ["| sequence | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, v in results["per_sequence"].items():
        lines.append(f"| {name} | " + " | ".join(f"{v[k]:.4f}" for k in keys) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{results['mean'][k]:.4f}**" for k in keys) + " |")
    table = out.with_suffix(".md")
    table.write_text("\n".join(lines) + "\n")
    return out, table
