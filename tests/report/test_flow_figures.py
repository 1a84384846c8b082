"""Tests of s2svr.report.flow_figures (`notebooks/distillation.py`)."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from s2svr.report.flow_figures import (align_hq, distillation_means, flow_figure_rows, pair_flow,
                                      paired_flows)
from s2svr.flow.standins import ZeroFlow
from s2svr.train.flow_evaluate import evaluate_flow


class ShiftFlow(nn.Module):
    """Constant flow (dx, dy) in pixels of its input; counts its calls."""

    def __init__(self, dx=2.0, dy=0.0):
        super().__init__()
        self.dx, self.dy, self.calls = dx, dy, 0

    def forward(self, img1, img2, with_bw=False, work_size=None):
        self.calls += 1
        f = img1.new_zeros(img1.shape[0], 2, *img1.shape[-2:])
        f[:, 0], f[:, 1] = self.dx, self.dy
        return (f, -f) if with_bw else f


def shifted_pair(shift=4, size=32, scale=4):
    """HQ frame 2 = frame 1 moved right by `shift` px; GT flow_fw = (+shift, 0) (frame2 at p + F ~ frame1 at p)."""
    rng = np.random.default_rng(0)
    big = rng.random((size, size + shift, 3)).astype(np.float32)
    hq1, hq2 = big[:, shift:], big[:, :-shift]  # hq2(x) = big(x) , hq1(x) = big(x + shift) = hq2(x + shift)
    lq = [torch.nn.functional.avg_pool2d(torch.from_numpy(h).permute(2, 0, 1)[None], scale)[0] for h in (hq1, hq2)]
    flow = np.zeros((2, size, size), np.float32)
    flow[0] = shift
    return {"hq1": torch.from_numpy(hq1).permute(2, 0, 1), "hq2": torch.from_numpy(hq2).permute(2, 0, 1),
            "lq1": lq[0], "lq2": lq[1], "flow_fw": torch.from_numpy(flow),
            "occlusion": torch.zeros(1, size, size)}


def test_align_hq_true_flow_aligns_and_lq_flow_is_scaled():
    pair = shifted_pair(shift=4, scale=4)
    # the true flow in LQ pixels (1 px at 1/4 size) must be scaled x4 to align the HQ frames
    lq_flow = torch.tensor([1.0, 0.0]).view(1, 2, 1, 1).expand(1, 2, 8, 8).contiguous()
    warped, err, m = align_hq(pair, lq_flow)
    assert warped.shape == (1, 3, 32, 32) and err.shape == (1, 1, 32, 32)
    assert m["epe_all"] == pytest.approx(0.0, abs=1e-5)
    inner = err[..., :, :-4]  # pixels whose source is inside frame 2
    assert float(inner.max()) < 1e-5
    _, err0, m0 = align_hq(pair, torch.zeros(1, 2, 8, 8))
    assert float(err0.mean()) > 0.05 and m0["epe_all"] == pytest.approx(4.0)
    assert pair_flow(ShiftFlow(1.0), pair, "lq").shape == (1, 2, 8, 8)


def test_flow_figure_rows_layout_and_titles():
    pair = shifted_pair()
    rows = flow_figure_rows(pair, {"ground truth": pair["flow_fw"], "zero": torch.zeros(1, 2, 8, 8)})
    assert [len(r) for r in rows] == [3, 3, 3]
    assert rows[0][1][0].shape == (32, 32, 3) and rows[0][1][0].dtype == np.uint8
    assert rows[0][2][0].min() == 255  # zero flow is white
    assert "dB" in rows[1][2][1]
    rows = flow_figure_rows(pair, {"gt": pair["flow_fw"]}, frames_column=False)
    assert [len(r) for r in rows] == [1, 1, 1]


def test_distillation_means():
    rows = {"zero": {"psnr_vis": 20.0, "epe_ref": 3.0}, "distilled": {"psnr_vis": 21.0, "epe_ref": 0.1},
            "nodistill": {"psnr_vis": 22.0, "epe_ref": 1.0}}
    v = distillation_means(rows, "distilled", "nodistill", zero="zero")
    assert v["epe_ref"] == (0.1, 1.0) and v["psnr_vis"] == (21.0, 22.0)
    assert v["gain_over_zero"] == {"distilled": 1.0, "nodistill": 2.0}
    assert "gain_over_zero" not in distillation_means(rows, "distilled", "nodistill")
    assert not any(isinstance(x, bool) for x in v.values())  # no verdict of its own: paired_flows judges


def test_paired_flows_counts_the_scenes_as_units():
    def result(errors):
        return {"per_pair": {name: {"epe_ref": e} for name, e in errors.items()}}
    worse = result({"flow/a/0": 2.0, "flow/a/1": 2.2, "flow/b/0": 3.0, "flow/b/1": 3.1, "flow/c/0": 1.5})
    better = result({"flow/a/0": 1.0, "flow/a/1": 1.1, "flow/b/0": 2.0, "flow/b/1": 2.0, "flow/c/0": 0.9})
    d = paired_flows(worse, better, "epe_ref")
    assert d["units"] == 3 and d["sequences"] == 5 and d["wins"] == 5
    assert d["diff"] == pytest.approx((1.05 + 1.05 + 0.6) / 3)
    assert d["outcome"] == paired_flows(worse, better, "epe_ref")["outcome"] and d["lo"] > 0
    assert paired_flows(better, worse, "epe_ref")["hi"] < 0
