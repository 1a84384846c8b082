"""Algorithm 1: train the HQ teacher (step 1, Eq. 14), then the LQ student with distillation (step 2, Eq. 17).

Explained in the book's chapter "Distillation and Algorithm 1" (part "Unsupervised flow"). Four stages::

    | stage               | frames | loss                                       | role                           |
    |---------------------|--------|--------------------------------------------|--------------------------------|
    | `teacher`           | HQ     | Eq. (14): w_ph L_ph + w_sm L_sm            | Algorithm 1, step 1            |
    | `student`           | LQ     | Eq. (17): Eq. (14) + w_dis L_dis(teacher)  | Algorithm 1, step 2 (the paper) |
    | `student-nodistill` | LQ     | Eq. (14)                                   | control: no teacher            |
    | `supervised`        | HQ/LQ  | multi-scale EPE to ground-truth flow       | Table 4, "PWC-Lite Sup."       |

Adam, lr 1e-4 (Sec. 4.1). A stage writes `OUT/flow_<stage>.pt` atomically every `save_every` steps and at
the end (model, optimiser, step, RNG states, stage, config) and `OUT/flow_<stage>_log.csv`; `resume=True`
continues from the saved step with the same batches an uninterrupted run would have drawn.
The restoration trainer reads the student checkpoint's `model` (`flow.checkpoint` in the config).
"""
from __future__ import annotations

import csv
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..losses import FlowLoss, multiscale_epe_loss
from ..train.checkpoint import CheckpointError, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from ..utils import resolve_device, seed_everything
from .pwclite import PWCLite

STAGES = ("teacher", "student", "student-nodistill", "supervised")


class FlowTrainError(ValueError):
    """A flow-training run that cannot start (wrong stage, missing teacher, existing output...)."""


@dataclass
class FlowTrainResult:
    stage: str
    step: int
    checkpoint: Path | None
    history: list = field(default_factory=list)  # [(step, {'total', 'ph', 'sm', ...})] of this call


def checkpoint_path(out_dir, stage: str) -> Path:
    return Path(out_dir) / f"flow_{stage}.pt"


def _plain(x):
    """Tuples to lists, recursively (checkpoints hold plain containers, as `config_to_dict`)."""
    if isinstance(x, (tuple, list)):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def load_flow_model(path, device="cpu", frozen: bool = True) -> PWCLite:
    """A PWC-Lite from an Algorithm 1 checkpoint (any stage); frozen and in eval mode for use as a teacher."""
    state = load_checkpoint(path, kind="flow")
    model = PWCLite()
    model.load_state_dict(state["model"])
    model.to(resolve_device(device))
    if frozen:
        model.eval().requires_grad_(False)
    return model


def stage_frames(stage: str, frames: str = "hq") -> str:
    """The frames a stage trains on: 'hq' (teacher), 'lq' (students) or `frames` (supervised); flow-eval's default."""
    return {"teacher": "hq", "student": "lq", "student-nodistill": "lq"}.get(stage, frames)


def stage_loss(stage: str, model, batch: dict, loss_fn: FlowLoss, teacher=None, frames: str = "hq"):
    """The loss of one stage on one batch: `(total, terms)`, terms detached for logging."""
    if stage in ("teacher", "student-nodistill"):
        a, b = (batch["hq1"], batch["hq2"]) if stage == "teacher" else (batch["lq1"], batch["lq2"])
        return loss_fn(model.forward_pyramid(a, b, with_bw=True), a, b)
    if stage == "student":
        with torch.no_grad():  # the teacher's HQ flow is a fixed pseudo-label (Eq. 15)
            flow_t = teacher(batch["hq1"], batch["hq2"], with_bw=loss_fn.bidirectional)
        pyr = model.forward_pyramid(batch["lq1"], batch["lq2"], with_bw=True)  # bw for the occlusion check
        return loss_fn(pyr, batch["lq1"], batch["lq2"], flow_teacher=flow_t)
    if stage == "supervised":
        if "flow_gt" not in batch:
            raise FlowTrainError("the supervised stage needs ground-truth flow ('flow_gt') in every batch")
        a, b = (batch["hq1"], batch["hq2"]) if frames == "hq" else (batch["lq1"], batch["lq2"])
        epe = multiscale_epe_loss(model.forward_pyramid(a, b)["flows_fw"], batch["flow_gt"], loss_fn.w_scales)
        return epe, {"epe": epe.detach()}
    raise FlowTrainError(f"unknown stage {stage!r}; expected one of {STAGES}")


def train_flow(stage: str, model, batches, cfg, *, teacher=None, out_dir=None, iters: int | None = None,
               device=None, seed: int = 0, resume: bool = False, progress: bool = True, config: dict | None = None,
               max_steps: int | None = None, frames: str = "hq") -> FlowTrainResult:
    """Run one stage of Algorithm 1 (or a control) for `iters` steps (default `cfg.iters`).

    Args:
        stage: one of STAGES.
        model: the flow network being trained (`forward_pyramid` as PWCLite).
        batches: an iterable of batches (see `s2svr.flow.pairs`); a :class:`PairBatches` is resumed at the
            saved step, any other iterable is restarted from its beginning (and cycled when exhausted).
        cfg: a FlowConfig (loss weights, lr, save_every, log_every).
        teacher: frozen HQ flow network, required by stage 'student'.
        out_dir: where `flow_<stage>.pt` and the log go; None = no files.
        resume: continue from `flow_<stage>.pt` if it exists (else an existing file is an error).
        config: plain dict stored in the checkpoint (e.g. `config_to_dict(experiment)`); a resumed run
            must have been written by the same one.
        max_steps: stop after this many steps of this call (the checkpoint still says where to go on).
        frames: 'hq' or 'lq', the frames of stage 'supervised'.
    """
    if stage not in STAGES:
        raise FlowTrainError(f"unknown stage {stage!r}; expected one of {STAGES}")
    if stage == "student" and teacher is None:
        raise FlowTrainError("stage 'student' needs a teacher (train stage 'teacher' first, pass --teacher)")
    device = resolve_device(device)
    iters = cfg.iters if iters is None else int(iters)
    config = _plain(config if config is not None else {"flow": asdict(cfg)})
    seed_everything(seed)
    model.to(device).train()
    if teacher is not None:
        teacher.to(device).eval().requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = FlowLoss.from_config(cfg)

    step, ckpt = 0, None
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        ckpt = checkpoint_path(out_dir, stage)
        if ckpt.exists():
            if not resume:
                raise FlowTrainError(f"{ckpt} exists; pass --resume to continue it or choose another --out")
            state = load_checkpoint(ckpt, map_location=device, kind="flow")
            if state.get("stage") != stage:
                raise FlowTrainError(f"{ckpt}: a '{state.get('stage')}' checkpoint, this run is stage '{stage}'")
            if state.get("config") != config:
                raise FlowTrainError(f"{ckpt}: written by a different config; use another --out")
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            step = int(state["step"])
            set_rng_state(state["rng"])

    def save():
        if ckpt is not None:
            save_checkpoint(ckpt, {"kind": "flow", "stage": stage, "step": step, "iters": iters, "seed": seed,
                                   "frames": stage_frames(stage, frames),
                                   "model": model.state_dict(), "optimizer": opt.state_dict(),
                                   "rng": rng_state(), "config": config})

    end = iters if max_steps is None else min(iters, step + int(max_steps))
    source = batches.iterate(step) if hasattr(batches, "iterate") else iter(batches)
    log_f = writer = None
    if ckpt is not None:
        log_path = out_dir / f"flow_{stage}_log.csv"
        new = step == 0 or not log_path.exists()
        log_f = open(log_path, "w" if new else "a", newline="")
        writer = csv.writer(log_f)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=end, initial=step, desc=f"flow {stage}", unit="it")
    history, header, t0 = [], None, time.time()
    try:
        while step < end:
            try:
                batch = next(source)
            except StopIteration:  # a finite loader: start another epoch
                source = iter(batches)
                batch = next(source)
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            total, terms = stage_loss(stage, model, batch, loss_fn, teacher, frames)
            if not torch.isfinite(total):
                raise FlowTrainError(f"stage {stage}: loss is {total.item()} at step {step}")
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            step += 1
            row = {"total": total.item(), **{k: v.item() for k, v in terms.items()}}
            history.append((step, row))
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in row.items()})
            if writer is not None and (step % cfg.log_every == 0 or step == end):
                if header is None:
                    header = ["step", *row, "seconds"]
                    if new:
                        writer.writerow(header)
                writer.writerow([step, *[f"{v:.6g}" for v in row.values()], f"{time.time() - t0:.1f}"])
                log_f.flush()
            if step % cfg.save_every == 0 and step != end:
                save()
        save()
    finally:
        if bar is not None:
            bar.close()
        if log_f is not None:
            log_f.close()
    return FlowTrainResult(stage=stage, step=step, checkpoint=ckpt, history=history)


def train_teacher(model, batches, cfg, **kwargs) -> FlowTrainResult:
    """Algorithm 1, step 1: Eq. (14) on the HQ frames."""
    return train_flow("teacher", model, batches, cfg, **kwargs)


def train_student(model, batches, cfg, teacher, **kwargs) -> FlowTrainResult:
    """Algorithm 1, step 2: Eq. (17) on the LQ frames, the frozen `teacher`'s HQ flow as pseudo-label."""
    return train_flow("student", model, batches, cfg, teacher=teacher, **kwargs)


def train_student_nodistill(model, batches, cfg, **kwargs) -> FlowTrainResult:
    """Control: Eq. (14) on the LQ frames, no teacher."""
    return train_flow("student-nodistill", model, batches, cfg, **kwargs)


def train_supervised(model, batches, cfg, frames: str = "hq", **kwargs) -> FlowTrainResult:
    """Table 4 ablation: multi-scale EPE to the ground-truth flow, on the HQ (FlyingChairs-like) or LQ frames."""
    return train_flow("supervised", model, batches, cfg, frames=frames, **kwargs)


# ---------------------------------------------------------------------- command line
def load_flow_pairs(cfg, split: str = "train"):
    """The pairs of `cfg.data`: the embedded flow set (with ground truth) or a dataset's consecutive frames."""
    from .pairs import SequencePairs
    if cfg.data.dataset == "embedded":
        from ..data.embedded import embedded_flow_pairs
        degradation = {"sr": "sr", "deblur": "blur", "vqe": "vqe"}[cfg.model.task]
        return embedded_flow_pairs(cfg.data.root, split, degradation)
    from ..data.registry import get_sequences
    seqs = get_sequences(cfg.data.dataset, cfg.data.root, cfg.model.task, split)
    return SequencePairs(seqs, mode="y" if cfg.model.task == "vqe" else "rgb")


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

    from ..configs import ConfigError, config_to_dict, load_config
    from .pairs import PairBatches
    try:
        cfg = load_config(args.config, profile=args.profile)
        if args.stage == "student" and not args.teacher:
            raise FlowTrainError("--stage student needs --teacher OUT/flow_teacher.pt")
        seed_everything(cfg.seed)
        model = PWCLite()
        teacher = load_flow_model(args.teacher, args.device) if args.stage == "student" else None
        batches = PairBatches(load_flow_pairs(cfg, "train"), cfg.flow.batch_size, cfg.flow.patch_size,
                              seed=cfg.seed, flip=not args.no_flip)
        res = train_flow(args.stage, model, batches, cfg.flow, teacher=teacher, out_dir=args.out,
                         device=args.device, seed=cfg.seed, resume=args.resume, progress=not args.no_progress,
                         config=config_to_dict(cfg), max_steps=args.max_steps, frames=args.frames)
    except (ConfigError, CheckpointError, FlowTrainError, FileNotFoundError, KeyError) as e:
        print(f"s2svr: error: {e}", file=sys.stderr)
        return 2
    print(f"flow {res.stage}: step {res.step}/{cfg.flow.iters}, checkpoint {res.checkpoint}")
    return 0
