"""`s2svr flow-train` and `s2svr flow-eval`: Algorithm 1's stages and the flow measurements from the shell.

Thin argparse layers over `s2svr.train.flow` and `s2svr.train.flow_evaluate` (chapter `notebooks/distillation.py`).
"""
from __future__ import annotations

from ..configs.schema import FLOW_STAGES as STAGES


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
    print(f"flow {res.stage}: step {res.step}/{cfg.flow.budget.iters}, checkpoint {res.checkpoint}")
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
    p.add_argument("--no-classical", action="store_true", help="skip the DIS and Farneback rows")
    p.add_argument("--teacher-zoom", type=float, default=None,
                   help="run the teacher checkpoints (their rows and the epe_ref reference) at this zoom in use "
                        "(default: the zoom they trained at; the shipped teacher's zoom in use is in "
                        "weights/manifest.json, 'use')")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=flow_eval_main)
    return p


def flow_eval_main(args) -> int:
    """Entry point of `s2svr flow-eval`: one row per checkpoint, plus zero flow and the classical flows (and
    `epe_ref`, the EPE to the first teacher checkpoint's HQ flow, when a teacher is among the checkpoints).

    On the embedded data the held-out motion types (split 'heldout') follow as one table per type.
    """
    import json
    import sys

    from ..configs import ConfigError, load_config
    from ..data.flow_pairs import load_flow_pairs
    from ..train.checkpoint import CheckpointError, load_checkpoint
    from ..train.loading import load_flow_net
    from ..train.flow_evaluate import evaluate_flow_rows, format_table
    from ..utils import resolve_device
    try:
        cfg = load_config(args.config, profile=args.profile)
        device = resolve_device(args.device)
        if args.teacher_zoom is not None and not args.teacher_zoom > 0:
            raise ValueError(f"--teacher-zoom must be > 0, got {args.teacher_zoom}")
        states = [load_checkpoint(path, kind="flow") for path in args.checkpoints]
        models = {path: (state, load_flow_net(path, device, zoom=args.teacher_zoom if state.get("stage") == "teacher"
                                              else None)) for path, state in zip(args.checkpoints, states)}
        groups = {args.split: load_flow_pairs(cfg, args.split, video=False)}
        if cfg.data.dataset == "embedded" and args.split == "test":
            for p in load_flow_pairs(cfg, "heldout", video=False):
                groups.setdefault(f"heldout: {p['motion']}", []).append(p)
        tables = {name: evaluate_flow_rows(models, pairs, args.frames, device, args.max_pairs,
                                           classical=not args.no_classical)
                  for name, pairs in groups.items()}
    except (ConfigError, CheckpointError, FileNotFoundError, KeyError, ValueError) as e:
        print(f"s2svr: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(tables, indent=2))
    else:
        for name, rows in tables.items():
            n = len(groups[name]) if args.max_pairs is None else min(args.max_pairs, len(groups[name]))
            print(f"\n{name} ({n} pairs)\n" + format_table(rows))
    return 0


def add_flow_parser(subparsers):
    """Register `s2svr flow IMG1 IMG2 OUT.flo [--checkpoint C | --method dis|farneback] [--png VIS.png]`."""
    p = subparsers.add_parser("flow", help="optical flow from IMG1 to IMG2 as a Middlebury .flo (and a colour picture)")
    p.add_argument("image1")
    p.add_argument("image2")
    p.add_argument("output", help="OUT.flo: the flow IMG1 -> IMG2 (warping IMG2 by it gives IMG1), pixels, channel 0 = x")
    p.add_argument("--checkpoint", help="flow checkpoint (flow_teacher.pt, ...); default: the shipped reference teacher")
    p.add_argument("--method", default="pwclite", choices=("pwclite", "dis", "farneback"),
                   help="pwclite (a checkpoint) or a classical OpenCV flow that needs none")
    p.add_argument("--png", help="also write the flow colour-coded (Middlebury wheel) to this PNG")
    p.add_argument("--zoom", type=float, default=None,
                   help="run the network on the frames enlarged by this factor (default: the zoom the checkpoint trained "
                        "at; the shipped teacher's zoom in use, 4 (weights/manifest.json, 'use'), made for small "
                        "frames: lower it for large ones)")
    p.add_argument("--device", default="auto")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(func=flow_main)
    return p


def _flow_net(args):
    """(net, its name): a classical flow, the checkpoint at `--zoom` (default: its training zoom), or the shipped
    teacher at `--zoom` (default: its zoom in use, recorded beside it in the manifest)."""
    from ..flow.classical import DISFlow, FarnebackFlow
    from ..reference import reference_checkpoint, reference_use
    from ..train.flow import FlowTrainError
    from ..train.loading import load_flow_net
    if args.method in ("dis", "farneback"):
        if args.zoom is not None:
            raise FlowTrainError(f"--zoom applies to a PWC-Lite checkpoint, not --method {args.method}")
        return (DISFlow(), "DIS (OpenCV)") if args.method == "dis" else (FarnebackFlow(), "Farneback (OpenCV)")
    if args.checkpoint:
        return load_flow_net(args.checkpoint, args.device, zoom=args.zoom), str(args.checkpoint)
    ckpt = reference_checkpoint("flow/teacher")  # the shipped reference HQ teacher
    zoom = args.zoom if args.zoom is not None else reference_use("flow/teacher").get("zoom")
    return load_flow_net(ckpt, args.device, zoom=zoom), f"the shipped reference teacher ({ckpt})"


def flow_main(args) -> int:
    """Entry point of `s2svr flow`: one flow, written as `.flo` (+ `--png`); bad input is one line, exit 2."""
    import sys
    from pathlib import Path

    import numpy as np
    import torch

    from ..data.flo import FloError, write_flo
    from ..data.video_io import VideoIOError, read_image, write_image
    from ..flow.visualize import flow_to_color
    from ..train.checkpoint import CheckpointError
    from ..train.flow import FlowTrainError
    from ..utils import resolve_device
    try:
        out = Path(args.output)
        outputs = [out] + ([Path(args.png)] if args.png else [])
        if out.suffix.lower() != ".flo":  # checked first: a typo must not overwrite an image
            raise FlowTrainError(f"{out}: the output must end in .flo")
        if args.png and Path(args.png).suffix.lower() != ".png":
            raise FlowTrainError(f"{args.png}: --png must end in .png")
        inputs = {Path(args.image1).resolve(), Path(args.image2).resolve()}
        if args.checkpoint:
            inputs.add(Path(args.checkpoint).resolve())
        for o in outputs:
            if o.resolve() in inputs:
                raise FlowTrainError(f"{o}: is one of the inputs; choose another output")
            if o.exists() and not args.overwrite:
                raise FlowTrainError(f"{o}: exists; pass --overwrite to replace it")
            if not o.parent.resolve().is_dir():
                raise FlowTrainError(f"{o}: folder {o.parent} does not exist")
        img1, img2 = read_image(args.image1), read_image(args.image2)
        if img1.shape != img2.shape:
            raise FlowTrainError(f"{args.image2}: is {img2.shape[1]}x{img2.shape[0]}, {args.image1} is "
                                 f"{img1.shape[1]}x{img1.shape[0]}; the two images must have the same size")
        if args.zoom is not None and not args.zoom > 0:
            raise FlowTrainError(f"--zoom must be > 0, got {args.zoom}")
        device = resolve_device(args.device)
        net, name = _flow_net(args)
        to_t = lambda a: torch.tensor(a).permute(2, 0, 1)[None].float().div(255).to(device)  # noqa: E731
        with torch.no_grad():
            flow = net(to_t(img1), to_t(img2))[0].cpu().numpy()  # (2, H, W)
        write_flo(out, flow)
        if args.png:
            write_image(args.png, flow_to_color(flow))
    except (FlowTrainError, CheckpointError, VideoIOError, FloError, FileNotFoundError, ValueError) as e:
        print(f"s2svr: error: {e}", file=sys.stderr)
        return 2
    mag = np.sqrt((flow ** 2).sum(0))
    print(f"{out}: flow {args.image1} -> {args.image2} by {name}, {flow.shape[2]}x{flow.shape[1]}, "
          f"mean {mag.mean():.2f} px, max {mag.max():.2f} px")
    return 0
