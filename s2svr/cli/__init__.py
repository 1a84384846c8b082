"""Command line: `s2svr params | ...` (more subcommands arrive with training, evaluation and restoration).

Errors on bad input are printed as one line `s2svr: error: ...` with exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from ..configs import ConfigError, load_config


def _params(args) -> int:
    from ..models import build_model, parameter_breakdown
    cfg = load_config(args.config, profile=args.profile,
                      overrides={"model": {"arch": args.arch}} if args.arch else None)
    rows = parameter_breakdown(build_model(cfg.model))
    if args.json:
        print(json.dumps({"config": cfg.name, "profile": cfg.profile, "arch": cfg.model.arch, "parameters": rows},
                         indent=2))
    else:
        print(f"{cfg.name} (profile {cfg.profile}, arch {cfg.model.arch})")
        width = max(len(k) for k in rows)
        for k, v in rows.items():
            print(f"  {k:<{width}}  {v:>12,d}  ({v / 1e6:.2f} M)")
    return 0


def _train(args) -> int:
    from ..train.trainer import train
    overrides = {"train": {"iters": args.iters}} if args.iters else None
    cfg = load_config(args.config, profile=args.profile, overrides=overrides)
    if args.flow_checkpoint:
        cfg = load_config(args.config, profile=args.profile,
                          overrides={**(overrides or {}), "flow": {"checkpoint": args.flow_checkpoint}})
    out = args.out or f"runs/{cfg.name}-{cfg.profile}"
    res = train(cfg, out, device=args.device, resume=not args.no_resume, max_steps=args.max_steps)
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 reports for all
        return 0
    print(f"trained {cfg.name} ({cfg.profile}) to step {res.step}: {res.checkpoint}")
    if res.last_val:
        print("validation: " + ", ".join(f"{k} {v:.4f}" for k, v in res.last_val["mean"].items()))
    return 0


def _eval(args) -> int:
    from ..train.data import build_test_sequences
    from ..train.evaluate import evaluate_sequences, write_results
    from ..train.trainer import model_from_checkpoint
    model, cfg = model_from_checkpoint(args.checkpoint, device=args.device or "cpu")
    if args.config:
        data_cfg = load_config(args.config, profile=args.profile)
        if data_cfg.model != cfg.model:
            raise UserError(f"{args.checkpoint}: its model differs from {args.config} ({args.profile}); "
                            "omit CONFIG to evaluate on the checkpoint's own test set")
        cfg = data_cfg
    if args.frames:
        import dataclasses
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, test_frames=args.frames))
    res = evaluate_sequences(model, build_test_sequences(cfg), cfg, device=args.device or "cpu")
    res.update({"config": cfg.name, "profile": cfg.profile, "checkpoint": str(args.checkpoint)})
    js, md = write_results(res, args.out or f"{args.checkpoint}.eval.json")
    print(md.read_text(), end="")
    print(f"written {js} and {md}")
    return 0


def _restore(args) -> int:
    from ..restore import restore_video
    from ..train.trainer import model_from_checkpoint
    model, _ = model_from_checkpoint(args.checkpoint, device=args.device or "cpu")
    size = tuple(int(v) for v in args.size.lower().split("x")) if args.size else None
    out = restore_video(model, args.input, args.output, device=args.device or "cpu", tile=args.tile,
                        tile_overlap=args.tile_overlap, size=size, max_frames=args.max_frames,
                        chunk=args.chunk, chunk_overlap=args.chunk_overlap)
    print(f"written {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="s2svr", description="S2SVR video restoration (ICML 2022), reproduced.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("params", help="parameters per component and in total")
    p.add_argument("config", help="packaged config name (sr_reds4, sr_vimeo, deblur_gopro, vqe_mfqe) or a YAML path")
    p.add_argument("--profile", default="paper", help="paper | cpu | ci (default: paper)")
    p.add_argument("--arch", help="count a baseline instead: identity | single_frame | basicvsr (default: the config's)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_params)

    p = sub.add_parser("train", help="train a restoration network (also under torchrun for DDP)")
    p.add_argument("config")
    p.add_argument("--profile", default="cpu", help="paper | cpu | ci (default: cpu)")
    p.add_argument("--out", help="run folder (default runs/NAME-PROFILE); resumed when it holds last.pt")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--iters", type=int, help="override train.iters")
    p.add_argument("--max-steps", type=int, help="stop after this many steps in this call")
    p.add_argument("--flow-checkpoint", help="initialise the flow net from an Algorithm 1 student checkpoint")
    p.add_argument("--no-resume", action="store_true", help="start from scratch even if the run folder has a checkpoint")
    p.set_defaults(func=_train)

    p = sub.add_parser("eval", help="restore every test sequence and write PSNR/SSIM (or delta) as JSON and a table")
    p.add_argument("config", nargs="?", help="config whose test set to use (default: the checkpoint's own)")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--profile", default="cpu")
    p.add_argument("--device", default=None)
    p.add_argument("--frames", type=int, help="restore only the first N frames of each sequence")
    p.add_argument("--out", help="JSON path (a .md table is written beside it)")
    p.set_defaults(func=_eval)

    p = sub.add_parser("restore", help="restore a video file, image folder or YUV file (streams with the paper layout)")
    p.add_argument("input")
    p.add_argument("output", help=".mp4/.mkv/.avi, .yuv, or a folder for PNGs")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--device", default=None)
    p.add_argument("--size", help="WIDTHxHEIGHT of a raw .yuv input")
    p.add_argument("--tile", type=int, help="process frames in tiles of this many LQ pixels")
    p.add_argument("--tile-overlap", type=int, default=16)
    p.add_argument("--chunk", type=int, default=30, help="official layout: frames per window")
    p.add_argument("--chunk-overlap", type=int, default=6)
    p.add_argument("--max-frames", type=int)
    p.set_defaults(func=_restore)

    from .flow import add_flow_eval_parser, add_flow_parser, add_flow_train_parser
    add_flow_train_parser(sub)
    add_flow_eval_parser(sub)
    add_flow_parser(sub)
    return ap


class UserError(Exception):
    """An error caused by the user's input: reported as one line, no traceback."""


def _user_errors() -> tuple:
    """Exceptions that describe bad input (their message names the file and the problem)."""
    from ..data.registry import DatasetError
    from ..data.video_io import VideoIOError
    from ..train.checkpoint import CheckpointError
    from ..train.trainer import TrainingError
    return (ConfigError, UserError, FileNotFoundError, DatasetError, VideoIOError, CheckpointError, TrainingError)


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("s2svr: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as e:
        print(f"s2svr: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
