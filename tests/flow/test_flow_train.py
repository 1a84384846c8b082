"""Algorithm 1 on tiny synthetic pairs: batches, the four stages, checkpoints and exact resume."""
import argparse
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from s2svr.configs import flow_config
from s2svr.flow import flow_warp
from s2svr.data.flow_pairs import PairBatches, normalise_pair
from s2svr.flow.pwclite import PWCLite
from s2svr.cli.flow import add_flow_train_parser, flow_train_main
from s2svr.train.flow import FlowTrainError, stage_frames, train_flow, train_student, train_student_nodistill, train_supervised, train_teacher
from s2svr.train.loading import load_flow_net
from s2svr.train.checkpoint import load_checkpoint
from s2svr.utils import seed_everything

CFG = flow_config(budget={"iters": 3, "batch_size": 2, "save_every": 100, "log_every": 1}, augment={"patch_size": 64})


def synthetic_pairs(n=3, size=80, scale=4, seed=0):
    """NumPy pair dicts as the embedded flow set gives: HQ uint8 frames translated by (dx, dy), LQ = area x1/4."""
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for i in range(n):
        dx, dy = (i % 3) - 1 + 2, 1 - (i % 2) * 2
        m = 8
        coarse = torch.rand(1, 3, (size + 2 * m) // 4 + 2, (size + 2 * m) // 4 + 2, generator=g)
        tex = F.interpolate(coarse, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)
        hq1 = tex[..., m:m + size, m:m + size]
        hq2 = tex[..., m - dy:m - dy + size, m - dx:m - dx + size]
        lq1, lq2 = F.avg_pool2d(hq1, scale), F.avg_pool2d(hq2, scale)
        fw = np.zeros((size, size, 2), np.float32)
        fw[..., 0], fw[..., 1] = dx, dy
        to_np = lambda t: t[0].permute(1, 2, 0).numpy()  # noqa: E731
        pairs.append({"hq1": to_np(hq1), "hq2": to_np(hq2), "lq1": to_np(lq1), "lq2": to_np(lq2),
                      "flow_fw": fw, "flow_bw": -fw, "occlusion": np.zeros((size, size), np.float32)})
    return pairs


@pytest.fixture(scope="module")
def pairs():
    return synthetic_pairs()


def test_batches_are_reproducible_aligned_and_flip_consistently(pairs):
    bt = PairBatches(pairs, batch_size=2, patch_size=64, seed=3, flip=True)
    b0, again, b1 = bt.batch(0), PairBatches(pairs, 2, 64, seed=3, flip=True).batch(0), bt.batch(1)
    assert all(torch.equal(b0[k], again[k]) for k in b0)
    assert not torch.equal(b0["hq1"], b1["hq1"])
    assert b0["hq1"].shape == (2, 3, 64, 64) and b0["lq1"].shape == (2, 3, 16, 16)
    assert b0["flow_gt"].shape == (2, 2, 64, 64) and b0["occ_gt"].shape == (2, 1, 64, 64)
    for step in range(6):  # crops and flips keep LQ = area(HQ) and the GT flow exact
        b = bt.batch(step)
        assert torch.allclose(F.avg_pool2d(b["hq1"], 4), b["lq1"], atol=1e-6)
        err = (flow_warp(b["hq2"], b["flow_gt"]) - b["hq1"])[..., 4:-4, 4:-4].abs().max()
        assert err < 1e-5
    assert torch.equal(next(bt.iterate(4))["hq1"], bt.batch(4)["hq1"])
    assert normalise_pair(pairs[0])["flow_fw"].shape == (2, 80, 80)


def _run_teacher(pairs, out, iters, max_steps=None, resume=False):
    seed_everything(0)
    model = PWCLite()
    cfg = dataclasses.replace(CFG, budget=dataclasses.replace(CFG.budget, iters=iters))
    res = train_teacher(model, PairBatches(pairs, 1, 64, seed=0), cfg, out_dir=out, resume=resume,
                        progress=False, max_steps=max_steps, seed=0)
    return model, res


def test_a_checkpoint_of_the_flat_flow_section_of_before_resumes(pairs, tmp_path):
    from s2svr.configs import config_to_dict
    from s2svr.configs.flat import flat_from_sections
    from s2svr.train.checkpoint import save_checkpoint
    _, part = _run_teacher(pairs, tmp_path, iters=3, max_steps=2)
    state = load_checkpoint(part.checkpoint, kind="flow")
    assert state["arch"] == {"search_range": 4, "cost_norm": False} and state["use"] == {"zoom": 1.0, "pad": False}
    flat = {**flat_from_sections(config_to_dict(CFG)), "infer_zoom": None}
    save_checkpoint(part.checkpoint, {**state, "config": {"flow": flat}})  # as written before the sections
    _, res = _run_teacher(pairs, tmp_path, iters=3, resume=True)
    assert res.step == 3
    save_checkpoint(part.checkpoint, {**state, "config": {"flow": {**flat, "lr": 1.0}}})
    with pytest.raises(FlowTrainError, match="different config"):
        _run_teacher(pairs, tmp_path, iters=3, resume=True)


def test_teacher_checkpoint_and_resume_equal_an_uninterrupted_run(pairs, tmp_path):
    straight, res = _run_teacher(pairs, tmp_path / "a", iters=3)
    assert res.step == 3 and set(res.history[0][1]) == {"total", "ph", "sm", "visible"}
    _, part = _run_teacher(pairs, tmp_path / "b", iters=3, max_steps=2)
    state = load_checkpoint(part.checkpoint, kind="flow")
    assert state["step"] == 2 and state["stage"] == "teacher" and state["config"]["flow"]["loss"]["w_sm"] == 50.0
    assert {"model", "optimizer", "rng"} <= set(state)
    with pytest.raises(FlowTrainError, match="--resume"):
        _run_teacher(pairs, tmp_path / "b", iters=3)
    resumed, res = _run_teacher(pairs, tmp_path / "b", iters=3, resume=True)
    assert res.step == 3 and [s for s, _ in res.history] == [3]
    for (k, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), k  # CPU: bit-for-bit
    log = (tmp_path / "b" / "flow_teacher_log.csv").read_text().splitlines()
    assert log[0].startswith("step,total,ph,sm") and [r.split(",")[0] for r in log[1:]] == ["1", "2", "3"]


def test_student_learns_from_a_frozen_teacher(pairs, tmp_path):
    _run_teacher(pairs, tmp_path, iters=1)
    teacher = load_flow_net(tmp_path / "flow_teacher.pt")
    before = [p.clone() for p in teacher.parameters()]
    seed_everything(1)
    student = PWCLite()
    res = train_student(student, PairBatches(pairs, 2, 64, seed=1), CFG, teacher, out_dir=tmp_path,
                        iters=2, progress=False)
    assert res.step == 2 and set(res.history[-1][1]) == {"total", "ph", "sm", "dis", "visible"}
    assert all(torch.equal(a, b) for a, b in zip(before, teacher.parameters()))
    state = load_checkpoint(tmp_path / "flow_student.pt", kind="flow")
    assert state["stage"] == "student" and state["frames"] == "lq"  # flow-eval --frames auto reads it
    assert load_checkpoint(tmp_path / "flow_teacher.pt", kind="flow")["frames"] == "hq"
    with pytest.raises(FlowTrainError, match="teacher"):
        train_flow("student", PWCLite(), PairBatches(pairs, 1, 64), CFG, progress=False)


def test_controls_run(pairs):
    seed_everything(2)
    res = train_student_nodistill(PWCLite(), PairBatches(pairs, 1, 64), CFG, iters=1, progress=False)
    assert set(res.history[0][1]) == {"total", "ph", "sm", "visible"}
    res = train_supervised(PWCLite(), PairBatches(pairs, 1, 64), CFG, frames="lq", iters=2, progress=False)
    assert set(res.history[0][1]) == {"total", "epe"} and res.history[0][1]["epe"] > 0
    assert stage_frames("supervised", "lq") == "lq" and stage_frames("supervised") == "hq"
    no_gt = [{k: v for k, v in p.items() if k.startswith(("hq", "lq"))} for p in pairs]
    with pytest.raises(FlowTrainError, match="ground-truth"):
        train_supervised(PWCLite(), PairBatches(no_gt, 1, 64), CFG, iters=1, progress=False)


def test_cli_parser_and_one_line_errors(capsys, tmp_path):
    ap = argparse.ArgumentParser(prog="s2svr")
    add_flow_train_parser(ap.add_subparsers(dest="command"))
    args = ap.parse_args(["flow-train", "sr_reds4", "--stage", "student", "--profile", "ci", "--out", str(tmp_path)])
    assert args.func is flow_train_main and args.stage == "student" and not args.resume
    assert flow_train_main(args) == 2
    assert capsys.readouterr().err.strip().startswith("s2svr: error: --stage student needs --teacher")
    with pytest.raises(SystemExit):
        ap.parse_args(["flow-train", "sr_reds4", "--stage", "pupil", "--out", "x"])


def smooth_flow_pair(size=64):
    """One exact pair with a smooth non-constant flow (|F| ~ 2.3 px): hq1 = flow_warp(hq2, F)."""
    g = torch.Generator().manual_seed(0)
    tex = F.interpolate(torch.rand(1, 3, 20, 20, generator=g), size=(size, size), mode="bicubic",
                        align_corners=False).clamp(0, 1)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    flow = torch.stack([2.0 + yy, -1.0 + xx])[None]  # (1, 2, H, W)
    hq1 = flow_warp(tex, flow, padding_mode="border")
    return {"hq1": hq1, "hq2": tex, "lq1": hq1, "lq2": tex, "flow_gt": flow}


@pytest.mark.parametrize("stage, steps, bound", [("supervised", 15, 0.3), ("teacher", 40, 0.5)])
def test_training_fits_one_pair_far_below_zero_flow(stage, steps, bound):
    """Training can fit one pair (the reported "nothing beats zero flow" was budget, not a bug: generalising
    over the embedded set needs far more than 100 steps). Checked to fail when the x2 of the flow between
    levels is dropped (teacher case); a uniform output scale error is learned around, so it is not a guard
    for that. EPE of `forward` on the interior (the border is occluded) vs the zero-flow EPE."""
    batch = smooth_flow_pair()
    seed_everything(0)
    model = PWCLite()
    cfg = flow_config(optim={"lr": 1e-3}, budget={"iters": steps, "batch_size": 1, "save_every": 10 ** 6,
                                                  "log_every": 10 ** 6}, augment={"patch_size": 64})
    train_flow(stage, model, [batch], cfg, progress=False)
    with torch.no_grad():
        flow = model.eval()(batch["hq1"], batch["hq2"])
    gt = batch["flow_gt"]
    inner = (..., slice(8, -8), slice(8, -8))
    epe = (flow - gt)[inner].norm(dim=1).mean()
    assert epe < bound * gt[inner].norm(dim=1).mean()
