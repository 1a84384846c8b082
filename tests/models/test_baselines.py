"""Tests for s2svr.models.baselines: identity, single-frame and BasicVSR-style baselines (shapes, exactness,
temporal dependence, gradients), and that the trainer, evaluation and `s2svr params` take them through `model.arch`."""
import dataclasses
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from s2svr.cli import main
from s2svr.configs import ModelConfig, load_config
from s2svr.data.degrade import imresize
from s2svr.models import BasicVSRBaseline, IdentityBaseline, SingleFrameBaseline, build_model, parameter_breakdown
from s2svr.train.evaluate import can_stream, restore_frames

TASKS = [("sr", 3, 4), ("deblur", 3, 1), ("vqe", 1, 1)]


def _cfg(arch, task, in_channels):
    return ModelConfig(arch=arch, task=task, in_channels=in_channels, num_feat=8, num_blocks=1, num_layers=1,
                       scale=4 if task == "sr" else 1, flow_size=None)


@pytest.mark.parametrize("task,c,s", TASKS)
@pytest.mark.parametrize("arch", ["identity", "single_frame", "basicvsr"])
def test_shapes_and_attributes_for_every_task(arch, task, c, s, clip):
    torch.manual_seed(0)
    model = build_model(_cfg(arch, task, c))
    assert (model.in_channels, model.scale) == (c, s) and model.layout in ("frame", "clip")
    assert hasattr(model, "flow") == (arch == "basicvsr")
    with torch.no_grad():
        out = model(clip(t=3, c=c))
    assert out.shape == (1, 3, c, 16 * s, 16 * s) and torch.isfinite(out).all()


def test_identity_is_matlab_bicubic_for_sr_and_the_input_otherwise(clip):
    x = clip(t=2, c=3)  # (1, 2, 3, 16, 16)
    model = IdentityBaseline(task="sr", in_channels=3, scale=4)
    assert sum(p.numel() for p in model.parameters()) == 0
    want = imresize(x[0].permute(0, 2, 3, 1).double().numpy(), 4)  # (T, 64, 64, 3)
    got = model(x)[0].permute(0, 2, 3, 1).double().numpy()
    np.testing.assert_array_equal(got, want.astype(np.float32))
    torch_model = IdentityBaseline(task="sr", in_channels=3, scale=4, method="torch")
    assert torch.equal(torch_model(x)[0], F.interpolate(x[0], scale_factor=4, mode="bicubic", align_corners=False))
    for task, c in (("deblur", 3), ("vqe", 1)):
        y = clip(t=2, c=c)
        assert torch.equal(IdentityBaseline(task=task, in_channels=c, scale=4)(y), y)


def test_single_frame_output_depends_on_its_own_frame_only(clip):
    torch.manual_seed(0)
    model = build_model(_cfg("single_frame", "sr", 3)).eval()
    x = clip(t=4)
    with torch.no_grad():
        a = model(x)
        for j in range(4):
            y = x.clone()
            y[:, j] = torch.rand_like(y[:, j])
            b = model(y)
            for i in range(4):
                assert torch.equal(a[:, i], b[:, i]) == (i != j), f"perturbing frame {j}: output {i}"
        streamed = torch.stack(list(model.stream(x[:, i] for i in range(4))), dim=1)
    assert torch.allclose(streamed, a, atol=1e-6)  # stream == forward (one frame at a time)
    assert can_stream(model) and not can_stream(build_model(_cfg("basicvsr", "sr", 3)))


def test_basicvsr_is_bidirectional(clip):
    torch.manual_seed(0)
    model = build_model(_cfg("basicvsr", "deblur", 3)).eval()
    assert isinstance(model, BasicVSRBaseline) and model.layout == "clip"
    x = clip(t=4)
    with torch.no_grad():
        a = model(x)
        last, first = x.clone(), x.clone()
        last[:, -1] = torch.rand_like(last[:, -1])
        first[:, 0] = torch.rand_like(first[:, 0])
        assert not torch.allclose(model(last)[:, 0], a[:, 0], atol=1e-6)  # backward branch: t=0 sees frame 3
        assert not torch.allclose(model(first)[:, -1], a[:, -1], atol=1e-6)  # forward branch: t=3 sees frame 0


@pytest.mark.parametrize("arch", ["single_frame", "basicvsr"])
def test_gradients_reach_every_parameter(arch, clip):
    torch.manual_seed(0)
    model = build_model(_cfg(arch, "sr", 3))
    model(clip(t=3)).square().mean().backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().gt(0).any()]
    assert not dead, f"no gradient reaches {dead}"


def test_block_budget_follows_s2svr_encoder_plus_decoder():
    cfg = dataclasses.replace(load_config("sr_reds4", "cpu").model, num_layers=2, num_blocks=2)  # 8 blocks in S2SVR
    single = build_model(dataclasses.replace(cfg, arch="single_frame"))
    basic = build_model(dataclasses.replace(cfg, arch="basicvsr"))
    assert isinstance(single, SingleFrameBaseline) and len(single.body) == 2 + 8  # conv + lrelu + 8 blocks
    assert len(basic.backward_branch) == len(basic.forward_branch) == 2 + 4
    rows = parameter_breakdown(basic)
    assert rows["flow"] == 2_236_660 and sum(v for k, v in rows.items() if k != "total") == rows["total"]


def test_cli_params_counts_a_baseline(capsys):
    assert main(["params", "sr_reds4", "--profile", "ci", "--arch", "basicvsr", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["arch"] == "basicvsr" and set(out["parameters"]) >= {"flow", "backward_branch", "forward_branch"}
    assert main(["params", "sr_reds4", "--profile", "ci", "--arch", "identity", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"] == {"total": 0}
    assert main(["params", "sr_reds4", "--profile", "ci", "--arch", "resnet"]) == 2  # a one-line config error


@pytest.mark.parametrize("arch", ["single_frame", "basicvsr"])
def test_trainer_runs_one_step_with_a_baseline(arch, tmp_path, tiny_config):
    from s2svr.train.loading import load_restorer
    from s2svr.train.trainer import train
    cfg = load_config(tiny_config, "ci", overrides={"model": {"arch": arch}, "train": {"iters": 1, "val_every": 1}})
    res = train(cfg, tmp_path / "run", progress=False)
    assert res.step == 1 and res.checkpoint.is_file()
    assert 5 < res.last_val["mean"]["psnr"] < 60
    model, cfg2 = load_restorer(res.checkpoint)
    assert cfg2.model.arch == arch and model.layout == ("frame" if arch == "single_frame" else "clip")


def test_identity_evaluates_without_training_and_refuses_to_train(tmp_path, tiny_config):
    from s2svr.data.degrade import imresize as matlab
    from s2svr.metrics import psnr
    from s2svr.train.data import build_test_sequences
    from s2svr.train.evaluate import evaluate_sequences
    from s2svr.train.trainer import TrainingError, train
    cfg = load_config(tiny_config, "ci", overrides={"model": {"arch": "identity"}})
    seqs = build_test_sequences(cfg)
    res = evaluate_sequences(build_model(cfg.model), seqs, cfg, progress=False)
    assert set(res["per_sequence"]) == {"000", "011", "015", "020"}
    seq = seqs[0]  # the score is that of MATLAB bicubic upsampling of the uint8 LQ, rounded like a saved PNG
    lq, gt = seq.lq.read([0, 1, 2], mode="rgb"), seq.gt.read([0, 1, 2], mode="rgb")
    up = np.clip(np.round(matlab(lq.astype(np.float64) / 255.0, 4) * 255.0), 0, 255).astype(np.uint8)
    want = np.mean([psnr(u, g, crop_border=0, test_y=False) for u, g in zip(up, gt)])
    assert abs(res["per_sequence"][seq.name]["psnr"] - want) < 1e-6
    out = restore_frames(build_model(cfg.model), torch.from_numpy(lq).permute(0, 3, 1, 2).float() / 255)
    assert out.shape == (3, 3, 64, 64)
    with pytest.raises(TrainingError, match="no trainable parameters"):
        train(cfg, tmp_path / "run", progress=False)
