"""Tests for s2svr.book.ablation (Table 5, sequence length): segments cover every frame once; a frame-wise
model scores the same whatever the segment length; a recurrent model restored in one segment equals the
whole-clip restoration and differs when cut into single frames; the margin verdict."""
import numpy as np
import pytest
import torch

from s2svr.book.ablation import (grows_with_length, margins, restore_segments, segment_bounds,
                                 segment_frame_psnr)
from s2svr.configs import load_config
from s2svr.flow.standins import ZeroFlow
from s2svr.models import S2SVR, build_model
from s2svr.train.evaluate import restore_frames


@pytest.mark.parametrize("n,length", [(30, 5), (30, 15), (30, 30), (30, 50), (7, 3), (1, 1), (0, 4)])
def test_segments_cover_every_frame_once(n, length):
    bounds = segment_bounds(n, length)
    covered = [i for a, b in bounds for i in range(a, b)]
    assert covered == list(range(n))
    assert all(b - a == length for a, b in bounds[:-1])
    assert all(0 < b - a <= length for a, b in bounds)


def test_segment_bounds_rejects_zero_length():
    with pytest.raises(ValueError):
        segment_bounds(5, 0)


def _clips(t=6, h=8, w=10, scale=4, seed=0):
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, 256, (t, h * scale, w * scale, 3), dtype=np.uint8)
    lq = gt[:, ::scale, ::scale]  # any LQ will do: only consistency across lengths is tested
    return [("a", np.ascontiguousarray(lq), gt), ("b", np.ascontiguousarray(lq[::-1]), gt[::-1].copy())]


def test_identity_psnr_does_not_depend_on_segment_length():
    cfg = load_config("sr_reds4", "ci", overrides={"model": {"arch": "identity"}})
    model = build_model(cfg.model).eval()
    rows = segment_frame_psnr(model, _clips(), cfg, lengths=(1, 4, 6))
    assert len(rows) == 2 * 3 * 6
    by = {}
    for r in rows:
        by.setdefault((r["sequence"], r["frame"]), set()).add(round(r["psnr"], 9))
    assert all(len(v) == 1 for v in by.values())
    pos = {r["position"] for r in rows if r["length"] == 4}
    assert pos == {0, 1, 2, 3}


def test_recurrent_model_uses_context_within_a_segment():
    torch.manual_seed(0)
    cfg = load_config("sr_reds4", "ci").model
    model = S2SVR(task="sr", layout="paper", num_feat=cfg.num_feat, num_blocks=cfg.num_blocks,
                  num_layers=cfg.num_layers, radius=cfg.radius, flow_size=None, flow_net=ZeroFlow()).eval()
    x = torch.rand(5, 3, 8, 8)
    whole = restore_frames(model, x)
    assert torch.allclose(restore_segments(model, x, 5), whole)
    assert torch.allclose(restore_segments(model, x, 50), whole)
    single = restore_segments(model, x, 1)
    assert single.shape == whole.shape
    assert not torch.allclose(single[1:], whole[1:])  # frames after the first lose their history
    # the first frame of a segment has no past, but it does see r frames ahead: only length 1 removes them
    assert torch.allclose(restore_segments(model, x, 2)[0], whole[0])


def test_margins_and_verdict():
    table = {"ours": {5: 30.0, 15: 30.5, 30: 31.0}, "a": {5: 29.9, 15: 30.0, 30: 30.0},
             "b": {5: 29.0, 15: 30.2, 30: 29.0}}
    m = margins(table, "ours", ["a", "b"])
    assert m == pytest.approx({5: 0.1, 15: 0.3, 30: 1.0})
    assert grows_with_length(m)
    assert not grows_with_length({5: 0.1, 15: 0.3, 30: 0.2})
    assert not grows_with_length({5: 0.1})
