"""Tests for s2svr.report.segments (Table 5, sequence length): segments cover every frame once; a frame-wise
model scores the same whatever the segment length; a recurrent model restored in one segment equals the
whole-clip restoration and differs when cut into single frames; the margin verdict."""
import numpy as np
from s2svr import metrics
import pytest
import torch

from s2svr.flow.memo import FlowMemo
from s2svr.report.segments import grows_with_length, margins, restore_segments, segment_bounds, segment_frame_psnr
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


class CountingFlow(torch.nn.Module):
    """A smooth, input-dependent flow (so that caching mistakes change the output) that counts its pairs."""

    def __init__(self):
        super().__init__()
        self.pairs = 0

    def forward(self, img1, img2, with_bw=False, work_size=None):
        self.pairs += img1.shape[0]
        d = (img2 - img1).mean(1, keepdim=True)  # (B, 1, H, W)
        fw = torch.cat([d, -d], 1)
        return (fw, -fw) if with_bw else fw


@pytest.mark.parametrize("arch", ["s2svr", "basicvsr"])
def test_flow_memo_computes_each_pair_once_and_changes_nothing(arch):
    torch.manual_seed(0)
    cfg = load_config("sr_reds4", "ci", overrides={"model": {"arch": arch}})
    model = build_model(cfg.model).eval()
    counting = CountingFlow()
    model.flow = counting
    x = torch.rand(7, 3, 8, 8)
    plain = {L: restore_segments(model, x, L) for L in (2, 3, 7)}
    assert counting.pairs > 6
    memo = FlowMemo(counting)
    model.flow = memo
    cached = {L: restore_segments(model, x, L) for L in (2, 3, 7)}
    assert memo.calls == 6  # the 6 adjacent pairs of 7 frames, whatever the segments
    for L in plain:
        assert torch.allclose(plain[L], cached[L], atol=1e-6)


def test_shared_flow_cache_is_keyed_by_weights():
    cache = {}
    x1, x2 = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    a, b = FlowMemo(CountingFlow(), cache), FlowMemo(CountingFlow(), cache)  # equal (weightless) nets: shared
    a(x1, x2)
    b(x1, x2)
    assert (a.calls, b.calls) == (1, 0)
    w1, w2 = CountingFlow(), CountingFlow()
    w2.register_buffer("gain", torch.ones(1))  # different state: not shared
    c, d = FlowMemo(w1, cache), FlowMemo(w2, cache)
    assert c.weights != d.weights
    c(x1, x2)
    d(x1, x2)
    assert (c.calls, d.calls) == (0, 1)  # c is a weightless CountingFlow like a and b: already cached


def test_whole_clip_outputs_are_reused_only_for_whole_clips():
    cfg = load_config("sr_reds4", "ci", overrides={"model": {"arch": "identity"}})
    model = build_model(cfg.model).eval()
    clips = _clips(t=4)
    whole = {name: np.zeros_like(gt) for name, _, gt in clips}  # a sentinel no model would produce
    rows = segment_frame_psnr(model, clips, cfg, lengths=(2, 4, 9), whole=whole)
    by_len = {L: np.mean([r["psnr"] for r in rows if r["length"] == L]) for L in (2, 4, 9)}
    assert by_len[4] == by_len[9] != by_len[2]
    zero_psnr = np.mean([metrics.psnr(np.zeros_like(g), g) for _, _, gt in clips for g in gt])
    assert by_len[4] == pytest.approx(zero_psnr)
