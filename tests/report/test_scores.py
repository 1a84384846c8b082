"""s2svr.report.scores on fake plan results (no training, no dataset)."""
import pytest

from s2svr.report.run_setup import budget_differences
from s2svr.report.scores import format_score, measured_table, metric_names, per_sequence_table, task_verdict

from fake_results import _fake_results


def test_tables_and_verdict(tmp_path):
    res, gt = _fake_results(tmp_path, {"identity": 20, "single_frame": 4, "basicvsr": 8, "s2svr": 6})
    assert budget_differences(res) == {"model.arch"}
    table = measured_table(res, "sr", paper_params={"s2svr": 123})
    assert list(table.index) == ["bicubic", "single-frame", "BasicVSR-style", "S2SVR"]
    assert table.loc["S2SVR", "params w/o flow"] == 5 and table.loc["S2SVR", "params (paper profile)"] == 123
    per = per_sequence_table(res, "sr")
    assert list(per.index) == ["clip_a", "clip_b", "mean"]
    v = task_verdict(res, "sr")
    # S2SVR (offset 6) is worse than single-frame (4) and better than BasicVSR (8) and bicubic (20)
    assert v["gain"]["single_frame"] < 0 < v["gain"]["basicvsr"] < v["gain"]["identity"]
    assert v["wins"]["basicvsr"] == (2, 2) and v["wins"]["single_frame"] == (0, 2)
    assert not v["beats_all"] and "Not reproduced" in v["text"] and "single-frame" in v["text"]
    assert v["paired"]["single_frame"]["outcome"] == "fails" and v["outcome"] == "fails"
    assert "not even above" not in v["text"]  # S2SVR is above bicubic here
    (tmp_path / "b").mkdir()
    res2, _ = _fake_results(tmp_path / "b", {"identity": 20, "single_frame": 8, "basicvsr": 7, "s2svr": 2})
    assert task_verdict(res2, "sr")["beats_all"]
    (tmp_path / "c").mkdir()
    res3, _ = _fake_results(tmp_path / "c", {"identity": 1, "single_frame": 8, "basicvsr": 7, "s2svr": 2})
    v3 = task_verdict(res3, "sr")
    assert v3["beats_all"] and v3["gain"]["identity"] < 0 and "not even above the bicubic" in v3["text"]


def test_delta_formatting():
    r = {"convention": {"kind": "delta", "test_y": True, "crop_border": 0}}
    assert format_score(r, {"delta_psnr": 0.1234, "delta_ssim": 0.00456}) == "0.123 / 45.6"
    assert metric_names(r)[1] == "ΔSSIM (×1e-4)"
    assert format_score(r, {"delta_psnr": -0.0004, "delta_ssim": -0.000004}) == "0.000 / 0.0"


def _seeded(res, arch, shifts):
    """Copies of `res['sr/<arch>']` as its runs with seeds 1, 2, ...: every clip's PSNR moved by `shifts[k]`."""
    import copy
    for k, shift in enumerate(shifts, start=1):
        r = copy.deepcopy(res[f"sr/{arch}"])
        for v in r["per_sequence"].values():
            v["psnr"] += shift
        r["mean"]["psnr"] += shift
        r["spec"]["resolved"]["config"]["seed"] = k
        res[f"sr/{arch}/seed{k}"] = r


def test_seeds_widen_the_verdict(tmp_path):
    from s2svr.report.runs import seed_runs
    from s2svr.report.scores import paired_seeds, seed_table
    res, _ = _fake_results(tmp_path, {"identity": 20, "single_frame": 8, "basicvsr": 7, "s2svr": 6})
    one = task_verdict(res, "sr")
    assert one["paired"]["single_frame"]["seeds"] == 1 and one["paired"]["single_frame"]["outcome"] == "holds"
    # seeds that agree keep the verdict; seeds whose S2SVR swings by more than the margin make it inconclusive
    for arch in ("single_frame", "basicvsr"):
        _seeded(res, arch, [0.0, 0.0])
    _seeded(res, "s2svr", [0.01, -0.01])
    assert [r["spec"]["resolved"]["config"]["seed"] for r in seed_runs(res, "sr", "s2svr")] == [0, 1, 2]
    agree = task_verdict(res, "sr")
    assert agree["paired"]["single_frame"]["seeds"] == 3 and agree["paired"]["single_frame"]["outcome"] == "holds"
    margin = agree["paired"]["single_frame"]["diff"]
    _seeded(res, "s2svr", [-3 * margin, 2 * margin])
    swing = task_verdict(res, "sr")
    assert swing["paired"]["single_frame"]["outcome"] == "ties"
    assert swing["paired"]["single_frame"]["seed_spread"] > margin
    # the input, trained never, stands against every seed
    a, b = paired_seeds(seed_runs(res, "sr", "s2svr"), seed_runs(res, "sr", "identity"))
    assert len(a) == len(b) == 3 and b[0] is b[2]
    table = seed_table(res, "sr")
    assert list(table.columns) == ["seed 0", "seed 1", "seed 2", "mean over seeds", "sd over seeds"]
    assert table.loc["bicubic", "seed 1"] != table.loc["bicubic", "seed 1"]  # NaN: the input has one run
    assert table.loc["single-frame", "sd over seeds"] == pytest.approx(0.0)
    assert table.loc["S2SVR", "sd over seeds"] > 0
