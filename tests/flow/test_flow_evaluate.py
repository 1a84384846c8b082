"""Flow measurement: EPE on all / visible / occluded pixels and alignment PSNR, on synthetic exact pairs."""
import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from s2svr.cli.flow import add_flow_eval_parser, flow_eval_main
from s2svr.flow.standins import ZeroFlow
from s2svr.train.flow_evaluate import endpoint_error, evaluate_flow, flow_metrics, format_table, masked_psnr


def exact_pair(dx=3, dy=-2, size=64, scale=4, seed=0):
    """A pair in the embedded set's layout: frames_gt / frames_lq stacks, channels-first flows, occlusion."""
    g = torch.Generator().manual_seed(seed)
    m = 8
    coarse = torch.rand(1, 3, (size + 2 * m) // 4 + 2, (size + 2 * m) // 4 + 2, generator=g)
    tex = F.interpolate(coarse, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)
    hq1, hq2 = tex[..., m:m + size, m:m + size], tex[..., m - dy:m - dy + size, m - dx:m - dx + size]
    hq = torch.cat([hq1, hq2]).permute(0, 2, 3, 1).numpy()  # (2, H, W, 3)
    lq = F.avg_pool2d(torch.cat([hq1, hq2]), scale).permute(0, 2, 3, 1).numpy()
    fw = np.zeros((2, size, size), np.float32)
    fw[0], fw[1] = dx, dy
    occ = np.zeros((1, size, size), np.float32)  # frame-1 pixels whose match leaves frame 2
    occ[0, :, size - dx:] = 1
    occ[0, :-dy, :] = 1
    return {"frames_gt": hq, "frames_lq": lq, "flow_fw": fw, "flow_bw": -fw, "occlusion": occ}


def test_endpoint_error_values_and_masks():
    flow, gt = torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4)
    flow[:, 0], flow[:, 1] = 3.0, 4.0
    assert endpoint_error(flow, gt) == 5.0
    mask = torch.zeros(1, 1, 4, 4)
    assert math.isnan(endpoint_error(flow, gt, mask))
    flow[..., 0, 0] = 0.0
    mask[..., 0, 0] = 1
    assert endpoint_error(flow, gt, mask) == 0.0 and endpoint_error(flow, gt, 1 - mask) == 5.0


def test_ground_truth_flow_gives_zero_epe_and_better_alignment_than_zero_flow():
    pair = exact_pair()
    gt = torch.from_numpy(pair["flow_fw"]).unsqueeze(0)
    good, zero = flow_metrics(gt, pair), flow_metrics(torch.zeros_like(gt), pair)
    assert good["epe_all"] == good["epe_vis"] == good["epe_occ"] == 0.0
    for k in ("epe_all", "epe_vis", "epe_occ"):
        assert abs(zero[k] - math.hypot(3, 2)) < 1e-5
    assert good["psnr_vis"] > zero["psnr_vis"] + 20 and good["psnr_all"] > zero["psnr_all"]


class ConstantFlow(nn.Module):
    """Answers one constant flow at the input's size (in the input's pixels)."""

    def __init__(self, u, v):
        super().__init__()
        self.uv = torch.tensor([u, v]).view(1, 2, 1, 1)

    def forward(self, img1, img2, with_bw=False, work_size=None):
        return self.uv.expand(img1.shape[0], 2, *img1.shape[-2:]).clone()


def test_evaluate_flow_upsamples_lq_flows_and_averages_pairs():
    pairs = [exact_pair(seed=s) for s in range(2)]
    oracle = evaluate_flow(ConstantFlow(3 / 4, -2 / 4), pairs, frames="lq")  # LQ pixels, x4 to HQ
    zero = evaluate_flow(ZeroFlow(), pairs, frames="lq")
    assert oracle["pairs"] == 2 and oracle["epe_all"] < 1e-6 and oracle["epe_occ"] < 1e-6
    assert zero["epe_vis"] > 3.5 and oracle["psnr_vis"] > zero["psnr_vis"] + 20
    hq = evaluate_flow(ConstantFlow(3.0, -2.0), pairs, frames="hq")
    assert hq["epe_all"] < 1e-6
    no_gt = [{k: p[k] for k in ("frames_gt", "frames_lq")} for p in pairs]
    res = evaluate_flow(ZeroFlow(), no_gt)
    assert set(res) == {"pairs", "psnr_all", "fb_pass", "fb_err"} and res["psnr_all"] == zero["psnr_all"]
    assert res["fb_pass"] == 1 and res["fb_err"] == 0  # zero flow is trivially consistent
    table = format_table({"zero flow": {"frames": "lq", **zero}})
    assert table.splitlines()[0].startswith("| flow | frames | pairs | epe_all") and "zero flow" in table


def test_masked_psnr_counts_only_the_mask():
    a, b = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    b[..., :2] = 0.1
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2] = 1
    assert abs(masked_psnr(a, b, mask) - 20.0) < 1e-4 and masked_psnr(a, b, 1 - mask) == float("inf")


def test_cli_parser_and_one_line_errors(capsys, tmp_path):
    ap = argparse.ArgumentParser(prog="s2svr")
    add_flow_eval_parser(ap.add_subparsers(dest="command"))
    args = ap.parse_args(["flow-eval", "no_such_config", str(tmp_path / "a.pt"), "--profile", "ci"])
    assert args.func is flow_eval_main and args.checkpoints == [str(tmp_path / "a.pt")]
    assert flow_eval_main(args) == 2
    assert capsys.readouterr().err.startswith("s2svr: error: no_such_config: no such config")


def test_epe_ref_measures_distance_to_the_reference_hq_flow():
    pairs = [exact_pair(seed=s) for s in range(2)]
    teacher = ConstantFlow(3.0, -2.0)  # on HQ frames, HQ pixels
    same = evaluate_flow(ConstantFlow(3 / 4, -2 / 4), pairs, frames="lq", reference=teacher)  # x4 to HQ
    assert same["epe_ref"] < 1e-6
    zero = evaluate_flow(ZeroFlow(), pairs, frames="lq", reference=teacher)
    assert abs(zero["epe_ref"] - math.hypot(3, 2)) < 1e-5
    off = evaluate_flow(ConstantFlow(0.0, -2 / 4), pairs, frames="lq", reference=teacher)
    assert abs(off["epe_ref"] - 3.0) < 1e-5 and "epe_ref" not in evaluate_flow(ZeroFlow(), pairs)
    assert "epe_ref" in format_table({"zero flow": {"frames": "lq", **zero}}).splitlines()[0]


def test_flow_eval_takes_checkpoints_after_an_option(capsys, tmp_path):
    """`s2svr flow-eval CONFIG --profile cpu A B` (the order a user types) reaches the checkpoints, not argparse's
    'unrecognized arguments'; an unknown option is still argparse's one-line error."""
    from s2svr.cli import main
    assert main(["flow-eval", "sr_reds4", "--profile", "ci", str(tmp_path / "a.pt"), str(tmp_path / "b.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "a.pt" in err and "unrecognized" not in err
    import pytest
    with pytest.raises(SystemExit):
        main(["flow-eval", "sr_reds4", "--profile", "ci", "--no-such-option"])
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_per_pair_metrics_and_their_scenes():
    from s2svr.report.verdicts import paired_comparison
    from s2svr.train.flow_evaluate import pair_scene
    pairs = [{**exact_pair(dx=2 + s % 2, seed=s), "name": f"scene_{s // 2:02d}/{s % 2}"} for s in range(6)]
    zero = evaluate_flow(ZeroFlow(), pairs, "hq", per_pair=True)
    oracle = evaluate_flow(ConstantFlow(2.5, -2.0), pairs, "hq", per_pair=True)
    assert list(zero["per_pair"]) == [p["name"] for p in pairs] and pair_scene("scene_01/1") == "scene_01"
    assert math.isclose(np.mean([r["epe_all"] for r in zero["per_pair"].values()]), zero["epe_all"], rel_tol=1e-6)
    as_res = lambda r: {"per_sequence": {n: {"epe_all": v["epe_all"]} for n, v in r["per_pair"].items()}}  # noqa: E731
    d = paired_comparison(as_res(zero), as_res(oracle), "epe_all", units=pair_scene)
    assert d["units"] == 3 and d["sequences"] == 6 and d["outcome"] == "holds"  # zero flow's error is larger
