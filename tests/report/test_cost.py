"""s2svr.report.cost: saved activations are counted once per storage; the hours follow the stated assumptions."""
from dataclasses import replace

import pytest
import torch

from s2svr.configs import load_config
from s2svr.report.cost import GpuAssumption, Measured, estimate, eval_hours, measure, saved_bytes


def test_saved_bytes_counts_a_storage_once_and_nothing_without_grad():
    x = torch.randn(1000, requires_grad=True)
    assert saved_bytes(lambda: (x * x).sum()) == 4000  # x saved twice by mul: one storage
    y = torch.randn(1000, requires_grad=True)
    assert saved_bytes(lambda: (x * y).sum()) == 8000
    with torch.no_grad():
        assert saved_bytes(lambda: (x * y).sum()) == 0


M = Measured(flow_flops=2e9, flow_bytes=1e8, flops_px=1e6, bytes_px=2e3, bytes_frame=1e6, params=1_000_000)


def test_estimate_follows_iterations_gpus_and_utilisation():
    cfg = load_config("sr_reds4", "paper")
    base = estimate(cfg, M)
    twice = estimate(replace(cfg, train=replace(cfg.train, iters=2 * cfg.train.iters,
                                                flow_freeze_iters=2 * cfg.train.flow_freeze_iters)), M)
    assert twice["train_hours"] == pytest.approx(2 * base["train_hours"])
    one_gpu = estimate(cfg, M, GpuAssumption(gpus=1))
    assert one_gpu["train_hours"] == pytest.approx(8 * base["train_hours"])
    assert one_gpu["flow_hours"] == pytest.approx(base["flow_hours"])  # Algorithm 1 runs on one GPU either way
    assert estimate(cfg, M, GpuAssumption(util=0.6))["train_hours"] == pytest.approx(base["train_hours"] / 2)


def test_a_frozen_flow_net_costs_its_forward_only():
    cfg = load_config("sr_reds4", "paper")
    frozen = estimate(replace(cfg, train=replace(cfg.train, flow_freeze_iters=cfg.train.iters)), M)
    tuned = estimate(replace(cfg, train=replace(cfg.train, flow_freeze_iters=0)), M)
    d = cfg.data
    flow_per_step = d.batch_size * (d.num_frames - 1) * M.flow_flops
    assert tuned["train_flops"] - frozen["train_flops"] == pytest.approx(2 * cfg.train.iters * flow_per_step)


def test_estimate_of_memory_and_evaluation():
    cfg = load_config("sr_reds4", "paper")
    e = estimate(cfg, M)
    t, px = cfg.data.num_frames, cfg.data.patch_size ** 2
    assert e["activations_gb"] == pytest.approx((t * (M.bytes_frame + M.bytes_px * px) + (t - 1) * M.flow_bytes) / 1e9)
    assert e["states_gb"] == pytest.approx(16e-3)  # weights, gradients, two Adam moments: 4 x 4 bytes each
    gpu = GpuAssumption()
    assert eval_hours(M, 10, 4, 5, gpu) == pytest.approx(10 * (M.flops_px * 20 + M.flow_flops) / gpu.sustained / 3600)


def test_measure_on_a_small_config_predicts_saved_bytes_at_a_third_size():
    from s2svr.models import build_model
    from s2svr.report.saliency import without_motion
    from s2svr.train.step_cost import synthetic_clip
    cfg = load_config("sr_reds4", "ci", overrides={"model": {"arch": "s2svr"}})
    m = measure(cfg)
    assert m.flow_flops > 0 and m.flops_px > 0 and m.bytes_px > 0 and m.params > 0
    torch.manual_seed(0)
    body = without_motion(build_model(cfg.model)).train()
    got = saved_bytes(lambda: body(synthetic_clip(2, 3, 12)))  # a size the two measured ones did not include
    assert got == pytest.approx(2 * (m.bytes_frame + m.bytes_px * 12 ** 2), rel=0.05)
