"""`s2svr.train.step_cost`: the cost of a training step, scaled from a small one, matches a direct count."""
from dataclasses import replace

import pytest

from s2svr.configs import load_config
from s2svr.train.step_cost import flow_pair_flops, flow_stage_flops, restorer_flops, step_profile, training_step


def test_scaled_restorer_flops_match_a_direct_count():
    cfg = load_config("sr_reds4", "ci", overrides={"model": {"arch": "single_frame"},
                                                   "data": {"batch_size": 2, "num_frames": 4, "patch_size": 32}})
    direct = training_step(replace(cfg, train=replace(cfg.train, iters=2, flow_freeze_iters=2)))[1]
    est = restorer_flops(cfg, frames=2, patch=16)
    assert est["flow"] == 0 and est["restorer"] == pytest.approx(direct, rel=0.02)


def test_the_flow_net_counts_once_it_trains_inside_the_step():
    cfg = load_config("sr_reds4", "ci", overrides={"model": {"arch": "s2svr", "flow_size": 64},
                                                   "train": {"iters": 10, "flow_freeze_iters": 4}})
    est = restorer_flops(cfg)
    pair = flow_pair_flops(cfg.flow, 64, 3)
    assert est["frozen_steps"] == 4 and est["flow"] == pair * cfg.data.batch_size * (cfg.data.num_frames - 1)
    assert flow_stage_flops(load_config("sr_reds4", "ci"), "student") > flow_stage_flops(load_config("sr_reds4", "ci"), "supervised")


def test_the_step_profile_finds_the_convolutions():
    cfg = load_config("sr_reds4", "ci", overrides={"model": {"arch": "single_frame"}})
    step, _ = training_step(cfg)
    prof = step_profile(step, repeats=1, top=5)
    assert len(prof) == 6 and prof.index[-1] == "everything else"
    assert prof["share"].sum() == pytest.approx(1.0) and (prof["ms per step"] > 0).all()
    assert any("convolution" in op for op in prof.index[:5])  # a network of convolutions spends its time there
    assert prof["share"].iloc[:5].is_monotonic_decreasing
