"""`s2svr.report.neighbours.neighbour_gain`: a frame-wise model gains nothing from real neighbours, a model that
averages its window gains on a noisy still scene."""
import numpy as np
import pytest
import torch

from s2svr.report.neighbours import neighbour_gain


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
