"""A frozen flow net run once per sequence (FlowBank): the clip's flows are cropped, augmented and mirrored in
time with its frames, and a model given them restores exactly what it restores running the flow net itself."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from s2svr.configs import load_config
from s2svr.data.clips import PairedClipDataset, augment_clip, augment_flow
from s2svr.flow.pwclite import PWCLite
from s2svr.flow.warp import flow_warp
from s2svr.models import S2SVR
from s2svr.models.baselines import BasicVSRBaseline
from s2svr.models.motion import estimate_flows
from s2svr.train import trainer
from s2svr.train.flow_bank import FlowBank


def _smooth(shape, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.avg_pool2d(torch.rand(*shape, generator=g), 5, 1, 2)
    return x * scale


@pytest.mark.parametrize("flips", list(itertools.product([False, True], repeat=3)))
def test_augmented_flow_warps_the_augmented_frame(flips):
    """aug(warp(img2, flow)) == warp(aug(img2), augment_flow(flow)): the sign and channel swaps are right."""
    img2 = _smooth((1, 3, 24, 20), 0)
    flow = (_smooth((1, 2, 24, 20), 1) - 0.5) * 8  # up to a few pixels, both components
    warped = flow_warp(img2, flow)
    as_frames = lambda t: t.permute(0, 2, 3, 1).numpy()  # noqa: E731  (1, C, H, W) -> (T=1, H, W, C)
    expect = augment_clip(as_frames(warped), *flips)
    aug_img2 = torch.from_numpy(np.ascontiguousarray(augment_clip(as_frames(img2), *flips))).permute(0, 3, 1, 2)
    aug_flow = torch.from_numpy(np.ascontiguousarray(augment_flow(flow.numpy(), *flips)))
    got = flow_warp(aug_img2, aug_flow).permute(0, 2, 3, 1).numpy()
    assert np.abs(got - expect).max() < 1e-5


def test_bank_mirrors_time_and_swaps_directions():
    fw = [np.arange(3 * 2 * 2 * 2, dtype=np.float32).reshape(3, 2, 2, 2)]
    bank = FlowBank(fw, [-fw[0] - 100])
    f, b = bank.clip(0, [2, 3, 2, 1])  # forward, then mirrored at the end of a 4-frame sequence
    assert np.array_equal(f[0], fw[0][2]) and np.array_equal(b[0], -fw[0][2] - 100)
    assert np.array_equal(f[1], -fw[0][2] - 100) and np.array_equal(b[1], fw[0][2])  # 3 -> 2 = bw of pair (2, 3)
    assert np.array_equal(f[2], -fw[0][1] - 100)
    f, b = FlowBank([np.zeros((0, 2, 5, 4), np.float32)], [np.zeros((0, 2, 5, 4), np.float32)]).clip(0, [0, 0])
    assert f.shape == (1, 2, 5, 4) and not f.any()  # a 1-frame sequence: no motion
    with pytest.raises(ValueError, match="not consecutive"):
        bank.clip(0, [0, 2])


@pytest.mark.parametrize("make", [
    lambda: S2SVR(task="sr", layout="paper", num_feat=8, num_blocks=1, num_layers=2, flow_size=None, flow_net=PWCLite()),
    lambda: S2SVR(task="sr", layout="official", num_feat=8, num_blocks=1, num_layers=2, flow_size=None,
                  flow_net=PWCLite()),
    lambda: BasicVSRBaseline(task="sr", num_feat=8, num_blocks=1, flow_size=None, flow_net=PWCLite()),
], ids=["s2svr-paper", "s2svr-official", "basicvsr"])
def test_model_given_its_own_flows_restores_the_same(make):
    torch.manual_seed(0)
    model = make().eval()
    lq = _smooth((4, 3, 16, 16), 3)[None]
    with torch.no_grad():
        flows = estimate_flows(model.flow, lq, None)
        assert torch.equal(model(lq, flows=flows), model(lq))
        other = model(lq, flows=tuple(torch.zeros_like(f) for f in flows))
    assert not torch.allclose(other, model(lq))  # the given flows are the ones used
    with pytest.raises(ValueError, match="precomputed flows"):
        model(lq, flows=(flows[0][:, :2], flows[1][:, :2]))


def test_dataset_crops_the_whole_frame_flows(tiny_config):
    cfg = load_config(tiny_config, "ci")
    from s2svr.train.data import build_train_sequences
    seqs = build_train_sequences(cfg)[:2]
    h, w = seqs[0].lq.read([0], "rgb").shape[1:3]
    fw = [np.random.default_rng(k).normal(size=(len(s) - 1, 2, h, w)).astype(np.float32) for k, s in enumerate(seqs)]
    bank = FlowBank(fw, [-f for f in fw])
    plain = PairedClipDataset(seqs, num_frames=3, patch_size=8, augment=False, seed=5)
    with_flows = PairedClipDataset(seqs, num_frames=3, patch_size=8, augment=False, seed=5, flows=bank)
    for i in range(4):
        a, b = plain[i], with_flows[i]
        assert torch.equal(a["frames_lq"], b["frames_lq"])  # the flows draw nothing: same crops as without
        assert b["flow_fw"].shape == (2, 2, 8, 8) and torch.equal(b["flow_bw"], -b["flow_fw"])
        # the crop is where the frames were cut: find it in the sequence's flows
        f = fw[i % 2][b["start"]]
        hits = [(t, l) for t in range(h - 7) for l in range(w - 7)
                if np.array_equal(f[:, t:t + 8, l:l + 8], b["flow_fw"][0].numpy())]
        assert len(hits) == 1


def test_frozen_flow_training_runs_the_flow_net_once_per_sequence(tiny_config, tmp_path, monkeypatch):
    cfg = load_config(tiny_config, "ci", overrides={"train": {"iters": 2, "val_every": 2, "flow_freeze_iters": 2},
                                                    "model": {"arch": "s2svr"}})
    calls = {"bank": 0, "flows": 0}
    real_compute = FlowBank.compute.__func__

    def counting(cls, *a, **k):
        calls["bank"] += 1
        return real_compute(cls, *a, **k)
    monkeypatch.setattr(FlowBank, "compute", classmethod(counting))
    real_forward = S2SVR.forward

    def forward(self, lq, *a, flows=None, **k):
        calls["flows"] += flows is not None
        return real_forward(self, lq, *a, flows=flows, **k)
    monkeypatch.setattr(S2SVR, "forward", forward)
    res = trainer.train(cfg, tmp_path / "run", progress=False)
    # once on the training sequences, once on the test ones (the validation); every step and every test video
    # restored with them
    from s2svr.train.data import build_test_sequences
    assert res.step == 2 and calls == {"bank": 2, "flows": 2 + len(build_test_sequences(cfg))}
    again = trainer.train(load_config(tiny_config, "ci", overrides={
        "train": {"iters": 4, "val_every": 2, "flow_freeze_iters": 4}, "model": {"arch": "s2svr"}}),
        tmp_path / "run4", progress=False, flow_cache=tmp_path / "shared")
    assert again.step == 4 and calls["bank"] == 4  # two validations, one bank: the second is read from the cache
    calls.update(bank=0, flows=0)
    off = load_config(tiny_config, "ci", overrides={"train": {"iters": 2, "val_every": 2, "flow_freeze_iters": 2,
                                                              "precompute_flow": False}, "model": {"arch": "s2svr"}})
    trainer.train(off, tmp_path / "off", progress=False)
    assert calls == {"bank": 0, "flows": 0}


def _close(a, b, tol=1e-4):
    return a["per_sequence"].keys() == b["per_sequence"].keys() and all(
        abs(a["per_sequence"][s][k] - b["per_sequence"][s][k]) < tol for s in a["per_sequence"] for k in ("psnr", "ssim"))


def _tiny_model(seed=0):
    torch.manual_seed(seed)
    return S2SVR(task="sr", layout="paper", num_feat=8, num_blocks=1, num_layers=2, flow_size=None,
                 flow_net=PWCLite()).eval()


def test_evaluation_with_cached_flows_scores_what_streaming_scores(tiny_config, tmp_path, monkeypatch):
    from s2svr.train.data import build_test_sequences
    from s2svr.train.evaluate import evaluate_sequences
    cfg = load_config(tiny_config, "ci")
    seqs = build_test_sequences(cfg)
    model = _tiny_model()
    plain = evaluate_sequences(model, seqs, cfg, progress=False)
    cached = evaluate_sequences(model, seqs, cfg, progress=False, flow_cache=tmp_path / "c")
    # the same flows, batched differently (a chunk of pairs, not one pair): a pixel may round the other way
    assert _close(cached, plain)
    assert len(list((tmp_path / "c").glob("*.npz"))) == 1
    calls = []
    real = FlowBank.compute.__func__
    monkeypatch.setattr(FlowBank, "compute", classmethod(lambda cls, *a, **k: calls.append(1) or real(cls, *a, **k)))
    evaluate_sequences(model, seqs, cfg, progress=False, flow_cache=tmp_path / "c")
    assert calls == []  # the same flow net on the same frames: read back
    other = _tiny_model(seed=1)  # other flow weights: another bank, and other scores
    res = evaluate_sequences(other, seqs, cfg, progress=False, flow_cache=tmp_path / "c")
    assert calls == [1] and len(list((tmp_path / "c").glob("*.npz"))) == 2
    assert _close(res, evaluate_sequences(other, seqs, cfg, progress=False)) and not _close(res, plain)


def test_a_damaged_cached_bank_is_computed_again(tiny_config, tmp_path):
    from s2svr.train.data import build_test_sequences
    cfg = load_config(tiny_config, "ci")
    seqs = build_test_sequences(cfg)
    net = _tiny_model().flow
    first = FlowBank.cached(net, seqs, "rgb", cache_dir=tmp_path, max_frames=3)
    (path,) = tmp_path.glob("*.npz")
    assert [len(f) for f in first.fw] == [2] * len(seqs)  # max_frames: the first 3 frames, 2 pairs
    path.write_bytes(b"not an npz")
    again = FlowBank.cached(net, seqs, "rgb", cache_dir=tmp_path, max_frames=3)
    assert all(np.array_equal(a, b) for a, b in zip(first.fw + first.bw, again.fw + again.bw))
    assert FlowBank.load(path, len(seqs)).fw[0].shape == first.fw[0].shape  # written whole again


def test_flows_in_use_come_in_calls_bounded_by_memory(monkeypatch):
    """Large frames get fewer pairs per PWC-Lite call (one at 320x180, zoom 4), small ones up to
    FLOW_PAIRS_IN_USE; and the calls' flows are the one batched call's."""
    from s2svr.flow.use import FlowUse
    from s2svr.models import motion
    net = PWCLite().eval()
    net.use = FlowUse(zoom=4.0)
    assert motion.pairs_per_call(net, 180, 320) == 1
    assert motion.pairs_per_call(net, 34, 80) == motion.FLOW_PAIRS_IN_USE
    assert motion.pairs_per_call(net, 1080, 1920, flow_size=256) == motion.FLOW_PAIRS_IN_USE  # resized: no zoom
    net.use = FlowUse(zoom=1.0)
    clip = torch.stack([torch.roll(_smooth((1, 3, 32, 48), 0), i, dims=-1) for i in range(4)], dim=1)
    with torch.no_grad():
        whole = estimate_flows(net, clip, None)
        monkeypatch.setattr(motion, "FLOW_USE_BYTES", 1)  # one pair per call
        assert motion.pairs_per_call(net, 32, 48) == 1
        single = estimate_flows(net, clip, None)
    for a, b in zip(whole, single):
        assert a.shape == (1, 3, 2, 32, 48) and torch.allclose(a, b, atol=1e-4)
