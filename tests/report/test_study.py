"""`s2svr.report.study`: the study table's margins and gains come from the CSV's rows, per factor."""
import csv
import json

import pandas as pd
import pytest

from s2svr.experiments import study as study_mod
from s2svr.report import study


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    path = tmp_path / "sr.csv"
    monkeypatch.setattr(study_mod, "study_csv", lambda task: path)
    vals = {("base", "single_frame"): 27.0, ("base", "basicvsr"): 27.1, ("base", "s2svr"): 26.9,
            ("head_init", "single_frame"): 27.2, ("head_init", "basicvsr"): 27.6, ("head_init", "s2svr"): 27.5}
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=study_mod.COLUMNS)
        w.writeheader()
        for (factor, arch), v in vals.items():
            for seed, dv in ((0, 0.0), (1, 0.1)):
                w.writerow({"task": "sr", "factor": factor, "value": "identity" if factor == "head_init" else "cpu recipe",
                            "arch": arch, "seed": seed, "steps": 2000, "metric": "psnr", "val": v + dv,
                            "neighbour_gain": 0.0 if arch == "single_frame" else 0.2 + dv, "seconds_per_step": 0.5,
                            "gflop_per_step": 10.0, "key": f"{factor}{arch}{seed}"})
    return path


def test_margins_are_over_single_frame_per_factor_and_mean_over_seeds(shipped):
    df = study.load_study("sr")
    t = study.study_table(df)
    assert list(t.index) == [("base", "cpu recipe"), ("head_init", "identity")]
    assert t.loc[("base", "cpu recipe"), "S2SVR - single-frame"] == pytest.approx(-0.1)
    assert t.loc[("head_init", "identity"), "BasicVSR-style - single-frame"] == pytest.approx(0.4)
    assert t.loc[("head_init", "identity"), "S2SVR neighbour gain"] == pytest.approx(0.25)
    assert t.loc[("base", "cpu recipe"), "seeds"] == 2
    assert df["gflop_per_s"].iloc[0] == pytest.approx(20.0)
    study.study_figure(df, "test")


def test_no_csv_gives_an_empty_table(tmp_path, monkeypatch):
    monkeypatch.setattr(study_mod, "study_csv", lambda task: tmp_path / "none.csv")
    df = study.load_study("vqe")
    assert df.empty and study.study_table(df).empty


def test_the_cost_in_use_table_and_figure(tmp_path, monkeypatch):
    path = tmp_path / "sr_use.csv"
    monkeypatch.setattr(study_mod, "use_csv", lambda task: path)
    rows = ["task,factor,value,arch,train_zoom,use_zoom,metric,val,seconds_per_frame,single_frame_seconds,ratio,size,key"]
    rows += [f"sr,base,cpu recipe,s2svr,8,{z},psnr,{26 + z / 10},{z * 0.5},0.2,{z * 2.5},176x144,k" for z in (8, 4, 2, 1)]
    path.write_text("\n".join(rows) + "\n")
    df = study.load_use("sr")
    assert list(df["use_zoom"]) == [8, 4, 2, 1] and df["ratio"].iloc[-1] == 2.5
    study.use_figure(df, "test")
    path.write_text("")
    assert study.load_use("sr").empty


def test_factor_selection_keeps_its_order_and_refuses_unknown_factors():
    order = study_mod.parse_factors(["sr:lq_zoom=4", "vqe:base"])
    jobs = study_mod.ordered_jobs(order=order)
    assert [(j.config.split("_")[0], j.arch) for j in jobs] == [
        ("sr", "single_frame"), ("sr", "basicvsr"), ("sr", "s2svr"),
        ("vqe", "single_frame"), ("vqe", "basicvsr"), ("vqe", "s2svr")]
    assert json.loads(jobs[2].overrides)["flow"]["lq_zoom"] == 4
    for bad in ("sr:nothing", "sr:lq_zoom=3", "xx:base"):
        with pytest.raises(SystemExit, match=bad):
            study_mod.parse_factors([bad])


def test_the_plan_trains_the_study_start_plus_the_adopted_factors():
    """The cpu configs and the plan adopted ADOPTED, no more and no less: each headline job's identity is the
    study's starting recipe plus those factors (its outputs kept, the only difference), and each study run of the
    starting recipe differs from the plan's job (what the study measured is not what ships, unless adopted)."""
    import dataclasses
    from s2svr.experiments import plan
    from s2svr.experiments.jobs import key
    jobs = plan.jobs("cpu")
    for task in study_mod.FACTORS:
        adopted = study_mod.adopted_jobs(task)
        for arch, job in adopted.items():
            assert key(job) == key(dataclasses.replace(jobs[f"{task}/{arch}"], save_outputs=False)), (task, arch)
        base = {j.arch: j for f, _, j in study_mod.study_jobs(task, ["base"])}
        changed = [a for a in adopted if key(base[a]) != key(adopted[a])]
        assert changed == ([] if not study_mod.ADOPTED[task] else list(adopted)), (task, changed)


def test_the_adopted_table_shows_the_validation_evidence():
    studies = {task: study.load_study(task) for task in study_mod.FACTORS}
    t = study.adopted_table(studies)
    assert len(t) == sum(max(1, len(f)) for f in study_mod.ADOPTED.values())
    row = t.loc[("sr", "head_init = identity")]
    assert row["S2SVR: change"] == pytest.approx(row["S2SVR: with it"] - row["S2SVR: start"])
    sr = studies["sr"]
    assert row["single-frame: start"] == pytest.approx(
        sr[(sr.factor == "base") & (sr.arch == "single_frame")]["val"].mean())


def test_the_shipped_seeds_table_reads_the_validation_of_every_seed(monkeypatch):
    import s2svr.reference as reference

    def entry(arch, v, gain=0.0):
        return {"profile": "cpu", "kind": "restore", "arch": arch,
                "validation": {"mean": {"psnr": v}, "neighbour_gain": gain}}
    fake = {"sr/single_frame": entry("single_frame", 26.0), "sr/single_frame/seed1": entry("single_frame", 26.2),
            "sr/s2svr": entry("s2svr", 26.1, 0.1), "sr/s2svr/seed1": entry("s2svr", 26.5, 0.3),
            "flow/teacher": {"profile": "cpu", "kind": "flow"}}
    monkeypatch.setattr(reference, "manifest", lambda: fake)
    t = study.shipped_seeds_table()
    assert list(t.index) == [("sr", "single-frame"), ("sr", "S2SVR")]
    s2 = t.loc[("sr", "S2SVR")]
    assert s2["seeds"] == 2 and s2["mean"] == pytest.approx(26.3) and s2["neighbour gain (mean)"] == pytest.approx(0.2)
    assert s2["minus single-frame (mean)"] == pytest.approx(0.2) and s2["minus single-frame (sd)"] == pytest.approx(
        (0.1 - 0.3) / -(2 ** 0.5))
    assert t.loc[("sr", "single-frame"), "validation, per seed"] == "26.000, 26.200"


def test_collect_keeps_each_factors_row_of_a_run_that_serves_several(tmp_path, monkeypatch):
    """The single-frame network has no flow net, so its runs of `base` and `lq_zoom` are one run (one key). With
    the run not on this machine, collect keeps both shipped rows, each under its own factor."""
    from s2svr.experiments.jobs import key
    path = tmp_path / "sr.csv"
    monkeypatch.setattr(study_mod, "study_csv", lambda task: path)
    single = {(f, str(v)): j for f, v, j in study_mod.study_jobs("sr", ["base", "lq_zoom"]) if j.arch == "single_frame"}
    assert len({key(j) for j in single.values()}) == 1 and len(single) == 3
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=study_mod.COLUMNS)
        w.writeheader()
        for i, ((factor, value), job) in enumerate(single.items()):
            w.writerow({**{c: "" for c in study_mod.COLUMNS}, "task": "sr", "factor": factor, "value": value,
                        "arch": "single_frame", "val": str(26 + i), "key": key(job)})
    study_mod.collect("sr", tmp_path / "outputs")     # nothing finished there
    with open(path, newline="") as f:
        kept = [(r["factor"], r["value"], r["val"]) for r in csv.DictReader(f)]
    # S2SVR's own factor `carry` does not change the single-frame run either: its row is base's, under `carry`
    assert sorted(kept) == sorted([(f, v, str(26 + i)) for i, (f, v) in enumerate(single)] + [("carry", "block", "26"), ("carry", "gru", "26")])


def test_pending_lists_the_runs_without_a_row_and_prices_them():
    rows = [{"factor": f, "value": str(v), "arch": j.arch, "gflop_per_s": 20.0}
            for f, v, j in study_mod.study_jobs("deblur")]
    df = pd.DataFrame(rows)
    assert study.pending_table("deblur", df).empty
    missing = df[~((df["factor"] == "head_init") & (df["arch"] == "s2svr"))]
    p = study.pending_table("deblur", missing)
    assert list(zip(p["factor"], p["arch"])) == [("head_init", "S2SVR")]
    gflop = p["GFLOP per step"].iloc[0]
    assert 1 < gflop < 100  # the cpu S2SVR deblurring step: about 15 GFLOP
    assert p["core-hours (estimated)"].iloc[0] == pytest.approx(gflop / 20.0 * p["steps"].iloc[0] / 3600)


def test_curves_keep_shipped_runs_absent_here_and_draw(tmp_path, monkeypatch):
    monkeypatch.setattr(study_mod, "study_csv", lambda task: tmp_path / f"{task}.csv")
    (factor, value, job), = [(f, v, j) for f, v, j in study_mod.study_jobs("vqe", ["l2_iters"]) if j.arch == "s2svr"]
    path = study_mod.curves_csv("vqe")
    rows = [{"task": "vqe", "factor": factor, "value": str(value), "arch": "s2svr", "seed": 0, "step": s,
             "metric": "delta_psnr", "val": v, "key": k}
            for k in (study_mod.key(job), "notastudyrun") for s, v in ((250, -0.1), (500, 0.05))]
    study_mod.write_table(path, study_mod.CURVE_COLUMNS, rows)
    assert study_mod.collect_curves("vqe", tmp_path / "empty") == path  # no run on this machine
    kept = study.load_curves("vqe")
    assert list(kept["step"]) == [250, 500] and set(kept["key"]) == {study_mod.key(job)}
    assert study.curves_figure({"vqe": kept}, "test") is not None
    assert study.curves_figure({"vqe": kept.iloc[:0]}) is None
    monkeypatch.setitem(study_mod.FACTORS, "sr", [study_mod.BASE])
    assert study_mod.collect_curves("sr", tmp_path / "empty") is None  # no long factor in its design
    assert study.settling_figure(kept, ("base",)) is None  # none of these settings
    base = kept.assign(factor="base", value="cpu recipe")
    assert study.settling_figure(pd.concat([kept, base]), ("base", "l2_iters")) is not None
    falls = base.assign(val=[0.3, 0.1])  # peaks at step 250, ends 0.2 below
    t = study.settling_table(falls, ("base",))
    assert t.loc[("S2SVR", "base", "cpu recipe"), "peak step"] == 250
    assert t.loc[("S2SVR", "base", "cpu recipe"), "peak - last"] == pytest.approx(0.2)


def test_collect_keeps_the_shipped_rows_of_every_seed(tmp_path, monkeypatch):
    """A plain `collect` (no seeds given) keeps the rows of seeds other than 0 that the shipped table has."""
    from s2svr.experiments.jobs import key
    path = tmp_path / "deblur.csv"
    monkeypatch.setattr(study_mod, "study_csv", lambda task: path)
    jobs = {seed: j for seed in (0, 1) for f, _, j in study_mod.study_jobs("deblur", ["base"], seed=seed)
            if j.arch == "single_frame"}
    assert key(jobs[0]) != key(jobs[1])
    study_mod.write_table(path, study_mod.COLUMNS, [
        {"task": "deblur", "factor": "base", "value": "cpu recipe", "arch": "single_frame", "seed": seed,
         "val": 30 + seed, "key": key(j)} for seed, j in jobs.items()])
    study_mod.collect("deblur", tmp_path / "outputs")     # nothing finished there
    with open(path, newline="") as f:
        assert sorted((r["seed"], r["val"]) for r in csv.DictReader(f) if r["factor"] == "base") == [("0", "30"),
                                                                                                   ("1", "31")]


def test_seeded_settings_give_each_seed_and_the_spread():
    rows = [{"factor": "iters", "value": "6000", "arch": "s2svr", "seed": s, "val": v}
            for s, v in ((0, 31.0), (1, 29.0), (2, 30.0))]
    rows += [{"factor": "base", "value": "cpu recipe", "arch": "s2svr", "seed": 0, "val": 30.5}]  # one seed: left out
    t = study.seeded_settings(pd.DataFrame(rows))
    assert list(t.index) == [("S2SVR", "iters", "6000")]
    assert list(t.iloc[0][["seed 0", "seed 1", "seed 2", "mean", "sd"]]) == pytest.approx([31, 29, 30, 30, 1])
    assert study.seeded_settings(pd.DataFrame(rows[-1:])).empty and study.seeded_settings(pd.DataFrame()).empty


def test_every_shipped_row_is_the_run_of_its_setting():
    """Each row of the shipped study tables and curves names the run of its own (factor, value, arch, seed): a row
    written by a `collect` whose recipe had changed under it (a driver that imported the study before a config
    adopted a factor) would name another setting's run."""
    from s2svr.experiments.jobs import key
    for task in study_mod.FACTORS:
        for path in (study_mod.study_csv(task), study_mod.curves_csv(task)):
            if not path.is_file():
                continue
            rows = pd.read_csv(path, dtype={"value": str, "key": str})
            for (factor, value, arch, seed), g in rows.groupby(["factor", "value", "arch", "seed"]):
                (job,) = [j for f, v, j in study_mod.study_jobs(task, [factor], seed=int(seed))
                          if str(v) == value and j.arch == arch]
                assert set(g["key"]) == {key(job)}, (path.name, factor, value, arch, seed)
