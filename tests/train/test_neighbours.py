"""`s2svr.train.neighbours.neighbour_gain`: a frame-wise model gains nothing from real neighbours, a model that
averages its window gains on a noisy still scene."""
import numpy as np
import pytest
import torch

from s2svr.train.neighbours import neighbour_gain


class _Frames:
    def __init__(self, arr):
        self.arr = arr

    def read(self, idx, mode="rgb"):
        return self.arr[idx]


class _Seq:
    def __init__(self, lq, gt, name="toy/clip"):
        self.lq, self.gt, self.name = _Frames(lq), _Frames(gt), name

    def __len__(self):
        return len(self.lq.arr)


def _noisy_still(n=12, side=16, seed=0):
    rng = np.random.default_rng(seed)
    clean = rng.integers(60, 200, (side, side, 3))
    gt = np.repeat(clean[None], n, 0).astype(np.uint8)
    lq = np.clip(gt + rng.normal(0, 20, gt.shape), 0, 255).astype(np.uint8)  # independent noise per frame
    return _Seq(lq, gt)


class FrameWise(torch.nn.Module):
    def forward(self, x):  # (B, T, C, H, W)
        return x * 0.9 + 0.05


class WindowMean(torch.nn.Module):
    def forward(self, x):
        return x.mean(1, keepdim=True).expand_as(x)


def test_a_framewise_model_gains_nothing_and_an_averaging_one_gains():
    seq = _noisy_still()
    fw = neighbour_gain(FrameWise(), [seq], num_frames=12, stride=2)
    assert fw["gain"] == 0 and fw["wins"] == 0 and fw["windows"] == len(range(4, 10, 2))
    avg = neighbour_gain(WindowMean(), [seq], num_frames=12, stride=2)
    assert avg["gain"] > 3 and avg["wins"] == avg["windows"]  # 7 noisy looks averaged: ~8 dB less noise


def test_too_short_a_clip_is_an_error():
    with pytest.raises(ValueError, match="no window"):
        neighbour_gain(FrameWise(), [_noisy_still(n=5)], num_frames=5)


def test_every_frame_with_a_full_window_is_scored():
    seq = _noisy_still(n=12)
    out = neighbour_gain(FrameWise(), [seq], num_frames=None, stride=1)
    assert out["windows"] == 12 - 4 - 2 and [r[1] for r in out["per_window"]] == list(range(4, 10))


def test_flows_from_the_bank_give_the_same_gain(tmp_path):
    from s2svr.configs import load_config
    from s2svr.models import build_model
    torch.manual_seed(0)
    model = build_model(load_config("sr_reds4", "ci", overrides={"model": {"task": "deblur", "scale": 1}}).model).eval()
    seq = _noisy_still(n=9, side=32)
    plain = neighbour_gain(model, [seq], num_frames=None, stride=1)
    banked = neighbour_gain(model, [seq], num_frames=None, stride=1, flow_cache=tmp_path)
    assert list(tmp_path.glob("*.npz")) and banked["windows"] == plain["windows"] == 3
    assert abs(banked["real"] - plain["real"]) < 1e-4 and abs(banked["still"] - plain["still"]) < 1e-4
