"""Benchmark: inference speed and FLOP/s, streaming memory and time against video length, training step time.

Explained in `notebooks/report.py`. Run `python -m s2svr.bench [--quick] [--json PATH]`;
it prints tables and writes JSON. Not a test: timings on a shared CPU are noisy, which is why every time is a
median or a best-of and every section says its thread count.

1. `matmul`: FLOP/s of a large float32 matmul (best of 10, before and after section 2; the higher one is the
   reference), the machine's practical peak for the next section.
2. `inference`: frames per second of each `paper` config (1 / median seconds per frame, restored by the
   evaluation path's dispatch: streamed for the paper layout, whole clip otherwise), at a stated LQ size; FLOPs of one steady-state step counted with
   `torch.utils.flop_counter.FlopCounterMode` (convolutions and matmuls only: warps and resizes are not counted),
   achieved FLOP/s = FLOPs per frame x fps, as a fraction of the matmul's.
3. `streaming`: a small model streams 50, 200 and 1000 frames (`stream_run`), each length in a fresh process (one
   thread) so its peak RSS is its own; the peak is re-armed after a warm-up (Linux `/proc/self/clear_refs`), so `growth_mb`
   is what streaming itself added. Memory must stay flat and time per frame constant; the verdict says so.
4. `training`: the trainer's step (`training_step`) of the `cpu` profile of each task, S2SVR and the baselines,
   on a synthetic batch of that profile's shape: seconds per step (data loading excluded), FLOPs per step
   (forward and backward) and their fraction of the matmul's FLOP/s. The frozen flow net is not in the step:
   the real runs compute its flows once per training sequence before training (`s2svr.train.flow_bank`).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from .configs import load_config
from .flow.nets import build_flow_net
from .models import build_model
from .train.step_cost import synthetic_clip, training_step
from .utils import proc_status_kb, reset_peak_rss

INFERENCE = (("sr_reds4", 64), ("deblur_gopro", 128), ("vqe_mfqe", 128))  # realistic LQ sizes for this CPU
BASELINE_ARCHS = ("single_frame", "basicvsr")                               # extra rows for sr_reds4
MEMORY_FLAT_MB = 20.0      # allowed peak-RSS difference between the shortest and the longest stream
TIME_RATIO = (0.67, 1.5)   # allowed ratio of median time per frame, longest / shortest stream (noisy CPU)


def matmul_flops(n: int, reps: int = 10) -> dict:
    """Best-of-`reps` FLOP/s of an n x n float32 matmul (2 n^3 FLOPs): the best run is the one least slowed by
    other processes, the closest to what this CPU can do."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up: thread pool and BLAS buffers
    best = min(_timed(lambda: a @ b) for _ in range(reps))
    return {"n": n, "seconds": best, "flops_per_s": 2 * n ** 3 / best}


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


@torch.no_grad()
def flops_per_frame(model, clip: torch.Tensor) -> int:
    """FLOPs of one steady-state frame: a `stream_step` after r+1 frames for a streaming S2SVR, otherwise the
    whole-clip forward divided by T (exact for the frame-wise baselines; the mean for BasicVSR)."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    if hasattr(model, "init_stream") and getattr(model, "layout", None) == "paper":
        r = model.radius
        state = model.init_stream()
        for i in range(r + 1):
            model.stream_step(state, clip[:, i])
        with counter:  # frame r+1: flow pair + encoder step + one decoder step, as every later frame
            model.stream_step(state, clip[:, r + 1])
        return counter.get_total_flops()
    with counter:
        model(clip)
    return counter.get_total_flops() // clip.shape[1]


@torch.no_grad()
def frame_times(model, frames_lq: torch.Tensor, repeats: int = 2) -> list[float]:
    """Seconds per restored frame for one clip `(T, C, H, W)`, by the evaluation path's dispatch: a model that
    can stream is timed between consecutive output frames (per-frame times whose median ignores a frame hit by
    another process); a whole-clip model gets its clip time / T, for each of `repeats` runs."""
    from .train.evaluate import can_stream
    model.eval()
    if can_stream(model):
        times, t0 = [], time.perf_counter()
        for _ in model.stream(f.unsqueeze(0) for f in frames_lq):
            t1 = time.perf_counter()
            times.append(t1 - t0)
            t0 = t1
        return times
    return [_timed(lambda: model(frames_lq.unsqueeze(0))) / len(frames_lq) for _ in range(repeats)]


def bench_inference(name: str, size: int, profile: str, frames: int, warmup: int, arch: str = "s2svr") -> dict:
    """Frames per second (1 / median time per frame) restoring `frames` synthetic LQ frames of size x size,
    after `warmup` frames, and the FLOPs of one frame."""
    cfg = load_config(name, profile, overrides={"model": {"arch": arch}})
    torch.manual_seed(0)
    model = build_model(cfg.model, flow_net=build_flow_net(cfg.flow)).eval()
    c = cfg.model.in_channels
    clip = synthetic_clip(max(frames, warmup, cfg.model.radius + 2), c, size)
    flops = flops_per_frame(model, clip)
    frame_times(model, clip[0, :warmup], repeats=1)
    times = frame_times(model, clip[0, :frames])
    fps = 1.0 / statistics.median(times)
    return {"config": name, "profile": profile, "arch": arch, "lq_size": f"{size}x{size}", "in_channels": c,
            "frames": frames, "seconds_per_frame": times, "fps": fps, "flops_per_frame": flops,
            "flops_per_s": flops * fps}


# ----- streaming memory: one fresh process per length ----------------------------------------------------------
@torch.no_grad()
def stream_run(model, frames: int, size: int, channels: int = 3, warmup: int = 5) -> dict:
    """Stream `frames` synthetic frames of `size x size` through `model` (a streaming S2SVR: `init_stream`,
    `stream_step`, `stream_flush`), in this process: time per frame, peak-RSS growth, the stream state's size.

    The frames are one texture rolled a little further each step, made on the fly (a stored clip would grow with
    `frames` and hide what the model holds); each output is consumed, as a writer would. After `warmup` frames
    the peak RSS is re-armed (`reset_peak_rss`), so `growth_mb` is what streaming itself added (None where the
    kernel cannot re-arm it). The caller sets the threads (one, on a shared machine: far less noisy)."""
    base = synthetic_clip(1, channels, size)[:, 0]  # (1, C, H, W); frames are rolled from it, never stored

    def frame(i):
        return torch.roll(base, shifts=(i % size, (2 * i) % size), dims=(-2, -1))

    for _ in model.stream(frame(i) for i in range(warmup)):  # allocator pools, thread pool
        pass
    rearmed = reset_peak_rss()
    rss_before = proc_status_kb("VmRSS")
    times, rss, max_tensors, checksum = [], [], 0, 0.0
    state = model.init_stream()
    for i in range(frames):
        t0 = time.perf_counter()
        for y in model.stream_step(state, frame(i)):
            checksum += float(y[0, 0, 0, 0])  # consume the output, as a writer would
        times.append(time.perf_counter() - t0)
        max_tensors = max(max_tensors, state.num_tensors())
        if (i + 1) % max(frames // 10, 1) == 0:
            rss.append(proc_status_kb("VmRSS"))
    for y in model.stream_flush(state):
        checksum += float(y[0, 0, 0, 0])
    peak = proc_status_kb("VmHWM")
    decile = max(frames // 10, 1)
    return {"frames": frames, "seconds": sum(times),
            "time_per_frame_median": statistics.median(times), "time_per_frame_mean": sum(times) / frames,
            "time_per_frame_q1": statistics.quantiles(times, n=4)[0],
            "time_first_decile": statistics.median(times[:decile]),
            "time_last_decile": statistics.median(times[-decile:]),
            "peak_rss_mb": (peak or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024,
            "growth_mb": (peak - rss_before) / 1024 if rearmed and peak and rss_before else None,
            "rss_samples_mb": [r / 1024 for r in rss if r], "state_tensors_max": max_tensors,
            "checksum": checksum}


def stream_worker(name: str, profile: str, size: int, frames: int) -> dict:
    """:func:`stream_run` of a fresh model of config `name` / `profile`, on one thread (a fresh process's job)."""
    torch.set_num_threads(1)  # small frames: one thread is as fast and far less noisy on a shared machine
    cfg = load_config(name, profile)
    torch.manual_seed(0)
    model = build_model(cfg.model, flow_net=build_flow_net(cfg.flow)).eval()
    return stream_run(model, frames, size, cfg.model.in_channels)


def bench_streaming(name: str, profile: str, size: int, lengths: tuple[int, ...]) -> dict:
    """Run :func:`stream_worker` for each length in its own process; add the flat-memory/constant-time verdict."""
    runs = []
    for n in lengths:
        out = subprocess.run([sys.executable, "-m", "s2svr.bench", "--stream-worker", name, profile, str(size), str(n)],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first, last = runs[0], runs[-1]
    mem_diff = last["peak_rss_mb"] - first["peak_rss_mb"]
    # Time is compared on the lower quartile of per-frame times: other processes only ever add time, so the
    # least-disturbed frames show the model's own cost; the median is printed beside it.
    ratio = last["time_per_frame_q1"] / first["time_per_frame_q1"]
    flat = abs(mem_diff) <= MEMORY_FLAT_MB and all(r["growth_mb"] is None or r["growth_mb"] <= MEMORY_FLAT_MB
                                                   for r in runs)
    constant = TIME_RATIO[0] <= ratio <= TIME_RATIO[1]
    return {"config": name, "profile": profile, "lq_size": f"{size}x{size}", "threads": 1, "runs": runs,
            "peak_rss_diff_mb": mem_diff, "time_ratio": ratio, "memory_flat": flat, "time_constant": constant,
            "verdict": f"memory {'flat' if flat else 'GROWS'} ({mem_diff:+.1f} MB peak RSS from {first['frames']} "
                       f"to {last['frames']} frames), time per frame {'constant' if constant else 'NOT constant'} "
                       f"(x{ratio:.2f}, lower quartile of ms/frame)"}


# ----- training ---------------------------------------------------------------------------------------------------
def bench_training(name: str, profile: str, steps: int, overrides: dict | None = None) -> dict:
    """Seconds per training step (median of `steps`, after a warm-up) of :func:`training_step`, its FLOPs and
    FLOP/s; data loading excluded."""
    cfg = load_config(name, profile, overrides=overrides)
    step, flops = training_step(cfg)
    times = [_timed(step) for _ in range(steps)]
    sec = statistics.median(times)
    d, c = cfg.data, cfg.model.in_channels
    return {"config": name, "profile": profile, "arch": cfg.model.arch,
            "batch": f"{d.batch_size}x{d.num_frames}x{c}x{d.patch_size}^2", "steps": steps,
            "flow_in_step": not (cfg.train.flow_freeze_iters >= cfg.train.iters and cfg.train.precompute_flow),
            "seconds_per_step": sec, "clips_per_s": d.batch_size / sec, "flops_per_step": flops,
            "flops_per_s": flops / sec}


# ----- the whole benchmark ---------------------------------------------------------------------------------------------
def run(quick: bool = False, threads: int | None = None) -> dict:
    # One thread by default: on a loaded shared machine more threads wait on each other; --threads N when idle.
    threads = threads or 1
    torch.set_num_threads(threads)
    # Warm-up of 3 frames: the first flow is computed at the second frame, so fewer would time one-off costs.
    # At least 5 timed frames: a stream with delay r = 1 yields its first frame after two steps and its last from
    # the flush alone, so the median needs 3 steady-state intervals between these two.
    if quick:  # everything shrunk so a test runs it in seconds: ci models, tiny frames, two stream lengths
        inf_profile, sizes, frames, warmup, mm = "ci", {"sr_reds4": 16, "deblur_gopro": 32, "vqe_mfqe": 32}, 5, 3, 512
        stream_args, lengths, train_profile, steps, archs = ("sr_reds4", "ci", 16), (50, 200), "ci", 1, ()
    else:
        inf_profile, sizes, frames, warmup, mm = "paper", dict(INFERENCE), 6, 3, 2048
        stream_args, lengths, train_profile, steps, archs = ("sr_reds4", "cpu", 32), (50, 200, 1000), "cpu", 3, BASELINE_ARCHS
    res = {"quick": quick, "threads": threads, "torch": torch.__version__, "machine": platform.machine(),
           "cpu_count": os.cpu_count(), "matmul": matmul_flops(mm)}
    rows = [bench_inference(name, sizes[name], inf_profile, frames, warmup) for name, _ in INFERENCE]
    rows += [bench_inference("sr_reds4", sizes["sr_reds4"], inf_profile, frames, warmup, arch=a) for a in archs]
    # Measured again after the inference rows and the better one kept: a single measurement taken while another
    # process held the core once made the models look faster than the matmul (fractions > 100%).
    res["matmul_after"] = matmul_flops(mm)
    peak = max(res["matmul"]["flops_per_s"], res["matmul_after"]["flops_per_s"])
    res["matmul_peak_flops_per_s"] = peak
    for r in rows:
        r["fraction_of_matmul"] = r["flops_per_s"] / peak
    res["inference"] = rows
    res["streaming"] = bench_streaming(*stream_args, lengths)
    res["training"] = [bench_training(name, train_profile, steps, {"model": {"arch": a}})
                       for name, _ in INFERENCE for a in ("s2svr",) + archs]
    for r in res["training"]:
        r["fraction_of_matmul"] = r["flops_per_s"] / peak
    return res


def format_report(res: dict) -> str:
    mm = res["matmul"]
    lines = [f"s2svr benchmark ({'quick' if res['quick'] else 'full'}): torch {res['torch']}, {res['machine']}, "
             f"{res['cpu_count']} CPUs, torch.set_num_threads({res['threads']}) for matmul/inference/training",
             f"matmul {mm['n']}x{mm['n']} float32: {mm['flops_per_s'] / 1e9:.1f} GFLOP/s before and "
             f"{res['matmul_after']['flops_per_s'] / 1e9:.1f} after the inference rows (best of 10 each; "
             f"the higher is the reference)", "",
             "inference (fps = 1 / median s per frame; FLOPs = convs + matmuls of one steady-state step)",
             f"  {'config':<14}{'arch':<14}{'profile':<8}{'LQ':>9}{'fps':>9}{'s/frame':>9}{'GFLOP/frame':>13}"
             f"{'GFLOP/s':>9}{'of matmul':>11}"]
    for r in res["inference"]:
        lines.append(f"  {r['config']:<14}{r['arch']:<14}{r['profile']:<8}{r['lq_size']:>9}{r['fps']:>9.3f}"
                     f"{1 / r['fps']:>9.3f}{r['flops_per_frame'] / 1e9:>13.2f}{r['flops_per_s'] / 1e9:>9.1f}"
                     f"{r['fraction_of_matmul']:>10.0%}")
    st = res["streaming"]
    lines += ["", f"streaming restoration ({st['config']} {st['profile']} profile, LQ {st['lq_size']}, 1 thread, "
                  f"one process per length)",
              f"  {'frames':>7}{'peak RSS MB':>13}{'growth MB':>11}{'ms/frame':>10}{'q1 ms':>8}{'first 10%':>11}"
              f"{'last 10%':>10}"
              f"{'state tensors':>15}{'total s':>9}"]
    for r in st["runs"]:
        growth = "n/a" if r["growth_mb"] is None else f"{r['growth_mb']:.1f}"
        lines.append(f"  {r['frames']:>7}{r['peak_rss_mb']:>13.1f}{growth:>11}{1e3 * r['time_per_frame_median']:>10.2f}"
                     f"{1e3 * r['time_per_frame_q1']:>8.2f}{1e3 * r['time_first_decile']:>11.2f}{1e3 * r['time_last_decile']:>10.2f}"
                     f"{r['state_tensors_max']:>15}{r['seconds']:>9.1f}")
    lines += [f"  verdict: {st['verdict']}", "",
              "training (the trainer's step on a synthetic batch: frozen flow net's flows computed before it; "
              "data loading excluded; median step; FLOPs forward + backward)",
              f"  {'config':<14}{'arch':<14}{'profile':<8}{'batch BxTxCxHW':>20}{'s/step':>9}{'GFLOP/step':>12}"
              f"{'GFLOP/s':>9}{'of matmul':>11}"]
    for r in res["training"]:
        lines.append(f"  {r['config']:<14}{r['arch']:<14}{r['profile']:<8}{r['batch']:>20}{r['seconds_per_step']:>9.3f}"
                     f"{r['flops_per_step'] / 1e9:>12.2f}{r['flops_per_s'] / 1e9:>9.1f}{r['fraction_of_matmul']:>10.0%}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m s2svr.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (ci models), for tests: < 30 s")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--threads", type=int, help="torch threads for matmul/inference/training (default 1: see `run`)")
    ap.add_argument("--stream-worker", nargs=4, metavar=("CONFIG", "PROFILE", "SIZE", "FRAMES"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.stream_worker:  # internal: one streaming run in this fresh process, JSON on the last stdout line
        name, profile, size, frames = args.stream_worker
        print(json.dumps(stream_worker(name, profile, int(size), int(frames))))
        return 0
    res = run(quick=args.quick, threads=args.threads)
    print(format_report(res))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=2))
        print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
