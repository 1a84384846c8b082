"""s2svr.book.tables on fake plan results (no training, no dataset)."""
import numpy as np
import pytest

from s2svr import metrics
from s2svr.book import tables
from s2svr.configs import config_to_dict, load_config


def _gt(t=3, h=24, w=32):
    rng = np.random.default_rng(0)
    gt = np.full((t, h, w, 3), 128, np.uint8)
    gt[:, 4:14, 18:28] = rng.integers(0, 256, (t, 10, 10, 3))  # the only textured region
    return gt


def _fake_results(tmp_path, offsets):
    """Plan-like results for task 'sr': each arch's output is GT + a constant offset (larger = worse)."""
    gt = _gt()
    base = config_to_dict(load_config("sr_reds4", "ci"))
    res = {}
    for arch, off in offsets.items():
        out_dir = tmp_path / arch
        out_dir.mkdir()
        restored = np.clip(gt.astype(int) + off, 0, 255).astype(np.uint8)
        np.save(out_dir / "sr_clip_a.npy", restored)
        p = metrics.psnr(restored[0], gt[0])
        cfg = {**base, "model": {**base["model"], "arch": arch}}
        res[f"sr/{arch}"] = {
            "per_sequence": {"sr/clip_a": {"psnr": p, "ssim": 0.9, "frames": 3},
                             "sr/clip_b": {"psnr": p - 1.0, "ssim": 0.8, "frames": 3}},
            "mean": {"psnr": p - 0.5, "ssim": 0.85},
            "convention": {"kind": "psnr", "test_y": False, "crop_border": 0},
            "parameters": {"flow": 10, "head": 5, "total": 15} if arch != "identity" else {"total": 0},
            "steps": 0 if arch == "identity" else 2, "train_seconds": 1.0, "outputs": str(out_dir), "arch": arch,
            "spec": {"resolved": {"config": cfg}},
        }
    return res, gt


def test_tables_and_verdict(tmp_path):
    res, gt = _fake_results(tmp_path, {"identity": 20, "single_frame": 4, "basicvsr": 8, "s2svr": 6})
    assert tables.budget_differences(res) == {"model.arch"}
    table = tables.measured_table(res, "sr", paper_params={"s2svr": 123})
    assert list(table.index) == ["bicubic", "single-frame", "BasicVSR-style", "S2SVR"]
    assert table.loc["S2SVR", "params w/o flow"] == 5 and table.loc["S2SVR", "params (paper profile)"] == 123
    per = tables.per_sequence_table(res, "sr")
    assert list(per.index) == ["clip_a", "clip_b", "mean"]
    v = tables.verdict(res, "sr")
    # S2SVR (offset 6) is worse than single-frame (4) and better than BasicVSR (8) and bicubic (20)
    assert v["gain"]["single_frame"] < 0 < v["gain"]["basicvsr"] < v["gain"]["identity"]
    assert v["wins"]["basicvsr"] == (2, 2) and v["wins"]["single_frame"] == (0, 2)
    assert not v["beats_all"] and "Not reproduced" in v["text"] and "single-frame" in v["text"]
    assert "not even above" not in v["text"]  # S2SVR is above bicubic here
    (tmp_path / "b").mkdir()
    res2, _ = _fake_results(tmp_path / "b", {"identity": 20, "single_frame": 8, "basicvsr": 7, "s2svr": 2})
    assert tables.verdict(res2, "sr")["beats_all"]
    (tmp_path / "c").mkdir()
    res3, _ = _fake_results(tmp_path / "c", {"identity": 1, "single_frame": 8, "basicvsr": 7, "s2svr": 2})
    v3 = tables.verdict(res3, "sr")
    assert v3["beats_all"] and v3["gain"]["identity"] < 0 and "not even above the bicubic" in v3["text"]


def test_per_frame_and_figures(tmp_path):
    res, gt = _fake_results(tmp_path, {"identity": 20, "single_frame": 4, "basicvsr": 8, "s2svr": 6})
    df = tables.per_frame_psnr(res, "sr", "sr/clip_a", gt)
    assert df.shape == (3, 4)
    assert df["single-frame"].iloc[0] == pytest.approx(metrics.psnr(np.clip(gt[0].astype(int) + 4, 0, 255), gt[0]))
    assert (df["single-frame"] > df["bicubic"]).all()
    box = tables.busiest_box(gt[0], 8, stride=1)
    assert 4 <= box[0] <= 6 and 18 <= box[1] <= 20 and box[2:] == (8, 8)  # inside the textured patch
    jpegs = tables.slider_images({"bicubic": tables.restored_frames(res["sr/identity"], "sr/clip_a")}, gt, box,
                                 [0, 2], res["sr/identity"]["convention"], width=4.0)
    assert len(jpegs) == 2 and all(j[:2] == b"\xff\xd8" for j in jpegs)
    fig = tables.comparison_figure((gt[0], "GT"), [(gt[0], "GT"), (gt[0, ..., :1], "Y")], box, show=False)
    assert len(fig.axes) == 3
    assert tables.spaced_frames(5, 12) == [0, 1, 2, 3, 4] and tables.spaced_frames(30, 12)[-1] == 29
    assert len(tables.spaced_frames(30, 12)) == 12


def test_delta_formatting():
    r = {"convention": {"kind": "delta", "test_y": True, "crop_border": 0}}
    assert tables.format_score(r, {"delta_psnr": 0.1234, "delta_ssim": 0.00456}) == "0.123 / 45.6"
    assert tables.metric_names(r)[1] == "ΔSSIM (×1e-4)"
    assert tables.format_score(r, {"delta_psnr": -0.0004, "delta_ssim": -0.000004}) == "0.000 / 0.0"


def test_paper_parameter_counts():
    counts = tables.paper_parameter_counts("deblur_gopro")
    assert counts["identity"] == 0 and counts["s2svr"] == 8_359_399  # the config's documented paper count
    assert counts["single_frame"] < counts["s2svr"]


def test_history_gain():
    import pandas as pd
    df = pd.DataFrame({"S2SVR": [20.0, 23.0, 25.0], "single-frame": [21.0, 22.0, 22.0]})
    g = tables.history_gain(df)
    assert g.iloc[0, 0] == -1.0 and g.iloc[1, 0] == 2.0


def test_setup_text_and_table(tmp_path):
    res, _ = _fake_results(tmp_path, {"identity": 20, "single_frame": 4, "basicvsr": 8, "s2svr": 6})
    paper = load_config("sr_reds4", "paper")
    text = tables.setup_text(res, "sr", paper)
    assert "C = 8 channels" in text and "C = 64" in text and "only in `model.arch`" in text
    assert "untrained (no flow checkpoint)" in text
    table = tables.setup_table(res["sr/s2svr"], paper)
    assert table.loc["train.iters", "paper profile"] == "600,000" and table.loc["model.flow_size"].iloc[0] == "-"
