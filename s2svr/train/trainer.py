"""Restoration training (paper Sec. 4.1): one code path for one process and for `torchrun` DDP.

Explained in `book/use_train.md` and the chapters `notebooks/exp_sr.py` and `notebooks/exp_study.py`. Charbonnier loss; Adam (0.9, 0.99); cosine
decay to `eta_min` over the run; separate learning rates for the flow net (5e-5) and the rest (2e-4); an
optional frozen-flow warm-up (the public code's 10k iterations); the flow net initialised from an
Algorithm 1 student checkpoint when given. A flow net frozen for the whole run (the cpu profile) runs once
per training sequence instead of once per step (`train.precompute_flow`, `s2svr.train.flow_bank`).

Exact resume: the data order is a function of (seed, step) (:class:`StepSampler`), every random crop is
seeded by (seed, epoch, index), and the checkpoint holds model, optimiser, scheduler, step and RNG states,
so a run killed at any step and resumed ends with the same weights, bit for bit on CPU. The DataLoader draws
its seed before the saved RNG state is restored, so the RNG state after a resume is that of an uninterrupted
run too; rows of `log.csv`/`val.csv` past the checkpoint's step (logged before a kill) are dropped on resume.

A non-finite loss stops the run. A checkpoint is written only after the losses of its interval were found
finite and its parameters are finite, and the previous one is kept as `previous.pt`: when the first
non-finite loss comes from the weights of the newest checkpoint (the step right after it), that checkpoint is
replaced by the previous one, so `last.pt` always holds weights that gave a finite loss.
"""
from __future__ import annotations

import csv
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..configs import ExperimentConfig, config_from_dict, config_to_dict
from ..losses import charbonnier_loss
from ..flow.nets import build_flow_net
from ..models import build_model
from ..utils import seed_everything
from .checkpoint import CheckpointError, load_checkpoint, load_weights, rng_state, save_checkpoint, set_rng_state
from .loading import flow_arch, restorer_weights
from .data import build_train_dataset, build_train_sequences, build_val_sequences, collate_clips, data_mode
from .flow_bank import FlowBank
from .distributed import DistInfo, all_reduce_mean, barrier, init_distributed
from .evaluate import evaluate_sequences
from .sampler import StepSampler

LAST = "last.pt"
PREVIOUS = "previous.pt"


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message names the step and the last good checkpoint."""


@dataclass
class TrainResult:
    out_dir: Path
    step: int
    checkpoint: Path
    last_val: dict | None
    # wall time of the training, over every call that led to this checkpoint (a resumed run's earlier calls up to
    # their last checkpoint; validations and checkpoints included)
    seconds: float = 0.0


def _param_groups(model, cfg: ExperimentConfig):
    """Two Adam groups, 'net' (lr) and 'flow' (flow_lr); the flow group stays empty for a model without a
    `flow` child (the single-frame baseline), so the schedule and the logs keep their two columns."""
    flow_net = getattr(model, "flow", None)
    flow = [p for p in flow_net.parameters()] if flow_net is not None else []
    flow_ids = {id(p) for p in flow}
    rest = [p for p in model.parameters() if id(p) not in flow_ids]
    if not flow and not rest:
        raise TrainingError(f"model.arch {cfg.model.arch!r} has no trainable parameters: evaluate it without "
                            "training (s2svr.train.evaluate.evaluate_sequences on build_model(cfg.model))")
    return [{"params": rest, "lr": cfg.train.lr, "name": "net"},
            {"params": flow, "lr": cfg.train.flow_lr, "name": "flow"}]


def lr_factors(cfg: ExperimentConfig):
    """LambdaLR factors: linear warm-up over `warmup_iters`, cosine from 1 to eta_min/lr over `iters`; the flow
    group is 0 while frozen."""
    t = cfg.train

    def cosine(base):
        def f(step):
            c = 0.5 * (1 + math.cos(math.pi * min(step, t.iters) / max(t.iters, 1)))
            return (t.eta_min + (base - t.eta_min) * c) / base
        return f

    net_cos, flow_cos = cosine(t.lr), cosine(t.flow_lr)
    warm = lambda step: min(1.0, (step + 1) / t.warmup_iters) if t.warmup_iters > 0 else 1.0  # noqa: E731
    return [lambda step: warm(step) * net_cos(step),
            lambda step: 0.0 if step < t.flow_freeze_iters else warm(step) * flow_cos(step)]


def load_flow_init(model, path: str) -> None:
    """Initialise `model.flow` from an Algorithm 1 checkpoint (student stage) or a bare PWC-Lite state dict."""
    if getattr(model, "flow", None) is None:
        raise TrainingError(f"{path}: this model ({type(model).__name__}) has no flow network to initialise")
    if not hasattr(model.flow, "arch"):
        raise TrainingError(f"{path}: flow.net.type {type(model.flow).__name__} is not trained; remove flow.checkpoint")
    state = load_checkpoint(path, kind="flow")
    # the layers must match; how the net runs is the config's (flow.lq_zoom, flow.pad), not the checkpoint's, so a
    # net trained on HQ frames (supervised-hq, zoom 2) runs on LQ ones on the same grid (zoom 2 x scale)
    if flow_arch(state) != model.flow.arch():
        raise TrainingError(f"{path}: a flow net built as {flow_arch(state)}, this config's flow section builds "
                            f"{model.flow.arch()} (flow.net.cost_norm)")
    load_weights(model.flow, state["model"], path)


def train(cfg: ExperimentConfig, out_dir: str | Path, device: str | None = None, resume: bool = True,
          max_steps: int | None = None, progress: bool = True, num_workers: int | None = None,
          flow_cache: str | Path | None = None, sequences=None, flows=None, val_sequences=None) -> TrainResult:
    """Train `cfg` into `out_dir` (checkpoints `last.pt`, `log.csv`, `val.csv`).

    Args:
        resume: continue from `out_dir/last.pt` when it exists (its config must equal `cfg`).
        max_steps: stop after this many steps in this call (for tests; the schedule still spans `cfg.train.iters`).
        flow_cache: where a frozen flow net's flows are kept (`FlowBank.cached`; runs on the same flow net share
            them). Default `out_dir/flow_cache`, so that each validation does not run the flow net again.
        sequences, flows: train on these `VideoSequence`s instead of the config's training split, and with these
            precomputed flows (a `FlowBank` of them) instead of the flow net's (the alignment oracle,
            `s2svr.experiments.alignment`).
        val_sequences: validate on these instead of the config's validation clips ([]: never).
    """
    t_call = time.perf_counter()
    info = init_distributed(device)
    out_dir = Path(out_dir)
    if info.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    model = build_model(cfg.model, flow_net=build_flow_net(cfg.flow)).to(info.device)
    if cfg.flow.checkpoint:
        load_flow_init(model, cfg.flow.checkpoint)
    if cfg.train.init:  # fine-tuning: every weight from another run (its flow net too, overriding flow.checkpoint)
        init = load_checkpoint(cfg.train.init, kind="restoration", task=cfg.model.task)
        load_weights(model, restorer_weights(init, cfg.train.init), cfg.train.init)
    frozen = cfg.train.flow_freeze_iters >= cfg.train.iters and getattr(model, "flow", None) is not None
    if frozen:
        # Frozen for the whole run: no flow gradients at all (the backward pass skips the flow net), not
        # merely a zero learning rate. Decided before DDP wraps the model, so every rank agrees.
        model.flow.requires_grad_(False)
    if cfg.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(_param_groups(model, cfg), betas=tuple(cfg.train.betas))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factors(cfg))
    step, saved_rng, saved_step = 0, None, None
    seconds_before = 0.0  # wall time of the calls that trained the checkpoint resumed from
    ckpt_path = out_dir / LAST
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path, kind="restoration", task=cfg.model.task)
        if config_from_dict(state["config"], str(ckpt_path)) != cfg:
            raise TrainingError(f"{ckpt_path}: written by a different config; use another --out or --no-resume")
        if "optimizer" not in state:
            raise CheckpointError(f"{ckpt_path}: holds weights only (no optimiser/RNG state); it cannot be "
                                  "resumed, use another --out or --no-resume")
        load_weights(model, state["model"], ckpt_path)
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step = saved_step = int(state["step"])
        saved_rng = state["rng"]
        seconds_before = float(state.get("seconds", 0.0))
    ddp = model
    if info.enabled:
        ddp = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[info.device.index] if info.device.type == "cuda" else None)

    train_seqs = build_train_sequences(cfg) if sequences is None else list(sequences)
    bank = flows
    if bank is None and frozen and cfg.train.precompute_flow:  # the frozen flow net once per sequence, not once per step
        bank = FlowBank.cached(model.flow, train_seqs, data_mode(cfg), cfg.model.flow_size, device=info.device,
                               cache_dir=flow_cache)
    # validations see the same frozen flows every time: computed once (the default test set is the real footage,
    # whose flows at the cpu profile's zoom cost more than the restorer itself)
    val_cache = None
    if frozen and cfg.train.precompute_flow:
        val_cache = out_dir / "flow_cache" if flow_cache is None else flow_cache
    dataset = build_train_dataset(cfg, train_seqs, flows=bank)
    total_steps = cfg.train.iters
    end = total_steps if max_steps is None else min(total_steps, step + max_steps)
    sampler = StepSampler(len(dataset), cfg.data.batch_size, seed=cfg.seed, rank=info.rank,
                          world_size=info.world_size, start_step=step, num_steps=max(end - step, 0))
    workers = cfg.data.num_workers if num_workers is None else num_workers
    loader = DataLoader(dataset, batch_size=sampler.per_rank, sampler=sampler, num_workers=workers,
                        collate_fn=collate_clips, pin_memory=info.device.type == "cuda",
                        persistent_workers=False)
    batches = iter(loader)  # draws the loader's seed, as the uninterrupted run did before its first step
    if saved_rng is not None:
        set_rng_state(saved_rng)
    val_seqs = [] if not info.is_main else build_val_sequences(cfg) if val_sequences is None else list(val_sequences)
    # (data.val_clips, else the test clips)
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.train.amp or "")
    scaler = torch.amp.GradScaler(info.device.type, enabled=amp_dtype is torch.float16)

    log_f = csv_writer = None
    if info.is_main:
        for name in ("log.csv", "val.csv"):  # rows written after the checkpoint by a killed run
            _drop_rows_after(out_dir / name, step)
        new = not (out_dir / "log.csv").exists() or step == 0
        log_f = open(out_dir / "log.csv", "w" if new else "a", newline="")
        csv_writer = csv.writer(log_f)
        if new:
            csv_writer.writerow(["step", "loss", "lr", "flow_lr", "seconds_per_step"])
    tb = _tensorboard(out_dir) if info.is_main else None
    bar = None
    if info.is_main and progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=end, initial=step, desc=f"train {cfg.name}/{cfg.profile}", unit="it")
    last_val = None
    losses = []  # this interval's losses, still on the device (one host sync per interval)
    t0, paused = time.perf_counter(), 0.0  # paused: validation time inside the current log interval
    model.train()
    try:
        for batch in batches:
            lq = batch["frames_lq"].to(info.device, non_blocking=True)  # (B, T, C, h, w)
            gt = batch["frames_gt"].to(info.device, non_blocking=True)  # (B, T, C, s*h, s*w)
            kwargs = {}
            if "flow_fw" in batch:  # precomputed (FlowBank): (B, T-1, 2, h, w) each
                kwargs["flows"] = (batch["flow_fw"].to(info.device), batch["flow_bw"].to(info.device))
            with torch.autocast(info.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                out = ddp(lq, **kwargs)
                loss = charbonnier_loss(out.float(), gt, eps=cfg.train.charbonnier_eps)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.train.grad_clip > 0:
                scaler.unscale_(opt)  # clip the true gradients (a no-op without fp16's scaling)
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            step += 1
            losses.append(loss.detach())
            log_now = step % cfg.train.log_every == 0 or step == end
            save_now = step % cfg.train.save_every == 0 or step == end
            if log_now or save_now:
                # The one host sync per interval; also before every save, so a NaN is never checkpointed.
                per_step = all_reduce_mean(torch.stack(losses), info).cpu()
                finite = torch.isfinite(per_step)
                if not finite.all():
                    bad = step - len(losses) + 1 + int((~finite).nonzero()[0])
                    raise TrainingError(_diverged(out_dir, bad, saved_step, cfg, info))
                mean_loss, n_run = per_step.mean().item(), len(losses)
            if log_now:
                dt = (time.perf_counter() - t0 - paused) / n_run
                if info.is_main:
                    lrs = [g["lr"] for g in opt.param_groups]
                    csv_writer.writerow([step, f"{mean_loss:.6g}", f"{lrs[0]:.4g}", f"{lrs[1]:.4g}", f"{dt:.4f}"])
                    log_f.flush()
                    if tb is not None:
                        tb.add_scalar("train/loss", mean_loss, step)
                        tb.add_scalar("train/lr", lrs[0], step)
                    if bar is not None:
                        bar.set_postfix(loss=f"{mean_loss:.4f}", s_it=f"{dt:.2f}")
                losses.clear()
                t0, paused = time.perf_counter(), 0.0
            if bar is not None:
                bar.update(1)
            if step % cfg.train.val_every == 0 or step == end:
                if info.is_main and val_seqs:
                    v0 = time.perf_counter()  # validation time is not training time: left out of seconds_per_step
                    last_val = evaluate_sequences(model, val_seqs, cfg, device=info.device, progress=False,
                                                  flow_cache=val_cache)
                    _append_val(out_dir / "val.csv", step, last_val)
                    model.train()
                    paused += time.perf_counter() - v0
            if save_now:
                s0 = time.perf_counter()  # nor is writing a checkpoint
                if not all(torch.isfinite(p).all() for p in model.parameters()):
                    raise TrainingError(_diverged(out_dir, step, saved_step, cfg, info, params=True))
                if info.is_main:
                    _keep_previous(ckpt_path, out_dir / PREVIOUS)
                    save_checkpoint(ckpt_path, {
                        "kind": "restoration", "config": config_to_dict(cfg), "step": step,
                        "model": model.state_dict(), "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "rng": rng_state(),
                        "seconds": seconds_before + time.perf_counter() - t_call})
                saved_step = step
                barrier(info)
                paused += time.perf_counter() - s0
        if info.enabled:
            _write_sync_report(model, info, out_dir)
    finally:
        if bar is not None:
            bar.close()
        if log_f is not None:
            log_f.close()
        if tb is not None:
            tb.close()
    return TrainResult(out_dir=out_dir, step=step, checkpoint=ckpt_path, last_val=last_val,
                       seconds=seconds_before + time.perf_counter() - t_call)


def _keep_previous(last: Path, previous: Path) -> None:
    """Make `previous` a copy of `last` (a hard link where the file system allows) before `last` is replaced."""
    if not last.exists():
        return
    tmp = previous.with_name(f".{previous.name}.partial-{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(last, tmp)
    except OSError:
        shutil.copy2(last, tmp)
    os.replace(tmp, previous)


def _diverged(out_dir: Path, bad: int, saved_step, cfg: ExperimentConfig, info: DistInfo, params=False) -> str:
    """The message of a run that met a non-finite loss (or parameters) at step `bad`; rolls `last.pt` back to
    `previous.pt` when the newest checkpoint's weights are the ones that gave the non-finite loss."""
    last, prev = out_dir / LAST, out_dir / PREVIOUS
    if info.is_main and not params and saved_step is not None and bad == saved_step + 1 and last.exists():
        if prev.exists():
            os.replace(prev, last)
        else:
            last.unlink()
    good = "none"
    if last.exists():
        try:
            good = f"{last} (step {load_checkpoint(last)['step']})"
        except CheckpointError:
            good = str(last)
    what = "non-finite parameters after" if params else "non-finite loss at"
    return (f"{what} step {bad}; last good checkpoint: {good}; resume from it with a lower learning rate "
            f"(train.lr is {cfg.train.lr:g})")


def _drop_rows_after(path: Path, step: int) -> None:
    """Keep the header and the rows of `path` (a CSV whose first column is the step) up to `step`."""
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    keep = lines[:1] + [ln for ln in lines[1:] if ln.split(",", 1)[0].isdigit() and int(ln.split(",", 1)[0]) <= step]
    if len(keep) != len(lines):
        tmp = path.with_name(f".{path.name}.partial-{os.getpid()}.tmp")
        tmp.write_text("".join(keep))
        os.replace(tmp, path)


def _tensorboard(out_dir: Path):
    """A TensorBoard writer in `out_dir/tb` when the `tensorboard` package is installed, else None (CSV only)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(out_dir / "tb"))


def _write_sync_report(model, info: DistInfo, out_dir: Path) -> None:
    """Each rank's parameter checksum, gathered on rank 0 into `ddp_sync.txt` (equal when in sync)."""
    import torch.distributed as dist
    flat = torch.cat([p.detach().double().flatten().cpu() for p in model.parameters()])
    local = torch.tensor([flat.sum().item(), (flat * torch.arange(flat.numel(), dtype=torch.float64)).sum().item()],
                         device=info.device)
    gathered = [torch.zeros_like(local) for _ in range(info.world_size)]
    dist.all_gather(gathered, local)
    if info.is_main:
        (out_dir / "ddp_sync.txt").write_text("\n".join(f"{g[0].item():.17g},{g[1].item():.17g}" for g in gathered) + "\n")


def _append_val(path: Path, step: int, metrics: dict) -> None:
    row = {"step": step, **{k: v for k, v in metrics.get("mean", {}).items()}}
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)
