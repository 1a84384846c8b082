"""Tests for s2svr.bench: the quick mode runs end to end and writes JSON with every field and plausible values.
Not a timing test: it checks structure, positivity and flat streaming memory, never a speed."""
import json
import subprocess
import sys

import pytest
import torch

from s2svr.bench import flops_per_frame, synthetic_clip
from s2svr.configs import load_config
from s2svr.models import build_model


@pytest.mark.slow
def test_quick_benchmark_writes_plausible_json(tmp_path):
    path = tmp_path / "bench.json"
    out = subprocess.run([sys.executable, "-m", "s2svr.bench", "--quick", "--json", str(path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "verdict: memory flat" in out.stdout and "inference" in out.stdout
    res = json.loads(path.read_text())
    assert res["quick"] is True and res["threads"] >= 1 and res["matmul_peak_flops_per_s"] > 1e8
    assert [r["config"] for r in res["inference"]] == ["sr_reds4", "deblur_gopro", "vqe_mfqe"]
    for r in res["inference"]:
        assert r["fps"] > 0 and r["flops_per_frame"] > 0 and 0 < r["fraction_of_matmul"] < 10
        assert r["lq_size"].count("x") == 1
    st = res["streaming"]
    assert [r["frames"] for r in st["runs"]] == [50, 200]
    for r in st["runs"]:
        assert r["time_per_frame_median"] > 0 and r["peak_rss_mb"] > 0
        assert r["growth_mb"] is None or r["growth_mb"] < 20
        assert r["state_tensors_max"] < 20  # the paper layout's bounded state
    assert abs(st["peak_rss_diff_mb"]) < 20 and st["memory_flat"] is True
    assert {"time_ratio", "time_constant", "verdict"} <= set(st)
    assert [r["config"] for r in res["training"]] == ["sr_reds4", "deblur_gopro", "vqe_mfqe"]
    assert all(r["seconds_per_step"] > 0 for r in res["training"])


def test_flops_per_frame_matches_a_hand_count_for_the_single_frame_baseline():
    cfg = load_config("deblur_gopro", "ci", overrides={"model": {"arch": "single_frame"}}).model
    model = build_model(cfg).eval()  # convs only: 3->8, 2 blocks of 8->8 x2, head 8->8, 8->8, 8->3 at 16x16
    convs = [(3, 8)] + [(8, 8)] * 4 + [(8, 8), (8, 8), (8, 3)]
    want = sum(2 * cin * cout * 9 * 16 * 16 for cin, cout in convs)
    assert flops_per_frame(model, synthetic_clip(3, 3, 16)) == want


def test_synthetic_clip_moves_one_pixel_a_frame():
    clip = synthetic_clip(3, 1, 8)
    assert clip.shape == (1, 3, 1, 8, 8) and 0 <= clip.min() and clip.max() <= 1
    assert torch.equal(clip[:, 1], torch.roll(clip[:, 0], 1, dims=-1))
