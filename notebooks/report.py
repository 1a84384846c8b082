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
# # Reproducibility report
#
# The paper's claims one by one: what the paper says, what this book measured, and a verdict computed from
# those numbers (**reproduced**, **not reproduced**, **inconclusive** when the 95 % interval of the measured
# effect contains 0, or **not testable here**), all at the scale of the profile the page was built with. Three
# claims hold by construction of this book's own code (the parameter counts, which were matched by choosing
# `num_blocks`; causality and constant memory, properties of the layout): they are labelled **design check**,
# apart from the empirical claims. Each claim links to the section below that holds its evidence. The rule of
# every interval is `s2svr/report/verdicts.py`'s `paired_comparison`, shown below.
#
# (report-glance)=
# ## The claims at a glance
#
# ```{glue:md} claims_glance
# :format: myst
# ```
#
# ```{glue:md} claims_summary
# :format: myst
# ```
#
# **How to read this page.** Every measured number is pulled from the book's experiment plan
# (`s2svr/experiments/plan.py`, the runs of the part "Experiments") or recomputed on this page; none is typed
# in, and the paper's numbers come from `s2svr/experiments/paper.py`. The verdicts are computed by
# `s2svr/report/verdicts.py`: a difference counts only when its 95 % interval excludes 0 (a t interval over
# the independent test clips, clips of one shot counting once, widened by the spread over training seeds where
# a model was trained with several, and never narrower than 0.01 dB). "At this scale" matters: the
# {ref}`cpu profile <profiles>` trains small
# networks on the embedded dataset (clips from videos shipped inside Python packages) on two CPU cores. A
# claim that does not show there may still hold for 13 M parameters trained for 600k iterations on REDS; a
# claim that does show there is evidence for the mechanism, not for the paper's numbers. Under
# `profile = "ci"` nothing on this page is meaningful. The last section says what the `paper` profile would
# take on GPUs.
#
# "Public code" below is the authors' repository,
# [VR-Baseline](https://github.com/linjing7/VR-Baseline), which has S2SVR's configurations but no trained
# S2SVR weights and no flow training; its flow network starts from
# [ARFlow](https://github.com/lliuz/ARFlow)'s Sintel weights.

# %% tags=["parameters", "hide-input"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %% tags=["hide-input"]
import time

import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display
from myst_nb import glue

from s2svr.bench import MEMORY_FLAT_MB, TIME_RATIO, stream_run
from s2svr.configs import load_config
from s2svr.configs.chapters import chapter_budget
from s2svr.configs.schema import FLOW_ARCHS
from s2svr.data.flow_pairs import truth_pairs
from s2svr.experiments.paper import (PARAMETERS, PUBLIC_CODE_PARAMETERS, TABLE1, TABLE2, TABLE3_AVERAGE,
                                     TABLE3_METHODS, TABLE4, TABLE5, TABLE5_LENGTHS)
from s2svr.experiments.plan import TASK_CONFIGS, results
from s2svr.experiments.plan import root as plan_root
from s2svr.flow.standins import ZeroFlow
from s2svr.models import build_model, parameter_breakdown
from s2svr.report import show_source, start_chapter
from s2svr.report.cost import GpuAssumption, estimate, eval_hours, measure
from s2svr.report.flow_figures import paired_flows
from s2svr.report.runs import measured_label, model_from_result, seed_names, seed_runs
from s2svr.report.saliency import encoder_saliency, sharpness, without_motion
from s2svr.train.neighbours import neighbour_gain
from s2svr.report.scores import paired_seeds
from s2svr.report.segments import TABLE5_METHODS, grows_with_length, table5
from s2svr.report.training import final_train_loss
from s2svr.report.verdicts import (HOLDS, ClaimBook, combine, compare, design_check, outcome_of, paired_comparison,
                                   paired_text, t_quantile)
from s2svr.train.data import build_test_sequences, data_mode
from s2svr.train.evaluate import to_tensor
from s2svr.train.loading import load_flow_net
from s2svr.report.memo import remember
from s2svr.train.flow_evaluate import evaluate_flow

t_start = start_chapter(profile, seed)  # seed, one torch thread, the ci notice
label = measured_label(profile)
print(label)
claims = ClaimBook(profile)  # every claim of this page, in order: the table at the top

# %% [markdown]
# (report-size)=
# ## Model size
#
# The paper gives 13.4 M parameters for S2SVR-SR (Table 1) and 8.44 M for S2SVR-deblur (Table 2), PWC-Lite
# (2.24 M, Table 4) included, but not the number of residual blocks. The public code's configurations
# (13 residual blocks per layer, a bidirectional first encoder layer and a backward decoder) count about
# 12.0 M and 7.4 M. The package builds the `paper` profile's networks here and counts; as the chapter
# "Encoder and decoder" (`notebooks/encoder_decoder.py`) explains, `num_blocks` was *chosen* (20) as the one value
# that brings both counts near the paper's, so agreement is by construction, and the claim it supports is
# only that the described architecture has that size. The public code's own setting (13 blocks, its
# `official` layout) is counted with the same package, beside it. The verdict asks for the count within 5 %
# of the paper's.

# %% tags=["hide-input"]
size_rows = []
for name in ("sr_reds4", "deblur_gopro"):  # the paper's counts and the public code's: s2svr/experiments/paper.py
    paper_m, public_m = float(PARAMETERS[name]) * 1e6, float(PUBLIC_CODE_PARAMETERS[name]) * 1e6
    cfg = load_config(name, "paper")
    counts = parameter_breakdown(build_model(cfg.model))
    public = load_config(name, "paper", overrides={"model": {"layout": "official", "num_blocks": 13}})
    size_rows.append({"config": name, "paper": paper_m, "public code": public_m,
                      "measured, profile paper": counts["total"], "of which PWC-Lite": counts["flow"],
                      "measured, official layout + 13 blocks": parameter_breakdown(build_model(public.model))["total"],
                      "measured / paper - 1": counts["total"] / paper_m - 1})
sizes = pd.DataFrame(size_rows).set_index("config")
display(sizes.style.format({c: "{:,.0f}" for c in sizes.columns if c != "measured / paper - 1"}
                           | {"measured / paper - 1": "{:+.1%}"}))
for name, task in (("sr_reds4", "SR"), ("deblur_gopro", "deblurring")):
    s = sizes.loc[name]
    c = claims.add(f"{task} model has {s['paper'] / 1e6:.2f} M parameters", f"{s['paper'] / 1e6:.2f} M",
                   f"about {s['public code'] / 1e6:.1f} M",
                   f"{s['measured, profile paper'] / 1e6:.2f} M ({s['measured / paper - 1']:+.1%})",
                   design_check(abs(s["measured / paper - 1"]) <= 0.05), section="report-size", any_profile=True,
                   detail=f"With num_blocks = {load_config(name, 'paper').model.num_blocks}, a value the paper does "
                          f"not give (chosen to match); the public code's 13 blocks and layout: "
                          f"{s['measured, official layout + 13 blocks'] / 1e6:.2f} M.")
    display(Markdown(claims.markdown(c)))

# %% [markdown]
# (report-tasks)=
# ## S2SVR against other methods, per task
#
# The paper: S2SVR beats every previous method on REDS4 (31.96 dB) and is second on Vimeo-90K-T (Table 1),
# is best on GOPRO (31.81 dB, Table 2) and on the MFQEv2 test set (mean $\Delta$PSNR 0.925 dB, Table 3).
# None of these datasets, nor the competitors' weights, can be downloaded on this machine, so the absolute
# numbers are **not testable here**. What is testable is the ranking against baselines trained with the same
# data, budget and code: a single-frame network, a BasicVSR-style bidirectional recurrent network with the
# same flow, and the input itself (bicubic upsampling, the blurred or the compressed frames), on the embedded
# test clips of each task (chapters `notebooks/exp_sr.py`, `notebooks/exp_deblur.py`, `notebooks/exp_vqe.py`). The public code has no compressed-video
# configuration at all.
#
# Each comparison is paired: S2SVR minus the other method on the *same* clip, then the mean and the spread
# of these per-clip differences. This is the rule every "beats" verdict of the page uses:

# %% tags=["remove-input"]
show_source(paired_comparison)

# %% tags=["hide-input"]
input_name = {"sr": "bicubic", "deblur": "blurred input", "vqe": "compressed input"}
archs = {"identity": "input (bicubic / degraded)", "single_frame": "single frame",
         "basicvsr": "BasicVSR-style", "s2svr": "S2SVR"}
task_res = results(profile, [n for t in TASK_CONFIGS for a in archs for n in seed_names(profile, f"{t}/{a}")],
                   output_dir=output_dir)
task_rows, key_of, paired = [], {}, {}
for task in TASK_CONFIGS:
    conv = task_res[f"{task}/s2svr"]["convention"]
    key = key_of[task] = "delta_psnr" if conv["kind"] == "delta" else "psnr"
    row = {"task": task, "metric": ("Delta PSNR (Y)" if key == "delta_psnr" else
                                    "PSNR (Y)" if conv["test_y"] else "PSNR (RGB)")}
    row.update({label_: task_res[f"{task}/{a}"]["mean"][key] for a, label_ in archs.items()})
    task_rows.append(row)
    for a in archs:
        if a != "s2svr":
            paired[task, a] = paired_comparison(*paired_seeds(seed_runs(task_res, task, "s2svr"),
                                                              seed_runs(task_res, task, a)), key)
tasks = pd.DataFrame(task_rows).set_index("task")
display(Markdown(f"Mean over the embedded test clips, dB ({label})."))
display(tasks.style.format({v: "{:.3f}" for v in archs.values()}))
per_clip = pd.DataFrame([{"task": t, "S2SVR minus": archs[a], "clip": n.split("/", 1)[-1], "dB": v}
                         for (t, a), d in paired.items() for n, v in d["per_sequence"].items()])
spread = pd.DataFrame([{"task": t, "S2SVR minus": archs[a], "mean dB": d["diff"], "95 % interval": f"[{d['lo']:+.3f}, {d['hi']:+.3f}]",
                        "independent units": d["units"], "df": d["df"], "seeds": d["seeds"],
                        "ahead on": f"{d['wins']}/{d['sequences']}", "outcome": d["outcome"]}
                       for (t, a), d in paired.items()])
display(Markdown("Paired per-clip differences, S2SVR minus each other method (dB; 95 % t interval over the "
                 "independent units, clips of one shot counting once)."))
display(spread.style.hide(axis="index").format({"mean dB": "{:+.3f}"}))
display(per_clip.pivot_table(index=["task", "clip"], columns="S2SVR minus", values="dB").style.format("{:+.3f}"))
s1, s2 = TABLE1["S2SVR (Ours)"], TABLE2["S2SVR (Ours)"]
paper_task = {"sr": (f"REDS4 {s1[1][0]:.2f} dB (best of {len(TABLE1) - 1} methods), Vimeo-90K-T {s1[2][0]:.2f} dB "
                     "(second)", "configs for REDS/Vimeo; no trained weights"),
              "deblur": (f"GOPRO {s2[1][0]:.2f} dB (best of {len(TABLE2)})", "GOPRO config; no trained weights"),
              "vqe": (f"MFQEv2 mean Delta PSNR {TABLE3_AVERAGE[-1][0]:.3f} dB (best of {len(TABLE3_METHODS)})",
                      "no config, loader or evaluation")}
for task in TASK_CONFIGS:
    others = {a: paired[task, a] for a in archs if a != "s2svr"}
    task_name = {"sr": "super-resolution", "deblur": "deblurring", "vqe": "compressed video"}[task]
    c = claims.add(f"{task_name}: S2SVR beats the other methods", paper_task[task][0], paper_task[task][1],
                   "S2SVR minus " + "; ".join(f"{input_name[task] if a == 'identity' else archs[a]} "
                                              f"{d['diff']:+.3f} ± {d['noise']:.3f} dB "
                                              f"({d['wins']}/{d['sequences']} clips)" for a, d in others.items()),
                   combine(d["outcome"] for d in others.values()), section="report-tasks",
                   detail=f"Embedded {task} test clips, profile {profile}; per-clip spread "
                          + ", ".join(f"{d['spread']:.3f}" for d in others.values()) + " dB.")
    display(Markdown(claims.markdown(c)))
# %% [markdown]
# **Do the multi-frame models use their extra frames?** The four models of a task were trained on the same
# batches with the same loss, so their training losses compare directly. A recurrent network that draws on
# its neighbouring frames should fit its training clips better than one that sees a single frame; one that
# does not has learned, in effect, a single-frame restorer:

# %% tags=["hide-input"]
fit = pd.DataFrame({task: {label_: final_train_loss(task_res[f"{task}/{a}"]) for a, label_ in archs.items()
                           if a != "identity"} for task in TASK_CONFIGS}).T
display(Markdown("Mean training loss (Charbonnier) over the last 20% of each run's logged steps "
                 f"({label}); lower fits the training clips better."))
display(fit.style.format("{:.5f}", na_rep="-"))
fit_lines = []
for task in TASK_CONFIGS:
    s_, f_ = fit.loc[task, "S2SVR"], fit.loc[task, "single frame"]
    if pd.notna(s_) and pd.notna(f_):
        fit_lines.append(f"{task}: S2SVR {s_:.5f} against single frame {f_:.5f} ({(s_ - f_) / f_:+.1%})")
if fit_lines:
    display(Markdown("Training loss of S2SVR relative to the single-frame network: " + "; ".join(fit_lines) + ". "
                     "Where S2SVR's loss is not clearly below the single-frame network's, it has not learned to use "
                     "its neighbouring frames at this size and budget, and a test-set ranking against the single-"
                     "frame network says nothing about sequence-to-sequence learning itself."))

# %% [markdown]
# The same question asked of the test clips directly (`s2svr/train/neighbours.py`): every frame $c$ of the test
# clips that has a full window is restored from its real window of 7 frames ($c-4 \dots c+2$), then from a still
# window of frame $c$ repeated. A model that
# uses its neighbours scores better from the real window; a frame-wise model scores the same.

# %% tags=["remove-input"]
show_source(neighbour_gain)

# %% tags=["hide-input"]
nb_budget = chapter_budget("report", profile)
probe = {}
for task in TASK_CONFIGS:
    for a in FLOW_ARCHS:  # a single-frame network gains exactly 0
        r_ = task_res[f"{task}/{a}"]
        model_, cfg_ = model_from_result(r_)
        g_ = remember(neighbour_gain, model_, build_test_sequences(cfg_), data_mode(cfg_),
                      num_frames=nb_budget.neighbour_frames, stride=nb_budget.neighbour_stride,
                      convention=r_["convention"], flow_cache=plan_root(profile, output_dir) / "flow_cache")
        probe[task, archs[a]] = {"real window (dB)": g_["real"], "still window (dB)": g_["still"],
                                 "gain (dB)": g_["gain"], "better on": f"{g_['wins']}/{g_['windows']}"}
probe = pd.DataFrame(probe).T
display(probe.style.format({"real window (dB)": "{:.3f}", "still window (dB)": "{:.3f}", "gain (dB)": "{:+.3f}"}))
s2_gain = {t: probe.loc[(t, "S2SVR"), "gain (dB)"] for t in TASK_CONFIGS}
uses = [t for t, v in s2_gain.items() if v >= 0.1]
ignores = [t for t, v in s2_gain.items() if v < 0.1]
display(Markdown(("In profile ci the models took 2 steps: meaningless. " if profile == "ci" else "")
                 + "What S2SVR gains from its real neighbours over a still window: "
                 + ", ".join(f"{t} {v:+.3f} dB" for t, v in s2_gain.items()) + " (a single-frame network gains "
                 "exactly 0 by construction). "
                 + (f"It uses them on {', '.join(uses)}. " if uses else "")
                 + (f"On {', '.join(ignores)} it draws less than 0.1 dB from them: there the multi-frame models have "
                    "learned, in effect, a single-frame restorer at this size and budget, and their ranking against "
                    "the single-frame network tests a small recurrent network's capacity, not sequence-to-sequence "
                    "learning." if ignores else "")))

# %% tags=["hide-input"]
c = claims.add("absolute numbers on REDS4, Vimeo-90K-T, GOPRO, MFQEv2", "Tables 1-3",
               "no trained weights to check them with", "not measurable offline", None, section="report-tasks",
               detail="The datasets and the competitors' weights cannot be downloaded here; "
                      "`make book PROFILE=paper` measures them where the data is on disk.")
display(Markdown(claims.markdown(c)))

# %% [markdown]
# (report-flow)=
# ## Unsupervised flow with distillation
#
# The paper (Sec. 3.3): the HQ flow is more accurate than the flow estimated on degraded frames, and the
# distillation loss (Eq. 16) pulls the student's LQ flow towards the teacher's HQ flow. The public code has no
# flow training at all (it fine-tunes ARFlow's Sintel weights through the restoration loss). Measured as
# `s2svr flow-eval` does (`evaluate_flow` on the embedded flow set's pairs, LQ frames of the SR
# degradation, `epe_ref` to the teacher's HQ flow), for the plan's distilled student and the student trained
# without distillation, with zero flow as the floor: its error to the ground truth is the mean motion of the
# test pairs, the motion a flow has to find. The teacher is the flow the students were distilled from: the HQ
# network at the zoom it trained at; the same weights at the larger zoom the plan runs them at in use are a
# row of their own, labelled with that zoom. The chapter `notebooks/distillation.py` has the full picture. A
# flow claim is judged by the book's one rule: pair by pair, the pairs of one scene counting as one independent
# unit, with a 95 % t interval. It is judged on the `heldout` split, clips whose motion types (strong zoom,
# rotation, fast layers) no training scene has and whose pairs chose nothing: the recipe of the flow networks was
# tuned with the `test` pairs in view, so those are shown beside it, for the record.

# %% tags=["hide-input"]
flow_res = results(profile, ["flow/teacher", "flow/sr/student", "flow/sr/student-nodistill",
                             "flow/sr/supervised-hq"], output_dir=output_dir)
max_pairs = chapter_budget("report", profile).max_pairs
teacher = load_flow_net(flow_res["flow/teacher"]["checkpoint"])  # the flow the students learned from, at its training zoom
zoom_in_use = (flow_res["flow/teacher"].get("use") or {}).get("zoom", teacher.use.zoom)  # how the plan uses it
in_use_row = f"flow/teacher at zoom {zoom_in_use:g} (in use, on HQ frames)"
teacher_in_use = (load_flow_net(flow_res["flow/teacher"]["checkpoint"], zoom=zoom_in_use)
                  if zoom_in_use != teacher.use.zoom else None)
student, nodistill = (load_flow_net(flow_res[n]["checkpoint"]) for n in ("flow/sr/student", "flow/sr/student-nodistill"))
fl, split_pairs = {}, {}
for split in ("heldout", "test"):
    split_pairs[split] = pairs = truth_pairs(load_config("sr_reds4", profile), split)  # ground-truth flow: the embedded flow set
    ev = lambda net, fr, ref=teacher: remember(evaluate_flow, net, pairs, fr, max_pairs=max_pairs, reference=ref,  # noqa: E731
                                                    per_pair=True)
    fl[split, "zero flow"] = ev(ZeroFlow(), "lq")
    fl[split, "flow/sr/student"] = ev(student, "lq")
    fl[split, "flow/sr/student-nodistill"] = ev(nodistill, "lq")
    fl[split, "flow/teacher (on HQ frames)"] = ev(teacher, "hq", None)
    if teacher_in_use is not None:
        fl[split, in_use_row] = ev(teacher_in_use, "hq", None)
fl_df = pd.DataFrame({k: {m: v.get(m) for m in ("pairs", "epe_ref", "epe_all", "psnr_vis")} for k, v in fl.items()}).T
fl_df.index.names = ["split", "flow"]
display(Markdown(f"LQ flows on the embedded flow pairs ({label}): `epe_ref` = distance to the teacher's HQ flow (px), "
                 "`epe_all` = error to the ground truth (zero flow: the mean motion of the pairs), `psnr_vis` = "
                 "alignment of the HQ frames (dB)."))
display(fl_df.style.format({"pairs": "{:.0f}", "epe_ref": "{:.3f}", "epe_all": "{:.3f}", "psnr_vis": "{:.2f}"},
                           na_rep="-"))


def flow_paired(split, a, b, metric):
    """`b` minus `a` pair by pair on `split` (a positive difference: `a` has the smaller error)."""
    return paired_flows(fl[split, b], fl[split, a], metric)


zero_epe = fl["heldout", "zero flow"]["epe_all"]  # = mean |ground-truth flow|: the motion in the pairs
teacher_hq = fl["heldout", "flow/teacher (on HQ frames)"]
flow_outcome = flow_paired("heldout", "flow/teacher (on HQ frames)", "zero flow", "epe_all")["outcome"]
display(Markdown(f"Motion in the held-out pairs: {zero_epe:.2f} px on average; the teacher (the HQ flow the students "
                 f"were distilled from, at its training zoom {teacher.use.zoom:g}) leaves {teacher_hq['epe_all']:.2f} px of "
                 f"it unexplained ({'better than' if flow_outcome == HOLDS else 'not shown better than'} assuming no "
                 "motion)" + (f"; the same weights at zoom {zoom_in_use:g}, as they run in use, leave "
                              f"{fl['heldout', in_use_row]['epe_all']:.2f} px." if teacher_in_use is not None else ".")))
st = {s_: fl[s_, "flow/sr/student"] for s_ in ("heldout", "test")}
nd = {s_: fl[s_, "flow/sr/student-nodistill"] for s_ in ("heldout", "test")}
d_ref = {s_: flow_paired(s_, "flow/sr/student", "flow/sr/student-nodistill", "epe_ref") for s_ in ("heldout", "test")}
c = claims.add("distillation brings the LQ flow closer to the HQ flow", "Sec. 3.3, Eq. (16)", "no flow training",
               f"held out: epe_ref {st['heldout']['epe_ref']:.3f} px distilled vs {nd['heldout']['epe_ref']:.3f} px "
               f"without", d_ref["heldout"]["outcome"], section="report-flow",
               detail=f"Without minus with, held out: {paired_text(d_ref['heldout'], 'px')}; test pairs (for the "
                      f"record): {paired_text(d_ref['test'], 'px')}. Alignment held out {st['heldout']['psnr_vis']:.2f} "
                      f"vs {nd['heldout']['psnr_vis']:.2f} dB.")
display(Markdown(claims.markdown(c)))
d_gt = {s_: flow_paired(s_, "flow/sr/student", "flow/sr/student-nodistill", "epe_all") for s_ in ("heldout", "test")}
d_zero = flow_paired("heldout", "flow/sr/student", "zero flow", "epe_all")
c = claims.add("the distilled LQ flow is more accurate (ground truth)", "Sec. 3.3 ('more accurate LQ flows')",
               "no flow training",
               f"held out: EPE {st['heldout']['epe_all']:.3f} px distilled vs {nd['heldout']['epe_all']:.3f} px "
               f"without; zero flow {zero_epe:.3f}", combine([d_gt["heldout"]["outcome"], d_zero["outcome"]]),
               section="report-flow",
               detail=f"Without minus with, held out: {paired_text(d_gt['heldout'], 'px')}; test pairs (for the "
                      f"record): {paired_text(d_gt['test'], 'px')}.")
display(Markdown(claims.markdown(c)))

# %% [markdown]
# (report-table4)=
# ## Table 4: unsupervised against supervised PWC-Lite
#
# The paper: S2SVR-SR with the distilled unsupervised PWC-Lite is 0.17 dB better than with a PWC-Lite
# supervised on FlyingChairs, and 0.08 dB better than with pretrained RAFT. Here (chapter
# `notebooks/exp_ablation.py`): supervised on the embedded set's ground-truth flow instead of FlyingChairs;
# RAFT is not part of the project and its weights cannot be downloaded.

# %% tags=["hide-input"]
t4 = results(profile, ["sr/s2svr", "sr/s2svr+supervised-hq"], output_dir=output_dir)
d4 = paired_comparison(t4["sr/s2svr"], t4["sr/s2svr+supervised-hq"])
gap4 = {k: TABLE4["PWC-Lite, Unsup."][1] - TABLE4[k][1] for k in ("PWC-Lite, Sup.", "RAFT, Sup.")}
c = claims.add("unsupervised PWC-Lite beats supervised PWC-Lite in S2SVR (Table 4)",
               f"{gap4['PWC-Lite, Sup.']:+.2f} dB on REDS4", "no unsupervised training; ARFlow's Sintel weights",
               paired_text(d4), d4["outcome"], section="report-table4",
               detail="Supervised stand-in: embedded ground-truth flow.")
display(Markdown(claims.markdown(c)))
c = claims.add("unsupervised PWC-Lite beats pretrained RAFT (Table 4)", f"{gap4['RAFT, Sup.']:+.2f} dB on REDS4",
               "-", "RAFT and its weights are not available offline", None, section="report-table4")
display(Markdown(claims.markdown(c)))

# %% [markdown]
# (report-table5)=
# ## Table 5: longer sequences, larger margin
#
# The paper: on segments of 5, 15, 30 and 50 frames of one REDS4 video, S2SVR's margin over EDVR grows with
# the length. Here (chapter `notebooks/exp_ablation.py`): every embedded SR test clip cut into segments of
# each length that fits, S2SVR against the best of the other three SR models, measured as that chapter
# measures it (`s2svr/report/segments.py`, `table5`).

# %% tags=["hide-input"]
res5 = results(profile, list(TABLE5_METHODS.values()), output_dir=output_dir)
t5 = table5(res5, profile, output_dir, TABLE5_LENGTHS)
m5, shortest = t5["margins"], t5["shortest"]
paper5 = {L: TABLE5["S2SVR"][i] - TABLE5["EDVR"][i] for i, L in enumerate(TABLE5_LENGTHS)}
missing5 = [L for L in TABLE5_LENGTHS if L not in m5]
c = claims.add("the longer the sequence, the larger S2SVR's margin (Table 5)",
               ", ".join(f"{v:+.2f}" for v in paper5.values()) + f" dB at L = {', '.join(map(str, paper5))}",
               "-", "margin over the best other model: " + ", ".join(f"L = {L}: {v:+.3f} dB" for L, v in m5.items()),
               outcome_of(grows_with_length(m5)), section="report-table5",
               detail=(f"The clips have {shortest} frames: no row for L = {', '.join(map(str, missing5))}."
                       if missing5 else ""))
display(Markdown(claims.markdown(c)))

# %% [markdown]
# (report-fig7)=
# ## Fig. 7: motion compensation sharpens the features
#
# The paper shows feature saliency maps with (W/I) and without (W/O) motion compensation: without it, motion
# details and edges are lost. The chapter `notebooks/motion.py` regenerates the figure with a *random* network
# and exact flow. Here the same measurement runs on the *trained* S2SVR-SR of the plan: its own flow (the
# distilled PWC-Lite) against the same weights with zero flow (`without_motion`), on the first frames of each
# embedded SR test clip; saliency = channel-mean $|z_t|$ of the top encoder latent, sharpness = mean gradient
# magnitude over mean (`s2svr.report.saliency.sharpness`), over the frames after the first (the first has no
# history to align). The ratio W/I / W/O counts as above 1 when it exceeds twice its standard error (and
# 0.01).

# %% tags=["hide-input"]
model_sr, cfg_sr = model_from_result(res5["sr/s2svr"])
model_no = without_motion(model_sr)
n7 = 4 if profile == "ci" else 10
sharp = []
for seq in build_test_sequences(cfg_sr):
    x = to_tensor(seq.lq.read(list(range(min(n7, len(seq))))))
    s_mc, s_no = encoder_saliency(model_sr, x), encoder_saliency(model_no, x)
    sharp += [{"sequence": seq.name, "frame": i, "W/I": sharpness(s_mc[i]), "W/O": sharpness(s_no[i])}
              for i in range(1, len(x))]
sharp = pd.DataFrame(sharp)
ratios = sharp["W/I"] / sharp["W/O"]
ratio7, se7 = float(ratios.mean()), float(ratios.std(ddof=1) / np.sqrt(len(ratios))) if len(ratios) > 1 else 0.0
half7 = max(0.01, t_quantile(len(ratios) - 1) * se7)  # frames of one clip are not independent: a lower bound
c = claims.add("motion compensation sharpens the features (Fig. 7)", "qualitative figure", "-",
               f"sharpness W/I / W/O = {ratio7:.3f} ± {half7:.3f}, W/I sharper on "
               f"{int((sharp['W/I'] > sharp['W/O']).sum())} of {len(sharp)} frames",
               compare(ratio7 - 1, half7), section="report-fig7",
               detail=f"Trained S2SVR-SR ({profile}); its flow's error to the ground truth is "
                      f"{st['heldout']['epe_all']:.2f} px on the held-out pairs, zero flow's {zero_epe:.2f} px.")
display(Markdown(claims.markdown(c)))

# %% [markdown]
# (report-cost)=
# ## Cost: causal, linear in time, constant memory
#
# The paper says seq2seq learning captures long-range dependencies "at a low cost", against transformers
# whose cost is quadratic in the number of tokens. Equations (1)-(7) describe a forward encoder and decoder
# with an attention window of $r$ frames ahead, so the restored frame $i$ can depend only on frames up to
# $i + r$ and a video can be restored as a stream, with a time per frame and a memory that do not grow with
# its length. The public code is different: its first encoder layer is bidirectional and its decoder runs
# backwards in time, so it needs the whole clip. Two checks on the trained S2SVR-SR: (1) perturb one input
# frame and see which outputs change; (2) stream a short and a long video and compare the time per frame and
# the growth of the process's peak memory (the flow network is replaced by zero flow for this check: it costs
# one flow pair per frame, a constant measured in FLOPs below; frames of 32 px). The thresholds are
# `s2svr.bench`'s: memory within 20 MB, time per frame within a factor 0.67-1.5.

# %%
x_c = to_tensor(build_test_sequences(cfg_sr)[0].lq.read(list(range(8))))[None]  # (B, T, C, H, W)
j_c, r_c = 5, model_sr.radius
with torch.no_grad():
    base_c = model_sr(x_c)
    x_p = x_c.clone()
    x_p[:, j_c] = (x_p[:, j_c] + 0.2).clamp(0, 1)
    changed = (model_sr(x_p) - base_c).abs().flatten(2).amax(2)[0] > 0  # (T,)
causal = bool(not changed[: j_c - r_c].any() and changed[j_c - r_c:].all())
c = claims.add("the paper layout is causal up to r frames (restorable as a stream)", "Eqs. (1)-(7), implied",
               "no: bidirectional first layer, backward decoder (layout 'official')",
               f"perturbing frame {j_c} changes outputs {changed.nonzero().flatten().tolist()} (r = {r_c})",
               design_check(causal), section="report-cost")
display(Markdown(claims.markdown(c)))

# %% [markdown]
# The second check uses the benchmark's own measure, `stream_run` (`s2svr/bench.py`), here in the chapter's
# process; `python -m s2svr.bench` runs it for 50 to 1000 frames, each length in a fresh process.

# %%
stream_model = without_motion(model_sr)  # zero flow: PWC-Lite's constant cost per frame is counted below
stream_runs = [stream_run(stream_model, n, 32, cfg_sr.model.in_channels) for n in ((20, 80) if profile == "ci" else (50, 400))]
stream_df = pd.DataFrame({"frames": r["frames"], "ms per frame (lower quartile)": 1e3 * r["time_per_frame_q1"],
                          "peak memory growth MB": np.nan if r["growth_mb"] is None else r["growth_mb"],
                          "tensors in the stream state (max)": r["state_tensors_max"]} for r in stream_runs)
stream_df = stream_df.set_index("frames")
display(stream_df.style.format("{:.2f}"))
tr = stream_df.iloc[-1, 0] / stream_df.iloc[0, 0]
flat = bool((stream_df["peak memory growth MB"].fillna(0) <= MEMORY_FLAT_MB).all()
            and stream_df.iloc[:, 2].nunique() == 1)
c = claims.add("low cost: constant memory and time per frame along the video", "Sec. 1, 6 ('at a low cost')",
               "no: the whole clip is held (layout 'official')",
               f"{stream_df.index[0]} vs {stream_df.index[-1]} frames: time per frame x{tr:.2f}, peak memory growth "
               + ", ".join(f"{v:.1f}" for v in stream_df["peak memory growth MB"]) + " MB",
               design_check(flat and TIME_RATIO[0] <= tr <= TIME_RATIO[1]), section="report-cost",
               detail=f"Stream state: {stream_df.iloc[-1, 2]:.0f} tensors at most (`python -m s2svr.bench` measures "
                      f"it up to 1000 frames).")
display(Markdown(claims.markdown(c)))

# %% [markdown]
# (report-summary)=
# ## All claims, in full
#
# The table at the top, with what the public code does about each claim ('-': nothing to compare) and the
# whole measurement; then what the verdicts add up to, computed from them and the flow measurements above.

# %% tags=["hide-input"]
display(Markdown(f"{label[0].upper() + label[1:]}. {claims.counts_text()}."))
display(claims.table().style.hide(axis="index").set_properties(**{"text-align": "left", "vertical-align": "top"}))
limits = ""
steps = task_res["sr/s2svr"]["steps"]
clip_frames = load_config("sr_reds4", profile).data.num_frames
if profile != "ci" and flow_outcome != HOLDS:
    limits = (f"One limit is shared by most claims that fail here: at the `{profile}` flow budget the HQ teacher "
                f"itself is no better than zero flow ({teacher_hq['epe_all']:.2f} vs {zero_epe:.2f} px endpoint error "
                f"on the held-out pairs, whose mean motion is {zero_epe:.2f} px), so distillation copies a flow "
                f"that is, by endpoint error, no better than assuming no motion, and every result that needs an "
                f"accurate flow (Table 4, Fig. 7, the recurrent models' use of past frames) is measured without "
                f"one; the restoration networks were trained for {steps} steps on {clip_frames}-frame clips. At "
                f"this scale these results neither confirm nor refute the paper's claims about trained flows and "
                f"networks.")
elif profile != "ci":
    limits = (f"The HQ teacher beats zero flow here ({teacher_hq['epe_all']:.2f} vs {zero_epe:.2f} px), so the "
                f"flow-dependent claims were tested with a useful flow; the restoration networks were trained for "
                f"{steps} steps on {clip_frames}-frame clips.")
display(Markdown(claims.summary() + (" " + limits if limits else "")))

# %% tags=["remove-cell"]
# the top of the page: the claims at a glance and their summary, drawn from the claims measured above
glue("claims_glance", Markdown(claims.glance()), display=False)
glue("claims_summary", Markdown(f"{label[0].upper() + label[1:]}: {claims.counts_text()}. {limits} "
                                "{ref}`All claims in full <report-summary>` gives what the public code does "
                                "about each."), display=False)

# %% [markdown]
# (report-paper-profile)=
# ## What the `paper` profile would take
#
# The same code runs the paper's configurations: set `PROFILE=paper` with the datasets on disk.
# The commands below are generated from the configs (dataset roots, budgets); the package's
# `s2svr` command and the data scripts are described in the README. Flow training (Algorithm 1)
# runs in one process; restoration training under `torchrun` on 8 GPUs, with the paper's total
# batch of 8 clips (one per GPU).

# %% tags=["hide-input"]
prepare = {"reds": "prepare_reds.py", "vimeo": "prepare_vimeo.py", "gopro": "prepare_gopro.py",
           "mfqe": "prepare_mfqe.py"}
lines = []
for name in ("sr_reds4", "sr_vimeo", "deblur_gopro", "vqe_mfqe"):
    c = load_config(name, "paper")
    flow_dir = f"runs/flow-{name}"
    lines += [f"# {name}: {c.data.dataset}, {c.train.iters:,} iterations, batch {c.data.batch_size} x "
              f"{c.data.num_frames} frames of {c.data.patch_size} px",
              f"python data_scripts/{prepare[c.data.dataset]} --root {c.data.root}",
              f"s2svr flow-train {name} --profile paper --stage teacher --out {flow_dir} --device cuda",
              f"s2svr flow-train {name} --profile paper --stage student --teacher {flow_dir}/flow_teacher.pt "
              f"--out {flow_dir} --device cuda",
              f"torchrun --nproc_per_node=8 -m s2svr train {name} --profile paper "
              f"--flow-checkpoint {flow_dir}/flow_student.pt --out runs/{name}-paper",
              f"s2svr eval --checkpoint runs/{name}-paper/last.pt --out runs/{name}-paper/eval.json", ""]
lines += ["# the book itself, with every dataset on disk", "make book PROFILE=paper"]
display(Markdown("```bash\n" + "\n".join(lines) + "\n```"))

# %% [markdown]
# Note that `sr_vimeo` is trained from scratch by these commands: the paper fine-tunes it from the
# REDS model, which the package's trainer does not offer (it resumes its own runs only).
#
# ### Hours and memory, estimated
#
# **Measured here** (the `paper` configs, on this CPU, no GPU needed for counting), by
# `s2svr/report/cost.py`'s `measure`:
# - FLOPs of one steady-state frame, split in two: PWC-Lite on one frame pair (both directions,
#   at its 256 px working size, so the same for every config and patch size) and the rest of the
#   network per LQ pixel (counted with the flow replaced by zero flow; convolutions and matmuls
#   only, `torch.utils.flop_counter`, as `s2svr.bench`);
# - activation memory kept for the backward pass (tensors saved by autograd, deduplicated by
#   storage, float32) of a training forward pass: PWC-Lite per frame pair, the rest per frame and per
#   LQ pixel, from two tiny clips.
#
# **Assumed** (not measured; `GpuAssumption` holds them, change them to taste): a training step costs 3x
# the forward FLOPs (forward + backward); the flow net costs only its forward pass while frozen (first
# `flow_freeze_iters`); flow training costs 3x PWC-Lite's pair FLOPs per sample plus the teacher's
# forward for the student; NVIDIA V100 peak 15.7 TFLOP/s float32 (SXM2 datasheet), of which 30 %
# is sustained (small 64 px patches and recurrent steps keep utilisation low; 20-50 % brackets it);
# no mixed precision, no data-loading stalls, no validation runs. `estimate` is that arithmetic:

# %% tags=["remove-input"]
show_source(estimate)

# %% tags=["hide-input"]
gpu = GpuAssumption()
measured, flow_pair, est_rows = {}, None, []
for name in ("sr_reds4", "sr_vimeo", "deblur_gopro", "vqe_mfqe"):
    c = load_config(name, "paper")
    m = measured[name] = measure(c, flow=flow_pair)  # PWC-Lite's pair is measured once: it is the same for all
    flow_pair = (m.flow_flops, m.flow_bytes)
    e = estimate(c, m, gpu)
    est_rows.append({"config": name, "clip": f"{c.data.num_frames} x {c.data.patch_size}^2", "iterations": c.train.iters,
                     "GFLOP / frame (fwd)": e["flops_frame"] / 1e9,
                     f"restoration training, h ({gpu.gpus} GPUs)": e["train_hours"],
                     "flow training (Alg. 1), h (1 GPU)": e["flow_hours"],
                     "activations per GPU, GB": e["activations_gb"], "weights + grads + Adam, GB": e["states_gb"]})
est = pd.DataFrame(est_rows).set_index("config")
train_col = f"restoration training, h ({gpu.gpus} GPUs)"
display(Markdown(f"PWC-Lite per frame pair: {flow_pair[0] / 1e9:.1f} GFLOP, "
                 f"{flow_pair[1] / 1e6:.0f} MB saved for backward (measured, float32). Estimates assume "
                 f"{gpu.name} at {gpu.util:.0%} of {gpu.peak_flops / 1e12:.1f} TFLOP/s and {gpu.gpus} GPUs."))
display(est.style.format({"iterations": "{:,.0f}", "GFLOP / frame (fwd)": "{:.0f}",
                          train_col: "{:.0f}", "flow training (Alg. 1), h (1 GPU)": "{:.1f}",
                          "activations per GPU, GB": "{:.1f}", "weights + grads + Adam, GB": "{:.2f}"}))
reds4_eval_h = eval_hours(measured["sr_reds4"], 400, 180, 320, gpu)  # REDS4 test set: 400 frames of 320 x 180 LQ
total_h = est[train_col].sum() + est["flow training (Alg. 1), h (1 GPU)"].sum() / gpu.gpus
lo, hi = total_h * gpu.util / 0.5, total_h * gpu.util / 0.2
mem = est["activations per GPU, GB"] + est["weights + grads + Adam, GB"]
display(Markdown(
    f"All four tasks: about **{total_h:.0f} hours on {gpu.gpus} {gpu.name}s** at {gpu.util:.0%} utilisation "
    f"({lo:.0f}-{hi:.0f} h between 50 % and 20 %), i.e. {total_h / 24:.0f} days. The largest memory need per GPU is "
    f"{mem.max():.1f} GB ({mem.idxmax()}) before CUDA workspaces and allocator slack: "
    + ("within a 16 GB V100." if mem.max() < 14 else "more than a 16 GB V100 holds comfortably: a 32 GB V100 "
       "(or gradient checkpointing, or smaller crops) is needed.")
    + f" Evaluation is small beside training: REDS4 (4 clips x 100 frames of 320 x 180 LQ pixels) costs "
      f"{reds4_eval_h * 60:.0f} min of one {gpu.name} at the same utilisation."))

# %% tags=["hide-input"]
elapsed = time.perf_counter() - t_start
print(f"chapter ran in {elapsed:.1f} s (profile {profile})")
