"""Algorithm 1: train the HQ teacher (step 1, Eq. 14), then the LQ student with distillation (step 2, Eq. 17).

Explained in `notebooks/distillation.py`. Four stages::

    | stage               | frames | loss                                       | role                           |
    |---------------------|--------|--------------------------------------------|--------------------------------|
    | `teacher`           | HQ     | Eq. (14): w_ph L_ph + w_sm L_sm            | Algorithm 1, step 1            |
    | `student`           | LQ     | Eq. (17): Eq. (14) + w_dis L_dis(teacher)  | Algorithm 1, step 2 (the paper) |
    | `student-nodistill` | LQ     | Eq. (14)                                   | control: no teacher            |
    | `supervised`        | HQ/LQ  | multi-scale EPE to ground-truth flow       | Table 4, "PWC-Lite Sup."       |

Adam, lr 1e-4 (Sec. 4.1). The loss is `flow.loss`, and from step `flow.stage1.after` on `flow.stage1.loss` over it
(ARFlow's `stage1`: the recipe switches its occlusion mask and photometric distance mid-run). A stage writes
`OUT/flow_<stage>.pt` atomically every `budget.save_every` steps and at the end (model, its arch and the use it
trained at, optimiser, step, RNG states, stage, config) and `OUT/flow_<stage>_log.csv`; `resume=True` continues
from the saved step with the same batches an uninterrupted run would have drawn.
The restoration trainer reads the student checkpoint's `model` (`flow.checkpoint` in the config).
"""
from __future__ import annotations

import csv
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..configs import ConfigError, config_from_dict, plain
from ..flow.nets import flow_use
from ..flow.pwclite import PWCLite
from ..losses import FlowLoss, multiscale_epe_loss
from .loading import load_flow_net
from .checkpoint import CheckpointError, load_checkpoint, load_weights, rng_state, save_checkpoint, set_rng_state
from ..utils import resolve_device, seed_everything

from ..configs.schema import FLOW_STAGES as STAGES  # noqa: E402 (the stages of Algorithm 1 and its controls)


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


def build_flow_model(flow_cfg, frames: str = "hq") -> PWCLite:
    """A new PWC-Lite as `flow_cfg` (a FlowConfig) describes it (`net`), for a stage on `frames` ('hq' or 'lq'),
    run at that stage's training zoom (`zoom` or `lq_zoom`) with the config's padding."""
    return PWCLite(cost_norm=flow_cfg.net.cost_norm).using(flow_use(flow_cfg, frames))


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
            # run as loaded (`load_flow_net`): at its training zoom, the grid the student learns on
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


class _EvalLog:
    """`flow_<stage>_eval.csv`: rows `step, metric..., seconds`; on resume, rows past the resumed step are dropped."""

    def __init__(self, path: Path, step: int):
        self.path, self.header = path, None
        if path.exists():
            rows = list(csv.reader(path.open()))
            if rows:
                self.header = rows[0]
                keep = [r for r in rows[1:] if r and int(r[0]) <= step]
                with path.open("w", newline="") as f:
                    csv.writer(f).writerows([self.header, *keep])

    def write(self, step: int, metrics: dict, seconds: float) -> None:
        new = self.header is None
        if new:
            self.header = ["step", *metrics, "seconds"]
        with self.path.open("a" if not new else "w", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(self.header)
            w.writerow([step, *[f"{metrics.get(k, float('nan')):.6g}" for k in self.header[1:-1]], f"{seconds:.1f}"])


def _same_config(saved: dict, config: dict) -> bool:
    """Whether a checkpoint's config is `config`, also when it was written with the flat flow section of before."""
    if saved == config:
        return True
    try:
        return config_from_dict(saved) == config_from_dict(config)
    except ConfigError:  # not an experiment config: only equal dicts are the same
        return False


def learning_rate(cfg, step: int, iters: int) -> float:
    """The learning rate of step `step` (0-based) of `iters` (`cfg`: a flow config's `optim`): linear warm-up, then
    constant or cosine to `lr_min`."""
    if cfg.warmup_iters > 0 and step < cfg.warmup_iters:
        return cfg.lr * (step + 1) / cfg.warmup_iters
    if cfg.schedule == "constant":
        return cfg.lr
    span = max(1, iters - cfg.warmup_iters - 1)  # the last step runs at lr_min
    t = min(1.0, (step - cfg.warmup_iters) / span)
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * t))


def train_flow(stage: str, model, batches, cfg, *, teacher=None, out_dir=None, iters: int | None = None,
               device=None, seed: int = 0, resume: bool = False, progress: bool = True, config: dict | None = None,
               max_steps: int | None = None, frames: str = "hq", evaluate=None) -> FlowTrainResult:
    """Run one stage of Algorithm 1 (or a control) for `iters` steps (default `cfg.budget.iters`).

    Args:
        stage: one of STAGES.
        model: the flow network being trained (`forward_pyramid` as PWCLite).
        batches: an iterable of batches (see `s2svr.data.flow_pairs`); a :class:`PairBatches` is resumed at the
            saved step, any other iterable is restarted from its beginning (and cycled when exhausted).
        cfg: a FlowConfig (its loss and stage1, optim, budget).
        teacher: frozen HQ flow network, required by stage 'student'.
        out_dir: where `flow_<stage>.pt` and the log go; None = no files.
        resume: continue from `flow_<stage>.pt` if it exists (else an existing file is an error).
        config: plain dict stored in the checkpoint (e.g. `config_to_dict(experiment)`); a resumed run
            must have been written by the same one.
        max_steps: stop after this many steps of this call (the checkpoint still says where to go on).
        frames: 'hq' or 'lq', the frames of stage 'supervised'.
        evaluate: optional `evaluate(model) -> {metric: value}`, run every `cfg.budget.eval_every` steps and at the
            end into `flow_<stage>_eval.csv` (the EPE-against-iterations curve of the book).
    """
    if stage not in STAGES:
        raise FlowTrainError(f"unknown stage {stage!r}; expected one of {STAGES}")
    if stage == "student" and teacher is None:
        raise FlowTrainError("stage 'student' needs a teacher (train stage 'teacher' first, pass --teacher)")
    device = resolve_device(device)
    iters = cfg.budget.iters if iters is None else int(iters)
    config = plain(config if config is not None else {"flow": asdict(cfg)})
    seed_everything(seed)
    model.to(device).train()
    if teacher is not None:
        teacher.to(device).eval().requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.optim.lr)
    # the loss before and from `stage1.after` on (ARFlow's stage 1); one loss all along without a stage1
    after = cfg.stage1.after if cfg.stage1 is not None else iters
    losses = (FlowLoss.from_config(cfg.loss), FlowLoss.from_config(cfg.loss_at(after)))

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
            if not _same_config(state.get("config") or {}, config):
                raise FlowTrainError(f"{ckpt}: written by a different config; use another --out")
            if "optimizer" not in state:
                raise FlowTrainError(f"{ckpt}: holds weights only (no optimiser/RNG state); it cannot be resumed")
            load_weights(model, state["model"], ckpt)
            opt.load_state_dict(state["optimizer"])
            step = int(state["step"])
            set_rng_state(state["rng"])

    def save():
        if ckpt is not None:
            save_checkpoint(ckpt, {"kind": "flow", "stage": stage, "step": step, "iters": iters, "seed": seed,
                                   "frames": stage_frames(stage, frames), "arch": model.arch(),
                                   "use": model.use.as_dict(),
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
    eval_log = _EvalLog(out_dir / f"flow_{stage}_eval.csv", step) if ckpt is not None and evaluate else None
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
            loss_fn = losses[step >= after]
            for group in opt.param_groups:
                group["lr"] = learning_rate(cfg.optim, step, iters)
            total, terms = stage_loss(stage, model, batch, loss_fn, teacher, frames)
            if not torch.isfinite(total):
                raise FlowTrainError(f"stage {stage}: loss is {total.item()} at step {step}")
            opt.zero_grad(set_to_none=True)
            total.backward()
            if cfg.optim.grad_clip > 0:
                terms["grad_norm"] = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
            opt.step()
            step += 1
            row = {"total": total.item(), **{k: v.item() for k, v in terms.items()}}
            history.append((step, row))
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in row.items()})
            if writer is not None and (step % cfg.budget.log_every == 0 or step == end):
                if header is None:
                    header = ["step", *row, "seconds"]
                    if new:
                        writer.writerow(header)
                writer.writerow([step, *[f"{v:.6g}" for v in row.values()], f"{time.time() - t0:.1f}"])
                log_f.flush()
            if eval_log is not None and cfg.budget.eval_every > 0 and (step % cfg.budget.eval_every == 0
                                                                       or step == iters):
                eval_log.write(step, evaluate(model), time.time() - t0)
            if step % cfg.budget.save_every == 0 and step != end:
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


def run_stage(cfg, stage: str, out_dir, *, teacher=None, device="auto", frames: str = "hq", flip: bool = True,
              resume: bool = False, progress: bool = True, max_steps: int | None = None,
              use_zoom: float | None = None) -> FlowTrainResult:
    """One stage of Algorithm 1 on `cfg.data`'s training pairs: what `s2svr flow-train` and the experiment plan run.

    Args:
        cfg: a resolved ExperimentConfig (`load_config(name, profile)`).
        teacher: path of the teacher checkpoint (stage 'student').
        use_zoom: the zoom its evaluation curve (`budget.eval_every`) runs the net at: a teacher's zoom in use
            (`s2svr.experiments.jobs.FlowJob.use_zoom`); None: its training zoom. It changes no training.
    """
    from ..configs import config_to_dict
    from ..data.flow_pairs import PairBatches, load_flow_pairs, pair_weights, truth_pairs
    if stage == "student" and not teacher:
        raise FlowTrainError("--stage student needs --teacher OUT/flow_teacher.pt (the teacher's checkpoint)")
    if use_zoom is not None and not use_zoom > 0:
        raise FlowTrainError(f"the zoom in use must be > 0 (or None), got {use_zoom!r}")
    seed_everything(cfg.seed)
    fc = cfg.flow
    model = build_flow_model(fc, stage_frames(stage, frames))
    teacher_net = load_flow_net(teacher, device) if stage == "student" else None
    if stage in ("student", "student-nodistill") and fc.student_init == "teacher":
        # the control without distillation starts from the same weights, so that the two differ in Eq. (16) only
        if not teacher:
            raise FlowTrainError(f"--stage {stage} with flow.student_init 'teacher' needs --teacher (its first weights)")
        if abs(fc.lq_zoom - fc.zoom * cfg.model.scale) > 1e-6:  # else its weights meet motion of another size
            raise FlowTrainError(f"flow.student_init 'teacher' needs flow.lq_zoom = flow.zoom x model.scale = "
                                 f"{fc.zoom:g} x {cfg.model.scale} (the student on its teacher's grid), "
                                 f"got {fc.lq_zoom:g}")
        init = teacher_net if teacher_net is not None else load_flow_net(teacher, device)
        model.load_state_dict(init.state_dict())  # same layers; they run at another zoom
    pairs = load_flow_pairs(cfg, "train", video=fc.train_video > 0 and stage != "supervised")
    batches = PairBatches(pairs, fc.budget.batch_size, fc.augment.patch_size, seed=cfg.seed, flip=flip,
                          swap=fc.augment.swap, weights=pair_weights(pairs, fc.train_video),
                          dihedral=fc.augment.flips == "dihedral", jitter=fc.augment.jitter)
    evaluate = None
    if fc.budget.eval_every > 0:
        from .flow_evaluate import evaluate_flow
        test = truth_pairs(cfg, "test")[:fc.budget.eval_pairs]  # EPE needs ground-truth flow: on REDS, the embedded set's
        on = stage_frames(stage, frames)
        evaluate = lambda m: evaluate_flow(m, test, on, device=resolve_device(device), zoom=use_zoom)  # noqa: E731
    lq = stage_frames(stage, frames) == "lq" and fc.budget.lq_iters
    return train_flow(stage, model, batches, fc, teacher=teacher_net, out_dir=out_dir, device=device,
                      seed=cfg.seed, resume=resume, progress=progress, config=config_to_dict(cfg),
                      max_steps=max_steps, frames=frames, evaluate=evaluate,
                      iters=fc.budget.lq_iters if lq else fc.budget.iters)
