# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The paper's runs on GPUs
#
# The {ref}`paper profile <profiles>` trains the paper's configurations on the real datasets: this page says
# how to run it on one GPU or several, how a run resumes, and what each job of the plan costs, estimated from
# the FLOPs of its training step (`s2svr/train/step_cost.py`) and its budget. Nothing here trains.
#
# ## Prepare the datasets
#
# ```bash
# python data_scripts/prepare_reds.py --root data/REDS       # REDS (train_sharp, train_sharp_bicubic), REDS4 test
# python data_scripts/prepare_vimeo.py --root data/vimeo90k  # Vimeo-90K septuplets
# python data_scripts/prepare_gopro.py --root data/GOPRO     # GOPRO (train, test)
# python data_scripts/prepare_mfqe.py --root data/MFQEv2 --hm-encoder PATH  # MFQEv2: your raw YUV, then HM 16.5 QP 37
# ```
#
# Before any job starts, `python -m s2svr.experiments.plan --profile paper` checks every dataset split in its
# layout, every checkpoint a config names, the CUDA device and the free disk (`s2svr/experiments/preflight.py`)
# and prints one line per missing thing with the command that fixes it; it then exits without starting anything.
#
# ## One GPU, several GPUs
#
# ```bash
# S2SVR_DEVICE=cuda:0 python -m s2svr.experiments.plan --profile paper --train   # the whole plan, one job at a time per worker
# python -m s2svr.experiments.plan --profile paper --train --workers 1 --nproc 8   # each restoration training on 8 GPUs
# torchrun --nproc_per_node=8 -m s2svr train sr_reds4 --profile paper           # one job on 8 GPUs (DDP, batch 8 in total)
# ```
#
# The plan runs its jobs as subprocesses (`--workers N` at a time), each on `S2SVR_DEVICE`; a single job is
# spread over several GPUs with `torchrun`, which `s2svr train` supports (the same code path, `DistributedSampler`
# semantics by step), and `--nproc N` launches every restoration training of the plan that way (rank 0 evaluates
# and writes the result); the flow stages of Algorithm 1 run on one GPU. Two workers on two GPUs: start two plans
# with `--only` on different devices.
#
# ## Rehearse it first, on a CPU
#
# ```bash
# make rehearse   # python -m book.tools.rehearse; about a quarter of an hour on two CPU cores
# ```
#
# Before a run of days, `make rehearse` runs this page's path end to end at toy size in a folder of its own
# (`_build/rehearse/`): tiny trees of REDS, Vimeo-90K, GOPRO and MFQEv2 in their real layouts, made and checked by
# the preparation scripts (`data_scripts/make_tiny.py`); the paper plan's whole job graph, preflight first, with the
# paper configs' data paths, splits and dependencies (Table 4's controls, Vimeo-90K fine-tuned from the REDS model),
# each job at its own config's `ci` sizes and budgets (derived from the YAML, `s2svr/experiments/rehearsal.py`); every
# restoration training under `torchrun --nproc_per_node 2` with the gloo backend, as on two GPUs; every chapter of
# the book executed in profile paper against those results; the book built with warnings as errors, every table
# filled.
#
# It shows that the layouts, the preflight, every job and its dependencies, the distributed training and the
# evaluation after it, and every chapter's paper-profile code run. It cannot show what only a GPU at full size shows:
# CUDA's nondeterminism, the memory of the paper's sizes (both below), and whether the paper's budgets converge; its
# numbers mean nothing.
#
# ## Resume after a pre-emption
#
# Every job writes `last.pt` every `train.save_every` steps (model, optimiser, scheduler, step and RNG states) and
# keeps the previous one; a job's result (`result.json`) is written last. Run the same command again: finished
# jobs are read back, an interrupted one resumes from its checkpoint and, on CPU, ends with the same weights as
# an uninterrupted run.

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %% tags=["remove-input"]
import time

import pandas as pd
from IPython.display import Markdown, display

from s2svr.configs.chapters import chapter_budget
from s2svr.experiments.plan import jobs
from s2svr.report import show_source, start_chapter
from s2svr.train.step_cost import flow_stage_flops, restorer_flops

t_start = start_chapter(profile, seed)
budget = chapter_budget("use_gpu", profile)
plan = jobs(budget.cost_profile)

# %% [markdown]
# ## What each job costs
#
# The FLOPs of one training step are counted, not timed (`FlopCounterMode`: convolutions and matmuls, forward
# and backward): for a restorer on a small step of the same network, scaled to the configuration's batch, frames
# and crop; the flow net inside the step once its frozen warm-up (`train.flow_freeze_iters`) is over; for an
# Algorithm 1 stage on one pair, scaled to its batch and crop. A classical flow (OpenCV's DIS, the Table 4
# control) runs on the CPU and is not counted.

# %%
show_source(restorer_flops)

# %% tags=["hide-input"]
rows, seen = [], {}
for name, job in plan.items():
    if job.kind == "restore" and job.arch == "identity":
        continue
    if profile == "ci" and job.config != "sr_reds4":  # ci: a smoke test of the table, SR's jobs only
        continue
    if job.kind == "restore":
        cfg = job.cfg()
        k = (job.config, job.arch, cfg.flow.net.type)
        if k not in seen:
            seen[k] = restorer_flops(cfg)
        c = seen[k]
        it, frozen = cfg.train.iters, c["frozen_steps"]
        total = it * c["restorer"] + (it - frozen) * c["flow"]
        rows.append({"job": name, "iterations": it, "TFLOP per step": (c["restorer"] + c["flow"]) / 1e12,
                     "PFLOP in all": total / 1e15})
    else:
        from s2svr.configs import load_config
        import json
        cfg = load_config(job.config, job.profile, overrides=json.loads(job.overrides) or None)
        b = cfg.flow.budget
        it = b.iters if job.stage == "teacher" or job.frames == "hq" else (b.lq_iters or b.iters)
        k = (job.config, job.stage, job.frames, job.overrides)
        per = seen.setdefault(k, flow_stage_flops(cfg, job.stage))
        rows.append({"job": name, "iterations": it, "TFLOP per step": per / 1e12, "PFLOP in all": it * per / 1e15})
cost = pd.DataFrame(rows).set_index("job")
cost["GPU-hours (estimate)"] = cost["PFLOP in all"] * 1e15 / (budget.gpu_tflops * 1e12) / 3600
display(cost.style.format({"iterations": "{:,.0f}", "TFLOP per step": "{:.3f}", "PFLOP in all": "{:,.1f}",
                           "GPU-hours (estimate)": "{:,.1f}"}))
total_h = cost["GPU-hours (estimate)"].sum()
display(Markdown(
    f"**The plan of profile `{budget.cost_profile}`: about {total_h:,.0f} GPU-hours in all** at an *assumed* "
    f"{budget.gpu_tflops:g} TFLOP/s sustained per GPU (an A100-class GPU with TF32 convolutions at roughly a "
    f"quarter of its peak; a V100 in fp32, as the paper's 8 GPUs, sustains perhaps a third of that, so the hours "
    f"triple). The assumptions: the FLOPs of convolutions and matmuls only (warps, resizes and the data loader are "
    f"not counted), a step that scales linearly with clips, frames and pixels, and no time for validation or "
    f"checkpoints. It is an estimate of the order, not a measurement of a GPU."
    + (" In profile ci the configs costed are the tiny ci ones: meaningless." if profile == "ci" else "")))

# %% [markdown]
# ## What a CPU cannot check
#
# The same code runs on CPU and GPU, the tests run the trainer under `torchrun` with two CPU processes and the
# rehearsal runs the paper plan that way, so the data path, DDP, checkpoints and resume are exercised without a GPU.
# What they cannot show:
#
# - **CUDA nondeterminism.** `grid_sample`'s backward (every warp of the flow and of the recurrent states) adds
#   with atomics on CUDA, so two GPU runs differ in the last bits and drift apart; CPU runs are bit for bit
#   repeatable.
# - **Memory at full size.** A 64 px LQ crop of 15 frames at the paper's width, with PWC-Lite trained inside the
#   step, is sized for the paper's 32 GB V100s; a smaller GPU needs a smaller batch per GPU (more GPUs) or
#   `train.amp`.
# - **Speed.** The hours above are FLOPs over an assumed rate, not a timed run.

# %%
print(f"chapter ran in {time.perf_counter() - t_start:.1f} s (profile {profile})")
