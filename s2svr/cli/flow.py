"""`s2svr flow-train` and `s2svr flow-eval`: Algorithm 1's stages and the flow measurements from the shell.

Thin argparse layers over `s2svr.train.flow` and `s2svr.train.flow_evaluate` (chapter `notebooks/distillation.py`).
"""
from __future__ import annotations

from ..train.flow import STAGES


def add_flow_train_parser(subparsers):
    """Register `s2svr flow-train --stage STAGE CONFIG --profile P --out DIR [--teacher CKPT] [--resume]`."""
    p = subparsers.add_parser("flow-train", help="Algorithm 1: train the flow teacher / student (or a control)")
    p.add_argument("config", help="packaged config name (sr_reds4, ...) or a YAML path")
    p.add_argument("--stage", required=True, choices=STAGES)
    p.add_argument("--profile", default="paper", help="paper | cpu | ci (default: paper)")
    p.add_argument("--out", required=True, help="output folder: flow_<stage>.pt and flow_<stage>_log.csv")
    p.add_argument("--teacher", help="teacher checkpoint (flow_teacher.pt), required by --stage student")
    p.add_argument("--resume", action="store_true", help="continue from OUT/flow_<stage>.pt")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (resume later)")
    p.add_argument("--frames", default="hq", choices=("hq", "lq"), help="frames of --stage supervised")
    p.add_argument("--no-flip", action="store_true", help="no horizontal-flip augmentation")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=flow_train_main)
    return p


def flow_train_main(args) -> int:
    """Entry point of `s2svr flow-train`; errors are one line on stderr and exit code 2."""
    import sys

    from ..configs import ConfigError, load_config
    from ..train.checkpoint import CheckpointError
    from ..train.flow import FlowTrainError, run_stage
    try:
        cfg = load_config(args.config, profile=args.profile)
        res = run_stage(cfg, args.stage, args.out, teacher=args.teacher, device=args.device, frames=args.frames,
                        flip=not args.no_flip, resume=args.resume, progress=not args.no_progress,
                        max_steps=args.max_steps)
    except (ConfigError, CheckpointError, FlowTrainError, FileNotFoundError, KeyError) as e:
        print(f"s2svr: error: {e}", file=sys.stderr)
        return 2
    print(f"flow {res.stage}: step {res.step}/{cfg.flow.iters}, checkpoint {res.checkpoint}")
    return 0


def add_flow_eval_parser(subparsers):
    """Register `s2svr flow-eval CONFIG --profile P [CKPT ...] [--frames auto|lq|hq] [--split test] [--json]`.

    When one of the checkpoints is a teacher, every row also gets `epe_ref`: EPE to that teacher's HQ flow.
    """
    p = subparsers.add_parser("flow-eval", help="EPE and alignment PSNR of flow checkpoints vs zero flow")
    p.add_argument("config", help="packaged config name or a YAML path (its data section gives the pairs)")
    p.add_argument("checkpoints", nargs="*", help="flow_<stage>.pt files from flow-train")
    p.add_argument("--profile", default="paper")
    p.add_argument("--split", default="test")
    p.add_argument("--frames", default="auto", choices=("auto", "lq", "hq"),
                   help="auto: the frames the checkpoint was trained on (HQ teacher, LQ students, supervised --frames)")
    p.add_argument("--device", default="auto")
    p.add_argument("--max-pairs", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=flow_eval_main)
    return p


def flow_eval_main(args) -> int:
    """Entry point of `s2svr flow-eval`: one row per checkpoint, plus the zero-flow baseline (and `epe_ref`, the
    EPE to the first teacher checkpoint's HQ flow, when a teacher is among the checkpoints)."""
    import json
    import sys
    from pathlib import Path

    from ..configs import ConfigError, load_config
    from ..data.flow_pairs import load_flow_pairs
    from ..flow.standins import ZeroFlow
    from ..train.checkpoint import CheckpointError, load_checkpoint
    from ..train.flow import load_flow_model
    from ..train.flow_evaluate import evaluate_flow, format_table
    from ..utils import resolve_device
    try:
        cfg = load_config(args.config, profile=args.profile)
        device = resolve_device(args.device)
        pairs = load_flow_pairs(cfg, args.split)
        states = [load_checkpoint(path, kind="flow") for path in args.checkpoints]
        stages = [state.get("stage", "?") for state in states]
        reference = next((load_flow_model(path, device) for path, stage in zip(args.checkpoints, stages)
                          if stage == "teacher"), None)
        rows = {"zero flow": {"frames": "-", **evaluate_flow(ZeroFlow(), pairs, "lq", device, max_pairs=args.max_pairs,
                                                             reference=reference)}}
        for path, stage, state in zip(args.checkpoints, stages, states):
            # auto: the frames the checkpoint was trained on (older checkpoints: HQ for a teacher, else LQ)
            frames = args.frames if args.frames != "auto" else state.get(
                "frames", "hq" if stage == "teacher" else "lq")
            model = load_flow_model(path, device)
            rows[f"{stage} ({Path(path).name})"] = {"frames": frames, **evaluate_flow(
                model, pairs, frames, device, max_pairs=args.max_pairs, reference=reference)}
    except (ConfigError, CheckpointError, FileNotFoundError, KeyError, ValueError) as e:
        print(f"s2svr: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 0
