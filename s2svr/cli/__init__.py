"""Command line: `s2svr params | train | eval | restore | convert-checkpoint | flow-train | flow-eval | flow`.

One error boundary (:func:`main`): every mistake in the input (arguments, configs, data, checkpoints, devices,
output paths, memory) is printed as one line `s2svr: error: <file or option>: <problem>` with exit code 2,
never a traceback; only a genuine bug shows one. Arguments are checked before any work starts (sizes, tiles,
counts, devices, output paths). Outputs never destroy data: an existing output needs `--overwrite`, an output
that is also read by the command is always refused (`s2svr.outputs`). SIGTERM stops like Ctrl-C (exit 143),
removing temporary files.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..configs import ConfigError, load_config


class UserError(Exception):
    """An error caused by the user's input: reported as one line, no traceback."""


# ------------------------------------------------------------------------------ argument checks


def _int_at_least(minimum: int, expected: str, too_small: str):
    """An argparse type: an integer >= `minimum`, with the two messages of a wrong value."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"{too_small}, got {v}")
        return v
    return parse


positive_int = _int_at_least(1, "a positive integer", "must be at least 1")
nonnegative_int = _int_at_least(0, "an integer >= 0", "must be >= 0")


def frame_size(text: str) -> tuple:
    """argparse type: `WIDTHxHEIGHT`, two positive integers."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 416x240, got {text!r}")
    return int(parts[0]), int(parts[1])


def check_device(text: str | None, option: str = "--device") -> None:
    """Refuse a device that does not exist here (before any model is built)."""
    if text in (None, "auto"):
        return
    import torch
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise UserError(f"{option} {text}: not a device (expected cpu, cuda, cuda:N or auto)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"{option} {text}: CUDA is not available on this machine (use --device cpu)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(f"{option} {text}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UserError(f"{option} {text}: MPS is not available on this machine (use --device cpu)")
    elif dev.type != "cpu":
        raise UserError(f"{option} {text}: unsupported device type {dev.type!r} (expected cpu, cuda or mps)")


def check_folder(path, option: str) -> None:
    """Refuse an output folder that is a file, sits under a file, or cannot be created or written."""
    from ..outputs import OutputError, check_writable_ancestor
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(path, f"{option} must be a folder; this is a file")
    check_writable_ancestor(path, path, f"create {option}", f"write {option}")


def _config(name, profile, overrides=None):
    """`load_config`, plus the checks that need the data layer (the dataset's name and task)."""
    from ..data.registry import DATASET_TASKS
    cfg = load_config(name, profile=profile, overrides=overrides)
    d = cfg.data.dataset
    if d not in DATASET_TASKS:
        raise ConfigError(f"{name}: data.dataset {d!r} is not a dataset (known: {', '.join(sorted(DATASET_TASKS))})")
    if cfg.model.task not in DATASET_TASKS[d]:
        raise ConfigError(f"{name}: data.dataset {d!r} serves task(s) {', '.join(DATASET_TASKS[d])}, "
                          f"not model.task {cfg.model.task!r}")
    return cfg


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
    if args.init:
        if not Path(args.init).is_file():
            raise UserError(f"--init {args.init}: no such checkpoint")
        overrides = {"train": {**(overrides or {}).get("train", {}), "init": str(args.init)}}
    if args.out:
        check_folder(args.out, "--out")
    cfg = _config(args.config, args.profile, overrides)
    if args.flow_checkpoint:
        cfg = load_config(args.config, profile=args.profile,
                          overrides={**(overrides or {}), "flow": {"checkpoint": args.flow_checkpoint}})
    out = args.out or f"runs/{cfg.name}-{cfg.profile}"
    check_folder(out, "--out")
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
    from ..outputs import check_output
    from ..train.loading import load_restorer
    out = Path(args.out or f"{args.checkpoint}.eval.json")
    reads = [args.checkpoint] + ([args.config] if args.config and Path(args.config).exists() else [])
    for o in (out, out.with_suffix(".md")):
        check_output(o, reads=reads, overwrite=args.overwrite, option="--out")
    model, cfg = load_restorer(args.checkpoint, device=args.device or "cpu")
    if args.config:
        data_cfg = _config(args.config, args.profile)
        if data_cfg.model != cfg.model:
            raise UserError(f"{args.checkpoint}: its model differs from {args.config} ({args.profile}); "
                            "omit CONFIG to evaluate on the checkpoint's own test set")
        cfg = data_cfg
    if args.frames:
        import dataclasses
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, test_frames=args.frames))
    res = evaluate_sequences(model, build_test_sequences(cfg), cfg, device=args.device or "cpu")
    res.update({"config": cfg.name, "profile": cfg.profile, "checkpoint": str(args.checkpoint)})
    js, md = write_results(res, out)
    print(md.read_text(), end="")
    print(f"written {js} and {md}")
    return 0


def _restore(args) -> int:
    from ..outputs import check_output
    from ..restore import restore_video
    from ..train.loading import load_restorer
    if args.tile is not None and args.tile_overlap >= args.tile:
        raise UserError(f"--tile-overlap {args.tile_overlap}: must be smaller than --tile {args.tile}")
    if args.chunk_overlap >= args.chunk:
        raise UserError(f"--chunk-overlap {args.chunk_overlap}: must be smaller than --chunk {args.chunk}")
    if not Path(args.input).exists():
        raise UserError(f"{args.input}: input not found")
    checkpoint = args.checkpoint
    if checkpoint is None:
        if args.task is None:
            raise UserError("--checkpoint: give a checkpoint, or --task sr|deblur|vqe for the shipped reference model")
        from ..reference import ReferenceError, reference_checkpoint
        try:
            checkpoint = reference_checkpoint(f"{args.task}/s2svr")
        except ReferenceError as e:
            raise UserError(str(e)) from None
        print(f"using the shipped reference model {args.task}/s2svr ({checkpoint}; small cpu-profile model, "
              f"see weights/manifest.json)", file=sys.stderr)
    check_output(args.output, reads=[args.input, checkpoint], overwrite=args.overwrite)
    model, _ = load_restorer(checkpoint, device=args.device or "cpu", task=args.task)
    from ..models.motion import set_flow_use
    try:
        set_flow_use(model, zoom=args.flow_zoom, max_side=args.flow_max_side)
    except ValueError as e:
        raise UserError(f"{checkpoint}: {e}") from None
    out = restore_video(model, args.input, args.output, device=args.device or "cpu", tile=args.tile,
                        tile_overlap=args.tile_overlap, size=args.size, max_frames=args.max_frames,
                        chunk=args.chunk, chunk_overlap=args.chunk_overlap, overwrite=args.overwrite)
    print(f"written {out}")
    return 0


def _convert(args) -> int:
    import torch

    from ..outputs import check_output
    from ..train.checkpoint import convert_checkpoint, load_checkpoint
    check_output(args.new, reads=[args.old], overwrite=args.overwrite, option="NEW")
    new = convert_checkpoint(args.old, args.new, dtype=torch.float16 if args.fp16 else None,
                             weights_only=args.weights_only)
    state = load_checkpoint(new)
    print(f"written {new} ({state.get('kind')} checkpoint, step {state.get('step')}"
          f"{', fp16 weights only' if args.fp16 else ', weights only' if args.weights_only else ''})")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (`s2svr train: error: argument --iters: ...`), no usage block."""

    def error(self, message):
        print(f"{self.prog}: error: {' '.join(message.split())}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="s2svr", description="S2SVR video restoration (ICML 2022), reproduced.")
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
    p.add_argument("--iters", type=positive_int, help="override train.iters")
    p.add_argument("--max-steps", type=positive_int, help="stop after this many steps in this call")
    p.add_argument("--flow-checkpoint", help="initialise the flow net from an Algorithm 1 student checkpoint")
    p.add_argument("--init", help="fine-tune: start from another run's weights (e.g. Vimeo from the REDS model)")
    p.add_argument("--no-resume", action="store_true", help="start from scratch even if the run folder has a checkpoint")
    p.set_defaults(func=_train)

    p = sub.add_parser("eval", help="restore every test sequence and write PSNR/SSIM (or delta) as JSON and a table")
    p.add_argument("config", nargs="?", help="config whose test set to use (default: the checkpoint's own)")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--profile", default="cpu")
    p.add_argument("--device", default=None)
    p.add_argument("--frames", type=positive_int, help="restore only the first N frames of each sequence")
    p.add_argument("--out", help="JSON path (a .md table is written beside it; default CHECKPOINT.eval.json)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.set_defaults(func=_eval)

    p = sub.add_parser("restore", help="restore a video file, image folder or YUV file (streams with the paper layout)")
    p.add_argument("input")
    p.add_argument("output", help=".mp4/.mkv/.avi, .yuv, or a folder for PNGs")
    p.add_argument("--checkpoint", help="restoration checkpoint (default: the shipped reference model of --task)")
    p.add_argument("--task", choices=("sr", "deblur", "vqe"), help="the task (checked against --checkpoint)")
    p.add_argument("--device", default=None)
    p.add_argument("--size", type=frame_size, help="WIDTHxHEIGHT of a raw .yuv input")
    p.add_argument("--tile", type=positive_int, help="process frames in tiles of this many LQ pixels")
    p.add_argument("--tile-overlap", type=nonnegative_int, default=16, help="LQ pixels, smaller than --tile")
    p.add_argument("--flow-zoom", type=float, help="run the model's PWC-Lite at this zoom instead of its training "
                   "zoom (flow.lq_zoom; a lower zoom is faster and needs less memory)")
    p.add_argument("--flow-max-side", type=positive_int, help="cap the zoomed frame's longer side at this many "
                   "pixels (the zoom is lowered for large frames, never below 1)")
    p.add_argument("--chunk", type=positive_int, default=30, help="official layout: frames per window")
    p.add_argument("--chunk-overlap", type=nonnegative_int, default=6)
    p.add_argument("--max-frames", type=positive_int)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=_restore)

    p = sub.add_parser("convert-checkpoint", help="convert an old torch.save checkpoint (format v1) to safetensors "
                                                  "(v2), or make an fp16 weights-only release file")
    p.add_argument("old", help="checkpoint to read (v1 is read with torch.load(weights_only=True): no code runs)")
    p.add_argument("new", help="checkpoint to write")
    p.add_argument("--fp16", action="store_true", help="store the weights in fp16 and drop the training state")
    p.add_argument("--weights-only", action="store_true", help="drop optimiser, scheduler and RNG state")
    p.add_argument("--overwrite", action="store_true", help="replace an existing NEW")
    p.set_defaults(func=_convert)

    from .flow import add_flow_eval_parser, add_flow_parser, add_flow_train_parser
    add_flow_train_parser(sub)
    add_flow_eval_parser(sub)
    add_flow_parser(sub)
    return ap


def _user_errors() -> tuple:
    """Exceptions that describe bad input (their message names the file and the problem)."""
    from ..data.download import DownloadError
    from ..data.registry import DatasetError
    from ..data.video_io import VideoIOError
    from ..outputs import OutputError
    from ..train.checkpoint import CheckpointError
    from ..train.flow import FlowTrainError
    from ..train.trainer import TrainingError
    return (ConfigError, UserError, FileNotFoundError, DatasetError, VideoIOError, CheckpointError, TrainingError,
            OutputError, FlowTrainError, DownloadError)


def _one_line(text) -> str:
    return " ".join(str(text).split())


def main(argv=None) -> int:
    from ..outputs import sigterm_as_interrupt
    ap = build_parser()
    args, extra = ap.parse_known_args(argv)
    if extra and getattr(args, "command", None) == "flow-eval" and not any(a.startswith("-") for a in extra):
        args.checkpoints = list(args.checkpoints) + extra  # `flow-eval CONFIG --profile cpu CKPT...`: positionals after an option
    elif extra:
        ap.parse_args(argv)  # argparse's own one-line error for what it does not know
    sigterm_as_interrupt()
    try:
        check_device(getattr(args, "device", None))
        return args.func(args)
    except KeyboardInterrupt as e:
        term = "SIGTERM" in str(e)
        print(f"s2svr: {'terminated (SIGTERM)' if term else 'interrupted'}; temporary files removed", file=sys.stderr)
        return 143 if term else 130
    except _user_errors() as e:
        print(f"s2svr: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"s2svr: error: out of memory in `{args.command}` (CPU); try a smaller --tile, fewer --frames or a "
              "smaller batch", file=sys.stderr)
        return 2
    except OSError as e:  # the file system refused (permissions, full disk, a file where a folder should be)
        if e.filename is None:
            raise
        print(f"s2svr: error: {e.filename}: {e.strerror or e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        import torch
        if isinstance(e, torch.cuda.OutOfMemoryError) or "out of memory" in str(e).lower():
            print(f"s2svr: error: out of memory in `{args.command}` on {getattr(args, 'device', None) or 'the device'}"
                  "; try a smaller --tile (restore), fewer --frames (eval) or a smaller data.batch_size (train)",
                  file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
