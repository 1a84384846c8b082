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
# # Ablations: the flow estimator (Table 4) and sequence length (Table 5)
#
# Sec. 5 of the paper asks two questions of S2SVR-SR. **Which flow estimator?** PWC-Lite trained
# with the unsupervised distillation loss of Algorithm 1 against the same PWC-Lite trained with
# ground-truth flow, and against a pretrained RAFT (Table 4). **Does the seq2seq model profit from
# long sequences?** A REDS4 video cut into segments of 5 to 50 frames, each restored on its own
# (Table 5).
#
# Both questions are answered here with the models the book's experiment plan trained in the
# chapter "Video super-resolution" (`s2svr/experiments/plan.py`, `s2svr/experiments/`): nothing is
# trained in this chapter. The segment evaluation lives in `s2svr/report/segments.py`
# (`segment_bounds`, `restore_segments`, `segment_frame_psnr`, `segment_table`, `margins`); the flow
# metrics in `s2svr/train/flow_evaluate.py` (`evaluate_flow`).

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from s2svr.configs.chapters import chapter_budget
from s2svr.report import show_source, start_chapter
from s2svr.report.runs import measured_label
from s2svr.report.verdicts import outcome_of, paired_comparison, paired_text, verdict
from s2svr.report.segments import (TABLE5_METHODS, grows_with_length, margins, restore_segments, segment_bounds,
                                   table5)
from s2svr.experiments.plan import results
from s2svr.configs import load_config
from s2svr.experiments.paper import TABLE4, TABLE5, TABLE5_LENGTHS, params_text
from s2svr.flow.classical import DISFlow
from s2svr.flow.standins import ZeroFlow
from s2svr.report.memo import remember
from s2svr.train.flow_evaluate import evaluate_flow
from s2svr.data.flow_pairs import truth_pairs
from s2svr.train.loading import load_flow_net

t_start = start_chapter(profile, seed)  # seed, one torch thread, the ci notice
label = measured_label(profile)
print(label)

# %% [markdown]
# ## Table 4: which flow estimator?
#
# The paper compares three flow estimators inside S2SVR-SR on REDS4:
#
# | paper's row | what it is | here |
# | --- | --- | --- |
# | PWC-Lite, Unsup. | Algorithm 1's distilled student on LQ frames | the S2SVR-SR of the chapter "Super-resolution", its flow net initialised from Algorithm 1's SR student |
# | PWC-Lite, Sup. | PWC-Lite trained with ground-truth flow on FlyingChairs | PWC-Lite trained with the **ground-truth flow of the embedded flow set** on its HQ frames (stage `supervised`, multi-scale EPE) |
# | RAFT, Sup. | pretrained RAFT (4.81 M parameters) | **not run**: RAFT is not part of this project and its pretrained weights cannot be downloaded on this offline machine |
# | (not in the paper) | the student trained without the distillation term | the same student trained without Eq. (16)'s distillation term: a control |
# | (not in the paper) | OpenCV's DIS flow, no learning at all | OpenCV's DIS (config `flow.net.type: dis`): the offline stand-in for a strong off-the-shelf flow, where RAFT cannot run |
#
# FlyingChairs is not available offline either; the embedded flow set plays its part: synthetic
# layered motion with exact flow. Like FlyingChairs, it is labelled, but unlike FlyingChairs it
# comes from the same photos as the restoration data, so this stand-in gives the supervised
# estimator *less* of a domain gap than the paper's had: a fairer fight for it. All three S2SVR
# networks have the same size, seed, data and budget; only the PWC-Lite they start from differs.
# In the {ref}`cpu profile <profiles>` the flow net stays frozen at that initialisation for the whole restoration
# run (`flow_freeze_iters = iters`), so the restoration PSNR isolates the flow estimator.

# %%
flow_rows = {"PWC-Lite, Unsup. (distilled)": "sr/s2svr",
             "PWC-Lite, Sup. (embedded GT flow)": "sr/s2svr+supervised-hq",
             "PWC-Lite, Unsup. w/o distillation": "sr/s2svr+student-nodistill",
             "DIS (OpenCV), no learning": "sr/s2svr+dis"}
flow_jobs = {"sr/s2svr": "flow/sr/student",
             "sr/s2svr+supervised-hq": "flow/sr/supervised-hq",
             "sr/s2svr+student-nodistill": "flow/sr/student-nodistill"}
res = results(profile, list(flow_rows.values()) + list(flow_jobs.values()) + ["flow/teacher"],
              output_dir=output_dir)
# paper Table 4: RAFT Sup., PWC-Lite Sup., PWC-Lite Unsup. (REDS4, RGB PSNR)
paper_t4 = {"RAFT, Sup. (pretrained)": TABLE4["RAFT, Sup."],  # (flow params M, PSNR): s2svr/experiments/paper.py
            "PWC-Lite, Sup. (embedded GT flow)": TABLE4["PWC-Lite, Sup."],
            "PWC-Lite, Unsup. (distilled)": TABLE4["PWC-Lite, Unsup."],
            "PWC-Lite, Unsup. w/o distillation": (None, None),
            "DIS (OpenCV), no learning": (None, None)}
rows = []
for row, (p_params, p_psnr) in paper_t4.items():
    r = res.get(flow_rows.get(row))
    rows.append({"flow estimator": row,
                 "flow params (paper)": params_text(p_params),
                 "PSNR dB (paper, REDS4)": p_psnr if p_psnr else np.nan,
                 "flow params (measured)": (f"{r['parameters'].get('flow', 0) / 1e6:.2f} M" if r else "not run"),
                 "PSNR dB (measured)": r["mean"]["psnr"] if r else np.nan,
                 "SSIM (measured)": r["mean"]["ssim"] if r else np.nan,
                 "restoration steps": r["steps"] if r else np.nan})
table4 = pd.DataFrame(rows).set_index("flow estimator")
display(Markdown(f"**Table 4**, paper beside this run ({label}; test set: the embedded SR clips, "
                 f"RGB PSNR). RAFT: paper only."))
display(table4.style.format({"PSNR dB (paper, REDS4)": "{:.2f}", "PSNR dB (measured)": "{:.3f}",
                             "SSIM (measured)": "{:.4f}", "restoration steps": "{:.0f}"}, na_rep="-"))

# %% [markdown]
# The paper's claim is the difference between the two PWC-Lite rows: +0.17 dB for the unsupervised
# one. At this scale a difference of a few hundredths of a dB can be noise, so the difference is judged
# as every claim of the book is judged: clip by clip on the same test clips, clips cut from one shot
# counted as one independent unit, with a 95 % t interval over those units (the report's rule,
# `s2svr/report/verdicts.py`):

# %%
show_source(paired_comparison)

# %%
unsup, sup, nodis, dis_run = (res[flow_rows[k]] for k in flow_rows)
vs_sup, vs_nodis = paired_comparison(unsup, sup), paired_comparison(unsup, nodis)
vs_dis = paired_comparison(unsup, dis_run)
per_clip = pd.DataFrame({"Unsup. - Sup. (dB)": vs_sup["per_sequence"],
                         "Unsup. - w/o distillation (dB)": vs_nodis["per_sequence"],
                         "Unsup. - DIS (dB)": vs_dis["per_sequence"]})
display(per_clip.style.format("{:+.3f}"))
display(Markdown(
    f"**Verdict (Table 4, unsupervised PWC-Lite beats the supervised one; paper {TABLE4['PWC-Lite, Unsup.'][1] - TABLE4['PWC-Lite, Sup.'][1]:+.2f} dB): "
    f"{verdict(vs_sup['outcome'], profile)}.** Measured: {paired_text(vs_sup)}. "
    f"Distillation control, distilled minus not distilled: {paired_text(vs_nodis)}. Against DIS flow, which "
    f"needs no learning, the learned flow: {paired_text(vs_dis)}. RAFT: not testable here."))

# %% [markdown]
# ### The same flow estimators, measured as flows
#
# A restoration PSNR says how useful a flow was; the embedded flow set's ground truth says how
# *right* it was. The chapter "Distillation and Algorithm 1" measures every checkpoint of Algorithm 1
# in detail; here we recompute the three metrics that matter for Table 4 on the embedded test
# pairs, with each PWC-Lite fed the **LQ** frames (what it sees inside S2SVR-SR, also for the
# supervised one trained on HQ frames): endpoint error to the ground truth (`epe_all`, HQ pixels),
# alignment PSNR of the HQ frames warped with it (`psnr_vis`, visible pixels, Fig. 1's measure) and
# `epe_ref`, the distance to the HQ teacher's flow (the teacher at the zoom it trained at, whose flows the
# students were distilled from), the quantity distillation minimises.

# %%
cfg_sr = load_config("sr_reds4", profile)
pairs = truth_pairs(cfg_sr, "test")  # the embedded flow set's test pairs, also when the task trains on REDS
max_pairs = chapter_budget("exp_ablation", profile).max_pairs  # the first pairs: a few per test clip
teacher = load_flow_net(res["flow/teacher"]["checkpoint"])  # the teacher the students learned from, at its training zoom
flow_eval = {"zero flow (no motion compensation)": remember(evaluate_flow, ZeroFlow(), pairs, "lq", max_pairs=max_pairs,
                                                                 reference=teacher)}
for row, job in flow_rows.items():
    net = DISFlow() if job == "sr/s2svr+dis" else load_flow_net(res[flow_jobs[job]]["checkpoint"])
    flow_eval[row] = remember(evaluate_flow, net, pairs, "lq", max_pairs=max_pairs, reference=teacher)
flow_eval["teacher (HQ frames, for reference)"] = remember(evaluate_flow, teacher, pairs, "hq", max_pairs=max_pairs)
flow_df = pd.DataFrame(flow_eval).T[["pairs", "epe_all", "psnr_vis", "epe_ref"]]
flow_df["S2SVR PSNR dB"] = [np.nan] + [res[j]["mean"]["psnr"] for j in flow_rows.values()] + [np.nan]
display(Markdown(f"Flow quality on the first {int(flow_df['pairs'].iloc[0])} embedded test pairs (LQ input) "
                 f"and the restoration PSNR of the S2SVR using each flow ({label})."))
display(flow_df.style.format({"pairs": "{:.0f}", "epe_all": "{:.3f}", "psnr_vis": "{:.2f}",
                              "epe_ref": "{:.3f}", "S2SVR PSNR dB": "{:.3f}"}, na_rep="-"))
fl = flow_df.loc[[r for r in flow_rows if "DIS" not in r]]
best_epe, best_psnr = fl["epe_all"].idxmin(), fl["S2SVR PSNR dB"].idxmax()
zero_epe = flow_df["epe_all"].iloc[0]
teacher_epe = flow_eval["teacher (HQ frames, for reference)"]["epe_all"]
student = flow_eval["PWC-Lite, Unsup. (distilled)"]
display(Markdown(
    f"The distilled student is {'the closest' if fl['epe_ref'].idxmin() == 'PWC-Lite, Unsup. (distilled)' else 'not the closest'} "
    f"to the teacher's HQ flow (`epe_ref` {student['epe_ref']:.3f} px): distillation does what Eq. (16) asks. "
    f"Whether that helps depends on the teacher: on HQ frames its error to the ground truth is {teacher_epe:.3f} px, "
    f"against {zero_epe:.3f} px for zero flow, so at this flow-training budget the teacher is "
    + ("better than no motion at all, and the student inherits that." if teacher_epe < zero_epe else
       "**no better than assuming no motion**, and a student that copies it inherits its errors "
       f"(the student's ground-truth EPE: {student['epe_all']:.3f} px).")))
display(Markdown(
    f"Lowest endpoint error: *{best_epe}*; best restoration: *{best_psnr}*. "
    + ("The most accurate flow is also the most useful one here."
       if best_epe == best_psnr else
       "The most accurate flow is **not** the one that helps restoration most here: with a frozen flow net and "
       "a short training run, the restoration difference also reflects how each estimator behaves on LQ frames "
       "where it is wrong (smooth errors are harmless, erratic ones are not), not only its mean error.")))

# %% [markdown]
# ## Table 5: sequence length
#
# **The paper's protocol**: one REDS4 video (100 frames) is cut into four segments, of 5, 15, 30
# and 50 frames, which EDVR-M, EDVR and S2SVR restore independently. Each row of Table 5 is
# therefore a *different part of the video* as well as a different length, so the rows' absolute
# PSNRs are not comparable with one another (the 15-frame row is the highest for all three
# methods); only the margins within a row are.
#
# **Ours**: for each length $L$, every test clip is cut into consecutive segments of $L$ frames
# (`segment_bounds`), each segment is restored as if it were a whole video (a fresh recurrent
# state, `restore_frames`), and the PSNR of every frame is averaged over all frames of all clips.
# Every $L$ thus scores the *same* frames; only the temporal context each frame gets changes. The
# methods are the plan's four SR models: S2SVR, the BasicVSR-style bidirectional recurrent
# baseline, the single-frame network and bicubic upsampling (`identity`, which ignores context and
# must score the same for every $L$: a built-in check). EDVR is not part of this project; the
# paper's numbers are shown beside ours. The cut and the restoration of each segment from a fresh state:

# %%
show_source(segment_bounds, restore_segments)
assert segment_bounds(7, 3) == [(0, 3), (3, 6), (6, 7)]  # every frame once, the last segment shorter

# %%
methods = TABLE5_METHODS
res5 = results(profile, list(methods.values()), output_dir=output_dir)
# ci: the first 6 frames of each clip (smoke test); cpu/paper: whole clips
paper_lengths = TABLE5_LENGTHS
t5_start = time.perf_counter()
t5 = table5(res5, profile, output_dir, paper_lengths)
seg, mean5, lengths, frames5, clip_lengths = t5["seg"], t5["mean"], t5["lengths"], t5["frames"], t5["clip_lengths"]
skipped, shortest = t5["skipped"], t5["shortest"]
print(f"test clips: {len(clip_lengths)}, evaluated frames per clip: {t5['shortest']}; segment lengths {lengths}")
if t5["skipped"] and profile != "ci":
    print(f"lengths {t5['skipped']} are impossible here: the test clips have only {t5['shortest']} frames")
if profile == "paper":
    print("note: profile paper still scores the plan's test set; the paper used one REDS4 video")
print(f"{len(seg)} frame scores in {time.perf_counter() - t5_start:.1f} s (cached after the first build)")
for (m, L), g in seg.groupby(["method", "length"]):  # every frame of every clip scored once per method and length
    for seq, scored in g.groupby("sequence")["frame"]:
        assert sorted(scored) == list(range(frames5 or clip_lengths[seq])), (m, L, seq)
assert np.ptp(mean5["bicubic (identity)"].to_numpy()) < 1e-9, "bicubic must not depend on L"

# %% [markdown]
# The table: our mean PSNR per method and length, and the margin of S2SVR over the best of the
# other three at that length; beside it, the paper's Table 5 (its margin is over EDVR).

# %%
paper_t5 = pd.DataFrame({f"{m} (paper)": list(v) for m, v in TABLE5.items()}, index=list(paper_lengths))
paper_t5["margin (paper)"] = paper_t5["S2SVR (paper)"] - paper_t5[["EDVR-M (paper)", "EDVR (paper)"]].max(axis=1)
rivals = [m for m in methods if m != "S2SVR"]
margin5 = margins(mean5.to_dict(), "S2SVR", rivals)
ours5 = mean5.copy()
ours5.columns = [f"{c} (measured)" for c in ours5.columns]
ours5["margin (measured)"] = pd.Series(margin5)
ours5["best rival (measured)"] = mean5[rivals].idxmax(axis=1)
table5 = ours5.join(paper_t5, how="outer")
table5.index.name = "L (frames)"
display(Markdown(f"**Table 5**: mean PSNR (dB) over all frames of segments of $L$ frames. {label[0].upper() + label[1:]}, "
                 f"{len(clip_lengths)} embedded SR test clips. Paper: one REDS4 video, one segment per $L$."))
display(table5.style.format("{:.3f}", subset=[c for c in table5.columns if "best rival" not in c],
                            na_rep="-"))

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for m in methods:
    axes[0].plot(mean5.index, mean5[m], "o-", label=m)
axes[0].set(xlabel="segment length L (frames)", ylabel="mean PSNR (dB)",
            title=f"measured ({profile}, embedded SR test clips)", xticks=list(mean5.index))
for c in ["EDVR-M (paper)", "EDVR (paper)", "S2SVR (paper)"]:
    axes[1].plot(paper_t5.index, paper_t5[c], "s--", label=c)
axes[1].set(xlabel="segment length L (frames)", ylabel="PSNR (dB)", title="paper, Table 5 (REDS4)",
            xticks=list(paper_t5.index))
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Where in a segment the context pays
#
# A recurrent model starts every segment with an empty state: its first frames have no history.
# Per frame position within a segment, below is the gain over bicubic of each method (gain rather
# than PSNR, since the content, and with it the PSNR, changes along a clip), averaged over the
# segments and clips, for the longest and the shortest segment length. A frame-wise model is flat
# up to content; S2SVR (causal, with $r$ frames of look-ahead) should rise over the first frames;
# the bidirectional BasicVSR-style model has weak frames at *both* ends.

# %%
bic = seg[seg.method == "bicubic (identity)"].set_index(["sequence", "length", "frame"])["psnr"]
seg["gain"] = seg["psnr"].to_numpy() - bic.loc[list(zip(seg.sequence, seg.length, seg.frame))].to_numpy()
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
for ax, L in zip(axes, (max(lengths), min(lengths))):
    for m in methods:
        if m == "bicubic (identity)":
            continue
        g = seg[(seg.method == m) & (seg.length == L)].groupby("position")["gain"].mean()
        ax.plot(g.index, g.to_numpy(), "o-" if L < 10 else "-", label=m)
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="frame position within the segment", title=f"segments of L = {L} frames",
           xticks=range(0, L, 1 if L <= 15 else 5))
    ax.grid(alpha=0.3)
axes[0].set_ylabel("PSNR gain over bicubic (dB)")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

pos = seg[(seg.method == "S2SVR") & (seg.length == max(lengths))].groupby("position")["gain"].mean()
first, later = float(pos.iloc[0]), float(pos.iloc[min(3, len(pos) - 1):].mean())
display(Markdown(
    f"S2SVR, segments of {max(lengths)} frames: gain over bicubic {first:+.3f} dB at the first frame of a "
    f"segment, {later:+.3f} dB on average from the fourth frame on: "
    + ("the recurrent state pays after the first frames, as expected."
       if later > first else "at this scale the history does **not** improve the later frames.")))

# %% [markdown]
# ### Verdict on "the longer the sequence, the larger S2SVR's margin"
#
# The margin at each length and the rule of the verdict (strictly growing with $L$), as computed:

# %%
show_source(margins, grows_with_length)

# %%
m_list = ", ".join(f"L = {L}: {v:+.3f} dB" for L, v in margin5.items())
p_list = ", ".join(f"L = {L}: {v:+.2f} dB" for L, v in paper_t5["margin (paper)"].items())
beats_all = all(v > 0 for v in margin5.values())
t5_verdict = verdict(outcome_of(grows_with_length(margin5)), profile)
m_rec = margins(mean5.to_dict(), "S2SVR", ["BasicVSR-style"])
display(Markdown(
    f"**Verdict (Table 5, margin grows with the length): {t5_verdict}.** S2SVR minus the best other "
    f"method, measured: {m_list}; paper (over EDVR): {p_list}. S2SVR is "
    f"{'ahead at every length' if beats_all else 'not ahead at every length'} here. Against the other recurrent "
    f"model alone: " + ", ".join(f"L = {L}: {v:+.3f} dB" for L, v in m_rec.items())
    + f" ({'growing' if grows_with_length(m_rec) else 'not growing'} with L). "
    + (f"Lengths {', '.join(map(str, skipped))} are not testable on the embedded clips ({shortest} frames)."
       if skipped else f"Every length of the paper fits in the evaluated frames of each clip ({shortest}).")))
gain_sl = mean5.loc[max(lengths)] - mean5.loc[min(lengths)]
display(Markdown("PSNR change from the shortest to the longest segments, per method: "
                 + ", ".join(f"{m} {v:+.3f} dB" for m, v in gain_sl.items())
                 + f". What a long sequence can give is bounded by how much of the history a model has "
                   f"learnt to use: the recurrent models here were trained on clips of {cfg_sr.data.num_frames} "
                   f"frames (profile `{profile}`; the paper: 15) for {res5['sr/s2svr']['steps']} steps."))

# %%
elapsed = time.perf_counter() - t_start
print(f"chapter ran in {elapsed:.1f} s (profile {profile})")
