"""What one job runs, in its own subprocess: `python -m s2svr.experiments.worker JOB_DIR`.

`JOB_DIR/job.json` (written by `s2svr.experiments.runner`) holds the resolved config and the checkpoints the job
starts from. Under `torchrun` (the runner's `nproc > 1`) every rank trains (`s2svr.train.trainer.train` is
DDP-aware) and rank 0 alone evaluates. A flow stage calls `s2svr.train.flow.run_stage`; a restoration job calls `s2svr.train.trainer.train`
and `s2svr.train.evaluate.evaluate_sequences`. Success is `JOB_DIR/result.json`, written last and atomically.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

RESULT = "result.json"


def _atomic_json(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)


def run_flow(spec: dict, d: Path) -> dict:
    """Train one stage of Algorithm 1 into `d` (resuming from its checkpoint if one is there)."""
    from ..configs import config_from_dict
    from ..train.flow import run_stage
    cfg = config_from_dict(spec["resolved"]["config"])
    t0 = time.time()
    use = spec.get("use") or {}  # how its net runs in use: its evaluation curve, recorded beside its weights
    res = run_stage(cfg, spec["stage"], d, teacher=spec["teacher"] or None,
                    device=os.environ.get("S2SVR_DEVICE", "auto"), frames=spec["frames"],
                    resume=(d / f"flow_{spec['stage']}.pt").exists(), progress=False, use_zoom=use.get("zoom"))
    out = {"checkpoint": str(d / f"flow_{spec['stage']}.pt"), "seconds": time.time() - t0, "steps": res.step,
           "log": str(d / f"flow_{spec['stage']}_log.csv"), "use": use}
    if (d / f"flow_{spec['stage']}_eval.csv").is_file():
        out["eval_log"] = str(d / f"flow_{spec['stage']}_eval.csv")
    return out


def run_restore(spec: dict, d: Path) -> dict:
    """Train (unless `arch='identity'`) and evaluate one restoration network into `d`."""
    import numpy as np
    import torch

    from ..configs import config_from_dict
    from ..flow.nets import build_flow_net
    from ..models import build_model, parameter_breakdown
    from ..train.data import build_test_sequences
    from ..train.evaluate import evaluate_sequences
    from ..train.loading import load_restorer
    from ..train.trainer import train
    from ..utils import resolve_device
    over = dict(spec["resolved"]["config"])
    if spec["flow_checkpoint"]:
        over["flow"] = dict(over["flow"], checkpoint=spec["flow_checkpoint"])
    if spec.get("init_checkpoint"):  # fine-tuned from another job's weights (their flow net included)
        over["train"] = dict(over["train"], init=spec["init_checkpoint"])
    cfg = config_from_dict(over, str(d / "job.json"))
    device = resolve_device(os.environ.get("S2SVR_DEVICE", "auto"))
    # flows of a flow net, kept for every job of this plan that runs the same net on the same frames
    flow_cache = d.parent / "flow_cache"
    t0 = time.time()
    steps, res = 0, None
    if spec["arch"] == "identity":
        torch.manual_seed(cfg.seed)
        model = build_model(cfg.model, flow_net=build_flow_net(cfg.flow)).to(device).eval()
    elif spec.get("shipped_checkpoint"):  # the reference weights: evaluated afresh, not trained
        model, _ = load_restorer(spec["shipped_checkpoint"], device=device)
        steps = int(spec.get("shipped_steps") or 0)
    else:
        res = train(cfg, d / "train", device=str(device), progress=False, flow_cache=flow_cache)
        if _distributed_done():  # under torchrun: rank 0 evaluates and writes the result, the others stop here
            return None
        steps = res.step
        model, _ = load_restorer(res.checkpoint, device=device)
    # a resumed run's earlier calls count too (a checkpoint of before they kept their time: this call's alone)
    train_s = res.seconds if res is not None else time.time() - t0
    out_dir = d / "outputs"
    if spec["save_outputs"]:
        out_dir.mkdir(exist_ok=True)
    t1 = time.time()
    with torch.no_grad():
        ev = evaluate_sequences(model, build_test_sequences(cfg), cfg, device=device, progress=False,
                                save_dir=out_dir if spec["save_outputs"] else None, flow_cache=flow_cache)
    val = _validation(model, cfg, device, d) if cfg.data.val_clips and spec["arch"] != "identity" else None
    if spec.get("shipped_checkpoint"):
        train_s = spec.get("shipped_seconds") or 0.0  # where and how long it trained: the manifest
    return {**ev, "arch": spec["arch"], "steps": steps, "train_seconds": train_s,
            "eval_seconds": time.time() - t1, "parameters": parameter_breakdown(model),
            "checkpoint": spec.get("shipped_checkpoint") or (str(d / "train" / "last.pt") if steps else None),
            "log": spec.get("shipped_log") or (str(d / "train" / "log.csv") if (d / "train" / "log.csv").is_file() else None),
            "val_log": spec.get("shipped_val_log") or (str(d / "train" / "val.csv") if (d / "train" / "val.csv").is_file() else None),
            "shipped": spec.get("shipped"),
            "outputs": str(out_dir) if spec["save_outputs"] else None, "validation": val,
            "torch": torch.__version__, "threads": torch.get_num_threads(), "numpy": np.__version__}


def _distributed_done() -> bool:
    """After a training under torchrun: leave the process group; True on every rank but 0."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()  # every rank has left the training loop (rank 0 has saved the last checkpoint)
        dist.destroy_process_group()
    return int(os.environ.get("RANK", "0")) != 0


def _validation(model, cfg, device, d: Path) -> dict:
    """On the validation clips (`data.val_clips`, held out of training): the metrics of the whole clips, and the
    neighbour gain (`s2svr.train.neighbours`) of every frame that has a full window."""
    import torch

    from ..train.neighbours import neighbour_gain
    from ..train.data import build_val_sequences, data_mode
    from ..train.evaluate import evaluate_sequences, metric_convention
    seqs = build_val_sequences(cfg)
    t0 = time.time()
    cache = d.parent / "flow_cache"  # the validation clips' flows: computed once by the trainer's validations
    with torch.no_grad():
        ev = evaluate_sequences(model, seqs, cfg, device=device, progress=False, flow_cache=cache)
        ng = neighbour_gain(model, seqs, mode=data_mode(cfg), num_frames=None, stride=1,
                            convention=metric_convention(cfg), flow_cache=cache)
    h264 = None
    if cfg.model.task == "vqe":  # the other codec, never trained on (s2svr/data/codec_check.py)
        from ..data.codec_check import h264_sequences
        with torch.no_grad():
            h264 = evaluate_sequences(model, h264_sequences(seqs), cfg, device=device, progress=False)["mean"]
    return {"mean": ev["mean"], "per_sequence": ev["per_sequence"], "h264": h264, "neighbour_gain": ng["gain"],
            "neighbour_real": ng["real"], "neighbour_still": ng["still"], "neighbour_wins": ng["wins"],
            "neighbour_windows": ng["windows"], "seconds": time.time() - t0}


def main(d: str) -> int:
    import torch
    torch.set_num_threads(int(os.environ.get("S2SVR_THREADS", "1")))
    d = Path(d)
    spec = json.loads((d / "job.json").read_text())
    res = run_flow(spec, d) if spec["kind"] == "flow" else run_restore(spec, d)
    if res is None:  # a rank other than 0 of a distributed training
        return 0
    res["spec"] = spec
    _atomic_json(res, d / RESULT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
