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
# # Where does the multi-frame gain appear? A study of the small recipe
#
# The paper's central claim is that a network which reads the sequence, with flow-aligned attention,
# restores it better than one that does not. In the chapters before this one the small models of the
# {ref}`cpu profile <profiles>` do not show it: S2SVR scores like a single-frame network of the same
# size. This chapter asks **why**, by measurement: it changes one thing of the small recipe at a time and
# trains the three networks each time with the same budget:
#
# - the **single-frame** network (S2SVR's blocks without the time axis);
# - the **BasicVSR-style** bidirectional recurrent network, aligned by the same PWC-Lite student;
# - **S2SVR** (paper layout: forward encoder and decoder, attention one frame ahead).
#
# Two numbers say whether a network uses time:
#
# - its **margin over the single-frame network** of the same budget, on the validation clips;
# - its **neighbour gain**: every validation frame $c$ that has a full window is restored from its real
#   window (4 frames before, 2 after) and from a still window (frame $c$ repeated), and the two PSNRs are
#   subtracted. A frame-wise network gains exactly 0; a network that draws on its neighbours gains.
#
# **The data that chose nothing.** The study chooses the recipe, so it never looks at the test clips: every
# run trains on the training clips minus two whole training shots held out for validation
# (`s2svr/experiments/study.py`, `VAL_CLIPS`), and is scored on those. The test score of each run is in
# the shipped CSV for the record, and is not used here.
#
# The runs come from `python -m s2svr.experiments.study run` (resumable, two jobs at a time on two cores),
# which ships its results in `weights/study/<task>.csv`; this chapter only reads them, so building the book
# trains nothing. The tables and figures come from `s2svr/report/study.py`.

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %%
import time

import pandas as pd
from IPython.display import Markdown, display

from s2svr.experiments.study import ARCHS, FACTORS, VAL_CLIPS
from s2svr.report import show_source, start_chapter
from s2svr.report.study import ARCH_LABELS, adopted_table, load_study, shipped_seeds_table, study_figure, study_table
from s2svr.train.neighbours import neighbour_gain
from s2svr.train.step_cost import training_step

t_start = start_chapter(profile, seed)
studies = {task: load_study(task) for task in FACTORS}
print({task: f"{len(df)} runs" for task, df in studies.items()})

# %% [markdown]
# ## The factors
#
# Each row changes one thing of the cpu recipe (`base`: C = 16, one residual block per layer, two layers,
# 5-frame clips of 32 px LQ crops, batch 4, 2000 steps, learning rate $10^{-3}$, the flow net frozen at its
# Algorithm 1 student). One row changes two: `l2_iters` trains compressed video with the L2 loss for 10000
# steps, the two factors that each moved its validation $\Delta$PSNR, together. The validation clips of each
# task are listed beside its factors.

# %%
display(pd.DataFrame([{"task": task, "factor": f, "value": v, "overrides": over or "(the cpu recipe)",
                       "validation clips": ", ".join(VAL_CLIPS[task])}
                      for task in FACTORS for f, v, over in FACTORS[task]]).set_index(["task", "factor"]))

# %% [markdown]
# ## The probe
#
# The neighbour gain, as the package computes it. A real window's flows are those of its whole clip, as in
# the evaluation; a still window's one flow pair $(x_c, x_c)$ is computed once.

# %%
show_source(neighbour_gain)

# %% [markdown]
# ## What a training step costs
#
# The cost of a factor is the cost of its training step. `s2svr/train/step_cost.py` builds the step the
# trainer runs (the frozen flow net's flows computed before it, as the real runs compute them once per
# training clip) and counts its convolutions and matmuls forward and backward. The study's CSV gives both
# the seconds per step that each run logged (median of its log, validation and checkpoints left out) and
# these FLOPs, so the GFLOP/s below are what the real runs reached on one core.

# %%
show_source(training_step)

# %% [markdown]
# Where the time of one such step goes: S2SVR's super-resolution step of the {ref}`cpu profile <profiles>` (of
# profile ci in a ci build), one thread, under
# `torch.profiler` (`step_profile`), against a large matmul on the same thread, the practical peak of this
# core (`s2svr.bench`). The FLOPs counted are those of the convolutions and matmuls, so dividing them by the
# convolutions' share of the time says how fast the convolutions themselves run; the rest of the step (warps,
# resizes, activations, the optimiser) counts no FLOPs. The second table times the step with the tensors
# in `channels_last` layout, one of the cheap changes that were tried.

# %%
from s2svr.bench import bench_training, matmul_flops
from s2svr.configs import load_config
from s2svr.configs.chapters import chapter_budget
from s2svr.train.step_cost import step_profile

timed = chapter_budget("exp_study", profile).timed_profile  # profile paper: the cpu recipe's step, on the CPU
peak = matmul_flops(1024)["flops_per_s"]  # one thread (start_chapter), as the training runs
sr_cfg = load_config("sr_reds4", timed, overrides={"model": {"arch": "s2svr"}})
sr_step, sr_flops = training_step(sr_cfg)
prof = step_profile(sr_step)
display(prof.style.format({"ms per step": "{:.1f}", "share": "{:.1%}", "calls per step": "{:.0f}"}))
conv = prof.loc[[op for op in prof.index if "convolution" in op], "share"].sum()
step_s = prof["ms per step"].sum() / 1e3
layouts = pd.DataFrame([bench_training("sr_reds4", timed, steps=3, overrides={"model": {"arch": "s2svr"},
                                                                                "train": {"channels_last": cl}})
                        for cl in (False, True)], index=["contiguous", "channels_last"])
peak = max(peak, matmul_flops(1024)["flops_per_s"])  # the better of two: one taken while the core was shared is low
layouts["fraction of the matmul"] = layouts["flops_per_s"] / peak
display(layouts[["seconds_per_step", "flops_per_s", "fraction of the matmul"]]
        .style.format({"seconds_per_step": "{:.3f}", "flops_per_s": lambda v: f"{v / 1e9:.1f} G",
                       "fraction of the matmul": "{:.0%}"}))
display(Markdown(
    f"The matmul runs at {peak / 1e9:.0f} GFLOP/s on this thread. The step ({sr_flops / 1e9:.1f} GFLOP, "
    f"{step_s:.3f} s under the profiler) spends {conv:.0%} of its time in convolutions, forward and backward: "
    f"within that time they run at about {sr_flops / (conv * step_s) / peak:.0%} of the matmul's FLOP/s, the "
    f"whole step at {sr_flops / step_s / peak:.0%}. `channels_last` changes the step's time by "
    f"{layouts['seconds_per_step'].iloc[1] / layouts['seconds_per_step'].iloc[0] - 1:+.0%}. "
    "(`torch.compile` of the network was tried too, outside this page since compiling takes minutes: "
    "it did not change the step's time on this CPU.)"))

# %% [markdown]
# ## Results
#
# For each task: the table of validation scores, margins and neighbour gains (mean over seeds where a row
# has several), then the four panels. A row whose runs have not all finished shows what has.

# %%
for task, df in studies.items():
    if df.empty:
        display(Markdown(f"**{task}**: no study run shipped yet (`python -m s2svr.experiments.study run --task {task}`)."))
        continue
    display(Markdown(f"### {task} (validation clips {', '.join(VAL_CLIPS[task])}; metric {df['metric'].iloc[0]})"))
    display(study_table(df).style.format(precision=3, na_rep="-"))
    study_figure(df, f"{task}: one factor at a time, validation clips (cpu profile runs, shipped CSV)")

# %% [markdown]
# (study-seeds)=
# ### One seed or three
#
# Most rows above are one seed. A few settings were trained again with seeds 1 and 2, because one seed's
# margin looked like a result; here each network's score per seed. The spread between seeds of one setting
# is the yardstick for the one-seed differences between settings.

# %%
from s2svr.report.study import seeded_settings

seeded = pd.concat({task: seeded_settings(df) for task, df in studies.items()}, names=["task"])
if seeded.empty:
    display(Markdown("No setting of the study has been trained with more than one seed."))
else:
    display(seeded.style.format(precision=3, na_rep="-"))

# %% [markdown]
# The factor "steps" is a curve rather than a point: the validation score of each long run, logged every few
# hundred steps of its training, for the three networks. Where the curves are still rising at their last
# step, more training would still pay; where the multi-frame curves stay on the single-frame one, the
# networks have not started to use their neighbours at that length.

# %%
from s2svr.report.study import curves_figure, load_curves

from s2svr.experiments.study import CURVE_FACTORS

curves = {task: load_curves(task) for task in FACTORS}
long_runs = {task: df[df["factor"].isin(CURVE_FACTORS)] for task, df in curves.items()}
if curves_figure(long_runs, "validation during the long runs (cpu profile, one seed; shipped CSV)") is None:
    display(Markdown("No long run shipped yet."))

# %% [markdown]
# (study-settling)=
# ### Does deblurring's validation settle?
#
# In every deblurring run of the study's starting recipe, S2SVR's validation score peaks within the first
# thousand steps and then falls, while its training loss stays flat; and all three networks of one seed dip at the same
# steps, which see the same batches. Several factors might steady it, each judged on the validation clips:
# clips as long as the validation clips (`num_frames`), a lower learning rate (`lr`), the global gradient norm
# clipped (`grad_clip`, at about the 90th percentile of S2SVR's gradient norms early in its base run), more
# training data (`extra_train`: the training photographs still, under camera-shake exposures), and a state that
# cannot grow: each layer carrying $F_g$'s own ConvGRU state, a convex combination of the last state and a
# $\tanh$ that stays within $[-1, 1]$ however long the clip (`carry` = gru), alone and with the extra data
# (`carry_extra_train`). Below, each network's validation curve under each of them (the mean over seeds where a
# setting has several), and the peak against the last score.

# %%
from s2svr.experiments.study import SETTLING_FACTORS
from s2svr.report.study import settling_figure, settling_table

for task, factors in SETTLING_FACTORS.items():
    if settling_figure(curves[task], factors, f"{task}: validation during the runs of the starting length "
                       "(cpu profile; shipped CSV)") is None:
        display(Markdown(f"No {task} curve of these settings shipped yet."))
        continue
    settle = settling_table(curves[task], factors)
    display(settle.style.format(precision=3))
    s2s = settle.xs("S2SVR", level="network") if "S2SVR" in settle.index.get_level_values(0) else settle.iloc[:0]
    if not s2s.empty:
        steady = s2s["peak - last"].idxmin()
        display(Markdown(
            f"On {task}, S2SVR ends {s2s['peak - last'].min():.3f} to {s2s['peak - last'].max():.3f} dB below its "
            f"peak; it falls least with {steady[0]} = {steady[1]} and ends highest with "
            f"{s2s['last'].idxmax()[0]} = {s2s['last'].idxmax()[1]} ({s2s['last'].max():.3f} dB)."))

# %% [markdown]
# (study-horizon)=
# ## Past the training clip
#
# The networks train on clips of a few frames and are validated on whole clips three to five times longer.
# A recurrent network whose states drift as a clip goes on restores its late frames worse than any frame it
# trained on. The probe (`s2svr/report/horizon.py`) restores each validation clip twice with the same
# reference network (seed 0): whole, and in consecutive pieces as long as a training clip, each piece from
# fresh states. For S2SVR, which reads the past and one frame ahead, the first piece is the same frames either
# way but its last; the BasicVSR-style network reads the whole clip both ways, so its first piece differs too.
# Past the first piece, whole-clip restoration has more history to draw on: a network that uses it gains
# there, one whose states drift loses there, and a frame-wise network scores the same. Below: the mean PSNR
# both ways, and the difference frame by frame.

# %%
from s2svr.report.horizon import horizon_figure, horizon_profile, horizon_row
from s2svr.report.runs import load_task, model_from_result
from s2svr.train.data import build_val_sequences

horizon, horizon_rows = {}, []
for task in FACTORS:
    _, task_runs, _ = load_task(profile, task, output_dir)
    horizon[task] = {}
    for arch in ARCHS:
        net, net_cfg = model_from_result(task_runs[arch])
        horizon[task][ARCH_LABELS[arch]] = p = horizon_profile(net, net_cfg, build_val_sequences(net_cfg))
        horizon_rows.append({"task": task, "network": ARCH_LABELS[arch], "training clip": p["window"],
                             "validation frames per clip": len(p["whole"]), **horizon_row(p)})
horizon_table = pd.DataFrame(horizon_rows).set_index(["task", "network"])
display(horizon_table.style.format(precision=3, na_rep="-"))
horizon_figure(horizon, "validation clips, whole minus in pieces of the training length (reference weights, seed 0)");

# %%
s2 = horizon_table.xs("S2SVR", level="network")["whole - pieces, past the first piece"].dropna()


def _carry_change(df, with_carry, without):
    """S2SVR's validation score under the factor `with_carry` minus under `without` ((factor, value) pairs; seed 0
    of each), or None where either is missing."""
    rows = (df[(df["arch"] == "s2svr") & (df["seed"] == 0)].set_index(["factor", "value"])["val"] if not df.empty
            else pd.Series(dtype=float))
    return rows[with_carry] - rows[without] if with_carry in rows.index and without in rows.index else None


clip = int(horizon_table["training clip"].max())
carry_change = {t: c for t, c in ((t, _carry_change(df, ("carry", "block"), ("base", "cpu recipe")))
                                  for t, df in studies.items()) if c is not None}
gru_change = {t: c for t, c in ((t, _carry_change(df, ("carry", "gru"), ("base", "cpu recipe")))
                                for t, df in studies.items()) if c is not None}
long_change = {t: c for t, c in ((t, _carry_change(df, ("carry_iters", "block, 6000"), ("iters", "6000")))
                                 for t, df in studies.items()) if c is not None}
words = ("Over the frames past the first piece, S2SVR restored whole scores "
         + ", ".join(f"{v:+.3f} dB on {t}" for t, v in s2.items())
         + " against the same network restored in pieces. A negative number is a network whose states carry "
           f"something harmful past the clip length it trained on: nothing in a {clip}-frame training clip asks the "
           f"recurrence to stay sound at frame {2 * clip}. The paper trains on 7 (deblurring) to 15 (REDS) frames, "
           "BasicVSR++ on 30.")
if carry_change:
    words += (" Carrying $F_b$'s output instead of the layer's output (the study's factor `carry`, seed 0) changes "
              "S2SVR's validation score by " + ", ".join(f"{c:+.3f} dB on {t}" for t, c in carry_change.items())
              + " with the starting recipe's steps"
              + ("".join(f", and by {c:+.3f} dB on {t} between the long runs (`carry_iters` against `iters`)"
                         for t, c in long_change.items()))
              + ": the tables and the curves above have the rest of its rows.")
if gru_change:
    words += (" Carrying $F_g$'s own state, which stays within [-1, 1] however long the clip (`carry` = gru), "
              "changes it by " + ", ".join(f"{c:+.3f} dB on {t}" for t, c in gru_change.items())
              + " against the starting recipe (seed 0).")
display(Markdown(words + " Where a setting was trained with several seeds, the section \"One seed or three\" "
                 "above gives each seed's score."))

# %% [markdown]
# Not every run of the design has been trained. Those missing are below, each with the FLOPs of its training
# step (counted) and its cost in core-hours, estimated at the GFLOP/s that the finished runs of the same
# network reached in the study (two runs sharing the machine's two cores): what it would take to complete
# the design.

# %%
from s2svr.report.study import pending_table

pending = pd.concat([pending_table(task, df).assign(task=task) for task, df in studies.items()], ignore_index=True)
if pending.empty:
    display(Markdown("Every run of the design is trained."))
else:
    display(pending.set_index(["task", "factor", "value", "arch"])
            .style.format({"GFLOP per step": "{:.1f}", "core-hours (estimated)": "{:.2f}"}))
    display(Markdown(f"In all, {len(pending)} runs and about {pending['core-hours (estimated)'].sum():.1f} "
                     "core-hours."))

# %% [markdown]
# (alignment-oracle)=
# ## How accurate must the flow be?
#
# Real clips cannot say whether the flow is the bottleneck: their true motion is unknown. Camera-path clips
# can. A still photograph seen by a camera on a smooth random path has a motion known exactly, so its LQ
# flow can be computed, not estimated (`s2svr/data/camera_paths.py`, `exact_lq_flows`). The alignment oracle
# (`s2svr/experiments/alignment.py`) trains the BasicVSR-style network at the study's SR budget on such
# clips, in three ways:
#
# - with the **true flow**;
# - with the true flow plus a smooth error of standard deviation $\sigma$ LQ pixels;
# - with the **SR student's flow**, the one every restorer of this book uses.
#
# Beside it trains the single-frame network, and S2SVR with the true flow and with the student's. Training
# uses two camera paths of each training photograph except the last. Validation uses four paths of that last
# photograph, which no run trains on. The x-axis is each flow's end-point error against the truth on the
# validation clips. The dashed line is the error of zero flow, which is the camera's mean motion.

# %%
from s2svr.experiments.alignment import VAL_PHOTO
from s2svr.report.study import alignment_figure, alignment_summary, load_alignment

oracle = load_alignment()
if oracle.empty:
    display(Markdown("No alignment-oracle run shipped yet (`python -m s2svr.experiments.alignment run`)."))
else:
    display(oracle[["run", "epe", "val", "margin", "neighbour_gain", "neighbour_wins", "neighbour_windows",
                    "seconds_per_step"]].style.hide(axis="index").format(precision=3, na_rep="-"))
    alignment_figure(oracle, f"SR on camera-path clips of '{VAL_PHOTO}' (validation; cpu-profile budget)")


display(Markdown(alignment_summary(oracle, studies.get("sr"))))

# %% [markdown]
# What neighbours can add depends on the clips as well as on the flow. At x4, a neighbour seen at a sub-pixel
# offset helps with the detail above the LQ frames' Nyquist frequency, which the LQ frames hold only as
# aliasing. The table gives the share of each clip's luma energy in that band (`detail_above_nyquist`), for
# the real SR clips and for the camera-path clips of the oracle.

# %%
from s2svr.report.study import detail_above_nyquist, detail_table

show_source(detail_above_nyquist)
detail = detail_table(data_root)
display(detail.groupby("clips", sort=False)["detail"].agg(["count", "mean", "min", "max"])
        .style.format({"mean": "{:.3f}", "min": "{:.3f}", "max": "{:.3f}"}))

# %% [markdown]
# ## What the flow net costs in use
#
# The SR restorers' PWC-Lite was trained at zoom 8 (`flow.lq_zoom`, derived as `zoom x scale`: the LQ frames
# enlarged 8 times, the teacher's grid), so in use a 176x144 frame is seen at 1408x1152. The table below runs each finished SR
# multi-frame model of the study with its flow net at zoom 8, 4, 2 and 1 in use (`set_flow_use`; nothing is
# retrained), and gives its validation score and its time per frame on a 176x144 video, as a multiple of the
# single-frame network's time measured in the same process. The models of the factor `lq_zoom` were also
# *trained* at the lower zoom.

# %%
from s2svr.report.study import load_use, use_figure

use = load_use("sr")
if use.empty:
    display(Markdown("No cost-in-use measurement shipped yet (`python -m s2svr.experiments.study use`)."))
else:
    display(use[["arch", "train_zoom", "use_zoom", "val", "seconds_per_frame", "ratio"]]
            .style.hide(axis="index").format({"val": "{:.3f}", "seconds_per_frame": "{:.3f}", "ratio": "{:.1f}"}))
    use_figure(use, f"SR: the flow net's zoom in use ({use['size'].iloc[0]} frames for the time, one thread)")

# %% [markdown]
# ## What the cpu profile adopted
#
# The cpu configs and the experiment plan took from the study the factors below, each chosen on the validation
# clips (the test clips chose nothing): the identity heads and the flow net at zoom 4 for super-resolution, the L2
# loss for compressed video, and for deblurring S2SVR's layers carrying $F_g$'s bounded state together with the
# camera-path training clips, on which all three networks train (section "Does deblurring's validation settle?";
# its S2SVR was trained with three seeds before it was adopted). The table gives the validation evidence: each
# network's score under the starting recipe, with the factor, and the change. The reference weights of the
# chapters "Super-resolution", "Deblurring" and "Compressed video" are that recipe, trained with three seeds
# (0, 1 and 2).

# %%
adopted = adopted_table(studies)
display(adopted.style.format({c: "{:+.3f}" if c.endswith("change") else "{:.3f}" for c in adopted.columns},
                             na_rep="-"))

# %% [markdown]
# The adopted recipe, trained with three seeds for the reference weights, on the same validation clips: what a new
# seed changes is the yardstick for every difference above, each measured with one seed.

# %%
seeds_val = shipped_seeds_table(profile) if profile == "cpu" else pd.DataFrame()
if seeds_val.empty:
    print(f"profile {profile}: no reference weights with validation records")
else:
    display(seeds_val.style.format({c: "{:+.3f}" if "minus" in c or "gain" in c else "{:.3f}"
                                    for c in seeds_val.columns if c not in ("metric", "seeds", "validation, per seed")},
                                   na_rep="-"))

# %% [markdown]
# (study-targets)=
# ## The small recipe against its targets
#
# Before the study started, it was given targets that say what "using time" would have to look like in the
# reference weights of the adopted recipe (`s2svr/report/targets.py`): for super-resolution, a neighbour gain
# of +0.3 dB and S2SVR 0.2 dB above the single-frame network; for deblurring, S2SVR above every baseline and
# 0.5 dB above its blurred input; for compressed video, +0.3 dB on the QP37 test and +0.1 dB on H.264; a
# restoration with S2SVR at most 4 times as slow as with the single-frame network; and a training step that
# runs at half a large matmul's FLOP/s or more (both timed on one thread as this page is built: the only row
# that depends on the machine). The other rows are measured
# from the three seeds of the reference weights (the test clips, as the chapters "Super-resolution",
# "Deblurring" and "Compressed video" score them; the neighbour gain and H.264 on the validation clips, as
# the study measures them) and from the cost-in-use table above. A margin counts only if it is larger than
# its spread over seeds.

# %%
from s2svr.experiments.plan import RESTORER_LQ_ZOOM
from s2svr.report.targets import recipe_targets, targets_summary

shipped = {}
for task in FACTORS:
    shipped.update(load_task(profile, task, output_dir)[0])  # the plan's results (cached, or the shipped weights)
step_row = layouts.loc["contiguous"].to_dict()  # the step timed above (the trainer's default layout)
targets = recipe_targets(shipped, use if profile == "cpu" else None, RESTORER_LQ_ZOOM.get(profile, {}).get("sr"),
                         step=step_row, matmul_flops_per_s=peak)
display(targets.style.hide(axis="index"))
display(Markdown(targets_summary(targets)))

# %% [markdown]
# ## What the measurements say
#
# The paragraph below is computed from the tables above: for each task, the factor that gave S2SVR its
# largest margin over the single-frame network and its largest neighbour gain, and whether any factor made
# it pass the single-frame network at all.

# %%
def _seed_yardstick(task):
    """The seed spread of the adopted recipe's margin (validation), as words: what one seed's margin must beat."""
    key = (task, "S2SVR")
    if seeds_val.empty or key not in seeds_val.index or "minus single-frame (sd)" not in seeds_val:
        return ": a margin of a few hundredths of a dB is not evidence either way until the spread between seeds is measured"
    sd = seeds_val.loc[key, "minus single-frame (sd)"]
    n = int(seeds_val.loc[key, "seeds"])
    return (f"; with the adopted recipe the same margin moves by {sd:.3f} dB (standard deviation over its {n} seeds), "
            "the yardstick for these one-seed differences")


def summary(task, df):
    t = study_table(df)
    col, gain = "S2SVR - single-frame", "S2SVR neighbour gain"
    if col not in t or t[col].dropna().empty:
        return f"- **{task}**: not enough finished runs to compare."
    m = t[col].dropna()
    best, worst = m.idxmax(), m.idxmin()
    g = t[gain].dropna() if gain in t else pd.Series(dtype=float)
    seeds = t["seeds"]
    words = (f"- **{task}**: S2SVR's margin over the single-frame network ranges from {m.min():+.3f} dB "
             f"({worst[0]} = {worst[1]}) to {m.max():+.3f} dB ({best[0]} = {best[1]}); "
             f"it is above 0 in {int((m > 0).sum())} of {len(m)} settings"
             + (" (one seed per run" if seeds.max() == 1 else
                f" (the mean over seeds where a setting has several: {int(seeds.min())} to {int(seeds.max())}, "
                "the table's column `seeds`") + _seed_yardstick(task) + ").")
    if not g.empty:
        words += (f" Its neighbour gain ranges from {g.min():+.3f} to {g.max():+.3f} dB "
                  f"(largest with {g.idxmax()[0]} = {g.idxmax()[1]}); it uses its neighbours (a gain above "
                  f"{USES_DB} dB) in {int((g > USES_DB).sum())} of {len(g)} settings.")
    best_run = df[(df["arch"] == "s2svr") & (df["factor"] == best[0]) & (df["value"] == best[1])]
    if not best_run.empty and best_run["train_seconds"].notna().all():
        words += (f" Its best setting cost {best_run['train_seconds'].mean() / 3600:.2f} core-hours of training "
                  f"({int(best_run['steps'].iloc[0])} steps).")
    return words


USES_DB = 0.1  # a neighbour gain this large is a network that draws on its neighbours


display(Markdown("\n".join(summary(task, df) for task, df in studies.items() if not df.empty)
                 or "No study run is shipped yet."))
display(Markdown("Against the targets of the reference weights (the section \"The small recipe against its targets\" "
                 f"above): "
                 f"{int((targets['met'] == 'yes').sum())} of {len(targets)} met."))

# %%
elapsed = time.perf_counter() - t_start
print(f"chapter ran in {elapsed:.1f} s (profile {profile}; the study's runs are read from weights/study/)")
