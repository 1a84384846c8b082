"""The restorer study's tables and figures (`notebooks/exp_study.py`), drawn from the CSVs that
`s2svr.experiments.study` ships in `weights/study/`: the book never trains the study.

Per task and factor: each arch's validation score, S2SVR's and the BasicVSR-style network's margins over the
single-frame network of the same budget, their neighbour gains, and what a training step costs (seconds and
GFLOP/s). Everything on the validation clips: the test clips are in the CSV for the record only.
"""
from __future__ import annotations

import pandas as pd

ARCH_LABELS = {"single_frame": "single-frame", "basicvsr": "BasicVSR-style", "s2svr": "S2SVR"}
from ..configs.schema import FLOW_ARCHS as MULTI  # noqa: E402 (the multi-frame networks)


def load_study(task: str) -> pd.DataFrame:
    """The shipped rows of `task` (an empty frame with the columns when the study has no finished run yet)."""
    from ..experiments.study import COLUMNS, study_csv
    path = study_csv(task)
    if not path.is_file():
        return pd.DataFrame(columns=list(COLUMNS))
    df = pd.read_csv(path)
    df["value"] = df["value"].astype(str)
    df["gflop_per_s"] = df["gflop_per_step"] / df["seconds_per_step"]
    return df


def _factor_order(df: pd.DataFrame) -> list[tuple[str, str]]:
    from ..experiments.study import FACTORS
    known = list(dict.fromkeys((f, str(v)) for task in FACTORS for f, v, _ in FACTORS[task]))
    have = list(dict.fromkeys(zip(df["factor"], df["value"])))
    return [k for k in known if k in have] + [k for k in have if k not in known]


def study_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (factor, value): each arch's validation score (mean over seeds), the two multi-frame margins
    over single-frame, the neighbour gains, and seconds per step. Rows whose three archs are not all done show
    what is done."""
    if df.empty:
        return pd.DataFrame()
    metric = df["metric"].iloc[0]
    if "val_h264" not in df:
        df = df.assign(val_h264=float("nan"))
    g = df.groupby(["factor", "value", "arch"]).agg(val=("val", "mean"), gain=("neighbour_gain", "mean"),
                                                     sec=("seconds_per_step", "median"), seeds=("seed", "nunique"),
                                                     h264=("val_h264", "mean"))
    with_h264 = df["val_h264"].notna().any()
    rows = []
    for factor, value in _factor_order(df):
        r = {"factor": factor, "value": value}
        for arch in ("single_frame",) + MULTI:
            if (factor, value, arch) in g.index:
                x = g.loc[(factor, value, arch)]
                r[f"{ARCH_LABELS[arch]} {metric}"] = x["val"]
                if with_h264:  # the other codec (compressed video): never trained on
                    r[f"{ARCH_LABELS[arch]} {metric} on H.264"] = x["h264"]
                r[f"{ARCH_LABELS[arch]} s/step"] = x["sec"]
                if arch in MULTI:
                    r[f"{ARCH_LABELS[arch]} neighbour gain"] = x["gain"]
        for arch in MULTI:
            a, s = r.get(f"{ARCH_LABELS[arch]} {metric}"), r.get(f"single-frame {metric}")
            r[f"{ARCH_LABELS[arch]} - single-frame"] = a - s if a is not None and s is not None else None
        r["seeds"] = int(g.xs((factor, value), level=(0, 1))["seeds"].max())
        rows.append(r)
    return pd.DataFrame(rows).set_index(["factor", "value"])


def adopted_table(studies: dict) -> pd.DataFrame:
    """What the cpu recipe adopted (`s2svr.experiments.study.ADOPTED`), with the validation evidence it was chosen
    on: per task and adopted factor, each arch's validation score under the starting recipe and with the factor,
    and the change. `studies`: {task: :func:`load_study` frame}."""
    from ..experiments.study import ADOPTED
    rows = []
    for task, factors in ADOPTED.items():
        df = studies.get(task)
        if not factors:
            rows.append({"task": task, "adopted": "nothing: the starting recipe"})
            continue
        for factor, value in factors:
            r = {"task": task, "adopted": f"{factor} = {value}"}
            for arch, label in ARCH_LABELS.items():
                if df is None or df.empty:
                    continue
                pick = lambda f, v: df[(df["factor"] == f) & (df["value"] == str(v)) & (df["arch"] == arch)]["val"]
                base, new = pick("base", "cpu recipe"), pick(factor, value)
                if len(base) and len(new):
                    r[f"{label}: start"], r[f"{label}: with it"] = base.mean(), new.mean()
                    r[f"{label}: change"] = new.mean() - base.mean()
            rows.append(r)
    return pd.DataFrame(rows).set_index(["task", "adopted"])


def shipped_seeds_table(profile: str = "cpu") -> pd.DataFrame:
    """The adopted recipe over its training seeds, on the validation clips, from the shipped weights' manifest
    (each restorer's `validation`, recorded at export): per task and arch, the validation score of each seed, their
    mean and standard deviation, S2SVR's margin over the single-frame network per seed, and the mean neighbour
    gain. Empty when the manifest has no validation records."""
    from ..reference import manifest
    from .verdicts import _sd
    entries = {n: e for n, e in manifest().items() if e.get("profile") == profile and e.get("kind") == "restore"
               and e.get("validation")}
    rows = []
    for task in ("sr", "deblur", "vqe"):
        per_arch = {}
        for arch, label in ARCH_LABELS.items():
            names = sorted((n for n in entries if n == f"{task}/{arch}" or n.startswith(f"{task}/{arch}/seed")),
                           key=lambda n: int(n.rpartition("seed")[2]) if "/seed" in n else 0)
            if not names:
                continue
            metric = "delta_psnr" if "delta_psnr" in entries[names[0]]["validation"]["mean"] else "psnr"
            vals = [float(entries[n]["validation"]["mean"][metric]) for n in names]
            gains = [entries[n]["validation"].get("neighbour_gain") for n in names]
            per_arch[arch] = vals
            rows.append({"task": task, "method": label, "metric": metric, "seeds": len(vals),
                         "validation, per seed": ", ".join(f"{v:.3f}" for v in vals), "mean": sum(vals) / len(vals),
                         "sd over seeds": _sd(vals) if len(vals) > 1 else float("nan"),
                         "neighbour gain (mean)": (sum(g for g in gains if g is not None) / len(gains)
                                                   if arch in MULTI and all(g is not None for g in gains)
                                                   else float("nan"))})
        single = per_arch.get("single_frame")
        for r in rows:
            if r["task"] == task and single and r["method"] != ARCH_LABELS["single_frame"]:
                arch = next(a for a, l in ARCH_LABELS.items() if l == r["method"])
                n = min(len(single), len(per_arch[arch]))
                d = [a - b for a, b in zip(per_arch[arch][:n], single[:n])]
                r["minus single-frame (mean)"], r["minus single-frame (sd)"] = sum(d) / n, _sd(d) if n > 1 else float("nan")
    return pd.DataFrame(rows).set_index(["task", "method"]) if rows else pd.DataFrame()


def pending_table(task: str, df: pd.DataFrame) -> pd.DataFrame:
    """The study's runs of `task` that have not been trained, with what they would cost: each one's FLOPs per
    training step (counted, `s2svr.train.step_cost.restorer_flops`) and its core-hours, estimated at the GFLOP/s
    that the same arch's finished runs reached (median of its rows). Empty when every run is done."""
    from ..experiments.study import study_jobs
    from ..train.step_cost import restorer_flops
    done = set(zip(df["factor"], df["value"].astype(str), df["arch"])) if not df.empty else set()
    rate = df.groupby("arch")["gflop_per_s"].median() if not df.empty else pd.Series(dtype=float)
    rows = []
    for factor, value, job in study_jobs(task):
        if (factor, str(value), job.arch) in done:
            continue
        cfg = job.cfg()
        flops = restorer_flops(cfg)
        gflop = (flops["restorer"] + (flops["flow"] if flops["frozen_steps"] < cfg.train.iters else 0)) / 1e9
        r = rate.get(job.arch, float("nan"))
        rows.append({"factor": factor, "value": str(value), "arch": ARCH_LABELS[job.arch], "steps": cfg.train.iters,
                     "GFLOP per step": gflop, "core-hours (estimated)": gflop / r * cfg.train.iters / 3600})
    return pd.DataFrame(rows)


def study_figure(df: pd.DataFrame, title: str = ""):
    """Four panels over the factors: the multi-frame margins over single-frame, the neighbour gains, seconds per
    step and GFLOP/s of each arch."""
    import matplotlib.pyplot as plt
    import numpy as np
    keys = _factor_order(df)
    labels = [f"{f}\n{v}" for f, v in keys]
    x = np.arange(len(keys))
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    table = study_table(df)
    metric = df["metric"].iloc[0] if not df.empty else "psnr"
    for k, arch in enumerate(MULTI):
        col = f"{ARCH_LABELS[arch]} - single-frame"
        vals = [table[col].get(key) if col in table else None for key in keys]
        axes[0].bar(x + (k - 0.5) * 0.35, [np.nan if v is None else v for v in vals], 0.35, label=ARCH_LABELS[arch])
        col = f"{ARCH_LABELS[arch]} neighbour gain"
        vals = [table[col].get(key) if col in table else None for key in keys]
        axes[1].bar(x + (k - 0.5) * 0.35, [np.nan if v is None else v for v in vals], 0.35, label=ARCH_LABELS[arch])
    for k, arch in enumerate(("single_frame",) + MULTI):
        sub = df[df["arch"] == arch].groupby(["factor", "value"])
        sec, gfs = sub["seconds_per_step"].median(), sub["gflop_per_s"].median()
        axes[2].bar(x + (k - 1) * 0.27, [sec.get(key, np.nan) for key in keys], 0.27, label=ARCH_LABELS[arch])
        axes[3].bar(x + (k - 1) * 0.27, [gfs.get(key, np.nan) for key in keys], 0.27, label=ARCH_LABELS[arch])
    names = [f"margin over single-frame ({metric}, dB)", "neighbour gain (dB)", "seconds per training step",
             "GFLOP/s of the training step"]
    for ax, name in zip(axes, names):
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.axhline(0, color="k", lw=0.5)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def load_curves(task: str) -> pd.DataFrame:
    """The shipped validation curves of the study's long runs of `task` (empty when none)."""
    from ..experiments.study import CURVE_COLUMNS, curves_csv
    path = curves_csv(task)
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=list(CURVE_COLUMNS))


def _validation_label(metric: str) -> str:
    return f"validation {'Delta PSNR' if metric == 'delta_psnr' else 'PSNR'} (dB)"


def curves_figure(curves: dict, title: str = ""):
    """One panel per (task, long factor): each arch's validation score against training steps. `curves`: {task:
    frame of :func:`load_curves`}."""
    import matplotlib.pyplot as plt
    panels = [(task, f, v, df[(df["factor"] == f) & (df["value"].astype(str) == v)])
              for task, df in curves.items() if not df.empty
              for f, v in dict.fromkeys(zip(df["factor"], df["value"].astype(str)))]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.4), squeeze=False)
    for ax, (task, factor, value, sub) in zip(axes[0], panels):
        for arch, label in ARCH_LABELS.items():
            a = sub[sub["arch"] == arch].groupby("step")["val"].mean()
            if not a.empty:
                ax.plot(a.index, a.values, "o-", ms=3, label=label)
        metric = sub["metric"].iloc[0]
        ax.set(xlabel="training step", ylabel=_validation_label(metric),
               title=f"{task}: {factor} = {value}")
        if metric == "delta_psnr":
            ax.axhline(0, color="k", lw=0.5)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def seeded_settings(df: pd.DataFrame) -> pd.DataFrame:
    """The settings (factor = value) trained with several seeds: each network's validation score per seed, their
    mean and standard deviation, the spread that a table of means hides. Empty when no setting has two seeds."""
    cols = ["network", "factor", "value"]
    if df.empty:
        return pd.DataFrame(columns=cols).set_index(cols)
    seeded = df.groupby(["factor", "value"])["seed"].transform("nunique") > 1
    sub = df[seeded].assign(network=lambda d: d["arch"].map(ARCH_LABELS))
    if sub.empty:
        return pd.DataFrame(columns=cols).set_index(cols)
    t = sub.pivot_table(index=cols, columns="seed", values="val", aggfunc="first")
    t.columns = [f"seed {c}" for c in t.columns]
    seeds = t.filter(like="seed ")
    t["mean"], t["sd"] = seeds.mean(axis=1), seeds.std(axis=1, ddof=1)
    return t


def settling_table(df: pd.DataFrame, factors) -> pd.DataFrame:
    """Per network and setting of `factors` (curves of :func:`load_curves`, the mean over a setting's seeds): the
    validation score's peak, the step of the peak, the last score and how far it ended below its peak."""
    rows = []
    for (arch, factor, value), g in df[df["factor"].isin(factors)].groupby(["arch", "factor", "value"], sort=False):
        a = g.groupby("step")["val"].mean()
        rows.append({"network": ARCH_LABELS.get(arch, arch), "factor": factor, "value": value,
                     "seeds": g["seed"].nunique(), "peak": a.max(), "peak step": int(a.idxmax()),
                     "last": a.iloc[-1], "last step": int(a.index[-1]), "peak - last": a.max() - a.iloc[-1]})
    cols = ["network", "factor", "value", "seeds", "peak", "peak step", "last", "last step", "peak - last"]
    return pd.DataFrame(rows, columns=cols).set_index(["network", "factor", "value"])


def settling_figure(df: pd.DataFrame, factors, title: str = ""):
    """One panel per network: its validation curve under each setting (factor = value) of `factors`, the mean over
    the seeds a setting has; None when `df` (:func:`load_curves`) has none of them."""
    import matplotlib.pyplot as plt
    df = df[df["factor"].isin(factors)]
    if df.empty:
        return None
    archs = [a for a in ARCH_LABELS if a in set(df["arch"])]
    settings = [s for s in dict.fromkeys(zip(df["factor"], df["value"])) if s[0] != "base"]
    colour = {s: f"C{i % 10}" for i, s in enumerate(settings)}  # one colour per setting in every panel
    fig, axes = plt.subplots(1, len(archs), figsize=(4.6 * len(archs), 3.4), squeeze=False, sharey=True)
    for ax, arch in zip(axes[0], archs):
        for (factor, value), g in df[df["arch"] == arch].groupby(["factor", "value"], sort=False):
            a = g.groupby("step")["val"].mean()
            ax.plot(a.index, a.values, "o-", ms=3, lw=2.2 if factor == "base" else 1.2,
                    color=colour.get((factor, value), "k"), label=f"{factor} = {value}")
        ax.set(xlabel="training step", title=ARCH_LABELS[arch])
        ax.legend(fontsize=7)
    metric = df["metric"].iloc[0]
    axes[0][0].set_ylabel(_validation_label(metric))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def load_use(task: str = "sr") -> pd.DataFrame:
    """The shipped cost-in-use rows of `task` (`python -m s2svr.experiments.study use`); empty when there are none."""
    from ..experiments.study import use_csv
    path = use_csv(task)
    return pd.read_csv(path) if path.is_file() and path.stat().st_size > 10 else pd.DataFrame()


def use_figure(df: pd.DataFrame, title: str = ""):
    """Validation score and time per frame (as a multiple of the single-frame network's) against the flow net's
    zoom in use, one line per trained model (arch and training zoom)."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for (arch, train_zoom), g in df.groupby(["arch", "train_zoom"]):
        g = g.sort_values("use_zoom")
        label = f"{ARCH_LABELS.get(arch, arch)}, trained at zoom {train_zoom:g}"
        axes[0].plot(g["use_zoom"], g["val"], "o-", label=label)
        axes[1].plot(g["use_zoom"], g["ratio"], "o-", label=label)
    axes[0].set(xlabel="flow zoom in use", ylabel=f"validation {df['metric'].iloc[0]} (dB)", xscale="log", xticks=[1, 2, 4, 8])
    axes[1].set(xlabel="flow zoom in use", ylabel="time per frame / single-frame's", xscale="log", yscale="log",
                xticks=[1, 2, 4, 8])
    axes[1].axhline(4, color="k", ls="--", lw=0.8, label="4 x single-frame")
    for ax in axes:
        ax.set_xticklabels(["1", "2", "4", "8"])
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def load_alignment() -> pd.DataFrame:
    """The alignment oracle's shipped rows (`python -m s2svr.experiments.alignment`), with each run's margin over
    the single-frame run; empty when none is shipped."""
    from ..experiments.alignment import csv_path
    path = csv_path()
    if not path.is_file() or path.stat().st_size < 10:
        return pd.DataFrame()
    df = pd.read_csv(path)
    single = df.loc[df["arch"] == "single_frame", "val"]
    df["margin"] = df["val"] - single.iloc[0] if len(single) else float("nan")
    return df


def alignment_figure(df: pd.DataFrame, title: str = ""):
    """Neighbour gain and margin over single-frame against the flow's end-point error on the validation clips:
    the true flow plus an error of growing size (a line per network), the SR student's flow as a marked point,
    and zero flow's error (the camera's mean motion) as a vertical line."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for arch, marker in (("basicvsr", "o"), ("s2svr", "s")):
        sub = df[df["arch"] == arch]
        truth = sub[sub["flow"] == "truth"].sort_values("epe")
        student = sub[sub["flow"] == "student"]
        for ax, col in zip(axes, ("neighbour_gain", "margin")):
            if len(truth):
                ax.plot(truth["epe"], truth[col], marker + "-", label=f"{ARCH_LABELS[arch]}, true flow + error")
            if len(student):
                ax.plot(student["epe"], student[col], marker, ms=11, mfc="none", mew=2,
                        label=f"{ARCH_LABELS[arch]}, the SR student's flow")
    zero = df["epe_zero"].dropna()
    for ax, name in zip(axes, ("neighbour gain (dB)", "margin over single-frame (dB)")):
        if len(zero):
            ax.axvline(zero.iloc[0], color="grey", ls="--", lw=0.8, label="error of zero flow (the motion)")
        ax.axhline(0, color="k", lw=0.5)
        ax.set(xlabel="flow end-point error on the validation clips (LQ px)", ylabel=name)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def alignment_summary(df: pd.DataFrame, real: pd.DataFrame | None = None) -> str:
    """What the alignment oracle says, in words computed from its rows (Markdown; empty when there are none).
    `real`: the SR study's rows (`load_study('sr')`), to set the student's gain on camera paths beside its gain on
    the real validation clips in the study's `base` recipe."""
    if df.empty:
        return ""
    def row(arch, flow, sigma=None):
        r = df[(df["arch"] == arch) & (df["flow"] == flow)]
        if sigma is not None:
            r = r[r["sigma"].astype(float) == sigma]
        return r.iloc[0] if len(r) else None
    out = []
    for arch in ("basicvsr", "s2svr"):
        t, s = row(arch, "truth", 0.0), row(arch, "student")
        name = {"basicvsr": "The BasicVSR-style network", "s2svr": "S2SVR"}[arch]
        if t is not None:
            out.append(f"{name} with the **true flow** gains {t['neighbour_gain']:+.3f} dB from its neighbours and "
                       f"ends {t['margin']:+.3f} dB from the single-frame network.")
        if s is not None:
            out.append(f"With the **student's flow** (end-point error {s['epe']:.3f} px, against {s['epe_zero']:.3f} px "
                       f"for zero flow) it gains {s['neighbour_gain']:+.3f} dB and ends {s['margin']:+.3f} dB from the "
                       "single-frame network.")
    noisy = df[(df["arch"] == "basicvsr") & (df["flow"] == "truth")].sort_values("epe")
    if len(noisy) > 1:
        out.append("Along the error curve the BasicVSR-style network's neighbour gain goes "
                   + ", ".join(f"{g:+.3f} dB at {e:.2f} px" for e, g in zip(noisy["epe"], noisy["neighbour_gain"]))
                   + ".")
    if real is not None and not real.empty:
        base = real[(real["factor"] == "base") & (real["arch"] == "basicvsr")]
        if len(base):
            out.append(f"On the real validation clips, the same network with the same student's flow gains "
                       f"{base['neighbour_gain'].mean():+.3f} dB (the study's `base` row).")
    t = row("basicvsr", "truth", 0.0)
    if t is not None and "neighbour_gain_real" in df and pd.notna(t.get("neighbour_gain_real")):
        out.append(f"Judged on those real clips with the student's flow, the network trained on camera paths with the "
                   f"true flow gains {t['neighbour_gain_real']:+.3f} dB from its neighbours (it learned to use them, "
                   f"{t['neighbour_gain']:+.3f} dB on its own validation photograph), and scores "
                   f"{t['val_real']:.3f} dB: what a network that does use its neighbours finds to add in real clips.")
    return " ".join(out)


def detail_above_nyquist(frames, scale: int = 4, every: int = 4) -> float:
    """The fraction of a clip's luma energy (mean removed, Hann-windowed) at frequencies above the LQ Nyquist,
    1 / (2 `scale`) cycles per GT pixel in x or y, averaged over every `every`-th frame of `frames` (uint8
    `(T, H, W, 3)` GT). This is the detail a x`scale` SR network must recover. The LQ frames hold it only as
    aliasing, which neighbours at sub-pixel offsets can disentangle: a clip with little of it gives them little
    to add."""
    import numpy as np
    from ..metrics import BT601_Y
    y = np.asarray(frames, dtype=np.float64) @ (np.array(BT601_Y) / sum(BT601_Y))  # BT.601 luma, full range
    out = []
    for f in y[::every]:
        h, w = f.shape
        spec = np.abs(np.fft.fft2((f - f.mean()) * np.outer(np.hanning(h), np.hanning(w)))) ** 2
        high = np.maximum(np.abs(np.fft.fftfreq(h))[:, None], np.abs(np.fft.fftfreq(w))[None]) > 1 / (2 * scale)
        out.append(spec[high].sum() / max(spec.sum(), 1e-12))
    return float(np.mean(out))


def detail_table(data_root: str = "data/embedded", frames: int = 20) -> pd.DataFrame:
    """`detail_above_nyquist` of the embedded SR clips (training, the study's validation clips, test) and of the
    alignment oracle's camera-path clips (training photographs, validation photograph), first `frames` frames."""
    from ..data.registry import get_sequences
    from ..experiments.alignment import _clips
    from ..experiments.study import VAL_CLIPS
    rows = []
    for split in ("train", "test"):
        for s in get_sequences("embedded", data_root, "sr", split):
            clip = s.name.rsplit("/", 1)[-1]
            group = "test" if split == "test" else "validation" if clip in VAL_CLIPS["sr"] else "training"
            rows.append({"clips": f"real video, {group}", "clip": clip,
                         "detail": detail_above_nyquist(s.gt.read(list(range(min(len(s), frames))), "rgb"))})
    for split, group in (("train", "training photographs"), ("val", "validation photograph")):
        for s in _clips(split)[0]:
            rows.append({"clips": f"camera paths, {group}", "clip": s.name.rsplit("/", 1)[-1],
                         "detail": detail_above_nyquist(s.gt.read(list(range(min(len(s), frames))), "rgb"))})
    return pd.DataFrame(rows)
