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
