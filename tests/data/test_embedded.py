"""Embedded dataset: split by source, cache and atomic build, the reading API, and the real recipe (slow)."""
import json
import time

import numpy as np
import pytest
import torch

from s2svr.data import embedded as E
from s2svr.data import embedded_recipe as R
from s2svr.data.embedded import (build_embedded, embedded_card, embedded_flow_clips, embedded_flow_pairs,
                                 embedded_sequences)
from s2svr.flow.warp import flow_warp


def _split_sources(rec):
    out = {"train": set(), "test": set()}
    for subset in E.SUBSETS:
        for split in rec[subset]:
            for clip in rec[subset][split]:  # held-out flow clips use test sources only
                out["train" if split == "train" else "test"] |= R.sources_of(subset, clip)
    return out


@pytest.mark.parametrize("small", [False, True])
def test_recipe_train_and_test_sources_are_disjoint(small):
    rec = R.recipe(small)
    src = _split_sources(rec)
    assert src["train"] and src["test"] and not (src["train"] & src["test"])
    for subset in ("sr", "deblur", "vqe"):
        for split in ("train", "test"):
            for clip in rec[subset][split]:
                if clip["source"] == "bikes":          # clips stay inside one shot of their split
                    assert {R.bikes_split(f) for f in range(*clip["frames"])} == {split}
                else:
                    assert R.SOURCE_SPLIT[clip["source"]] == split


def test_recipe_hash_changes_with_the_recipe(monkeypatch):
    h = R.recipe_hash(R.recipe())
    assert R.recipe_hash(R.recipe()) == h and R.recipe_hash(R.recipe(small=True)) != h
    monkeypatch.setattr(R, "RECIPE_VERSION", R.RECIPE_VERSION + 1)
    assert R.recipe_hash(R.recipe()) != h


@pytest.fixture(scope="module")
def small_root(tmp_path_factory):
    return build_embedded(tmp_path_factory.mktemp("emb") / "embedded", small=True, progress=False, workers=1)


def test_small_build_layout_and_cache(small_root):
    stamp = json.loads((small_root / "STAMP.json").read_text())
    assert stamp["recipe"] == "small" and stamp["hash"] == R.recipe_hash(R.recipe(True))
    for subset in E.SUBSETS:
        assert (small_root / subset / "card.md").exists() and (small_root / subset / "meta.json").exists()
    assert list((small_root / "vqe" / "test" / "raw").glob("carphone_176x144_6.yuv"))
    assert (small_root / "vqe" / "test" / "x265_LDP" / "QP37" / "carphone_176x144_6.yuv").exists()
    t0 = time.time()
    assert build_embedded(small_root, small=True, progress=False) == small_root     # up to date: no rebuild
    assert time.time() - t0 < 1.0
    assert not E.is_built(small_root, small=False)                                   # other recipe: stale


def test_interrupted_build_leaves_nothing(tmp_path, monkeypatch, small_root):
    def boom(*args):
        raise KeyboardInterrupt
    monkeypatch.setitem(E.JOBS, "flow", boom)
    with pytest.raises(KeyboardInterrupt):
        build_embedded(tmp_path / "new", small=True, progress=False, workers=1)
    with pytest.raises(KeyboardInterrupt):      # forced rebuild of an existing dataset keeps the old one
        build_embedded(small_root, force=True, small=True, progress=False, workers=1)
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir() if ".building" in p.name] == []
    assert [p.name for p in small_root.parent.iterdir() if ".building" in p.name] == []
    assert E.is_built(small_root, small=True)


@pytest.mark.parametrize("task", ["sr", "deblur", "vqe"])
def test_sequences(small_root, task):
    for split in ("train", "test"):
        seqs = embedded_sequences(small_root, task, split)
        assert len(seqs) == 1
        s = seqs[0]
        lq, gt = s.lq.read(range(len(s))), s.gt.read(range(len(s)))
        assert lq.dtype == gt.dtype == np.uint8 and len(lq) == len(gt) == len(s) > 1
        assert gt.shape[1:3] == tuple(s.scale * n for n in lq.shape[1:3])
        if task == "sr":
            assert s.scale == 4
        if task == "vqe":
            assert s.lq.kind == s.gt.kind == "yuv"
            y_lq, y_gt = s.lq.read(range(len(s)), mode="y"), s.gt.read(range(len(s)), mode="y")
            psnr = 10 * np.log10(255 ** 2 / ((y_lq.astype(float) - y_gt) ** 2).mean())
            assert 25 < psnr < 45
        if task == "deblur":
            assert 20 < E._psnr(lq, gt) < 45          # blurred, but the same scene
    with pytest.raises(ValueError, match="task"):
        embedded_sequences(small_root, "denoise", "test")


@pytest.mark.parametrize("degradation", ["none", "sr", "blur", "vqe"])
def test_flow_pairs(small_root, degradation):
    pairs = embedded_flow_pairs(small_root, "test", degradation)
    clips = embedded_flow_clips(small_root, "test", degradation)
    assert len(pairs) == sum(len(c["flow_fw"]) for c in clips) == 2
    p = pairs[0]
    h, w = p["frames_gt"].shape[1:3]
    assert p["frames_gt"].shape == (2, h, w, 3) and p["flow_fw"].shape == p["flow_bw"].shape == (2, h, w)
    assert p["occ_fw"].shape == (1, h, w) and p["flow_fw"].dtype == np.float32
    assert p["frames_lq"].shape[1:3] == ((h // 4, w // 4) if degradation == "sr" else (h, w))
    # GT flow convention: warping frame 2 with flow_fw gives frame 1 on visible pixels.
    f2 = torch.from_numpy(p["frames_gt"][1]).permute(2, 0, 1)[None].float()
    warped = flow_warp(f2, torch.from_numpy(p["flow_fw"])[None])[0].permute(1, 2, 0).numpy()
    err = np.abs(warped - p["frames_gt"][0]).mean(-1)
    vis = p["occ_fw"][0] == 0
    assert vis.mean() > 0.5 and np.median(err[vis]) < 2.0


def test_cards(small_root):
    for subset in E.SUBSETS:
        text = embedded_card(subset, root=small_root)
        assert text.startswith(f"# Embedded `{subset}` subset") and "Split by source" in text
        assert "| clip | sources |" in text
    assert "Not built yet" in embedded_card("sr", root=small_root / "nowhere")


@pytest.mark.slow
def test_full_recipe_builds(tmp_path):
    """The real recipe: offline, about a minute on 2 cores, < 150 MB, train/test disjoint in what was built."""
    t0 = time.time()
    root = build_embedded(tmp_path / "embedded", progress=False)
    seconds = time.time() - t0
    stamp = json.loads((root / "STAMP.json").read_text())
    assert stamp["recipe"] == "full" and stamp["megabytes"] < 150
    assert seconds < 180            # about a minute on an idle 2-core machine; generous for loaded CI
    built = {"train": set(), "test": set(), "heldout": set()}
    for subset in E.SUBSETS:
        for m in json.loads((root / subset / "meta.json").read_text())["clips"]:
            built[m["split"]] |= set(m["sources"])
    assert not (built["train"] & built["test"]) and not (built["train"] & built["heldout"])
    counts = {t: (len(embedded_sequences(root, t, "train")), len(embedded_sequences(root, t, "test"))) for t in E.TASKS}
    assert counts == {"sr": (11, 3), "deblur": (6, 3), "vqe": (6, 3)}
    assert min(len(s) for s in embedded_sequences(root, "sr", "test")) >= 50  # Table 5's 50-frame row
    sr = embedded_sequences(root, "sr", "test")[0]
    assert sr.gt.read([0]).shape == (1, 136, 320, 3) and sr.lq.read([0]).shape == (1, 34, 80, 3)
    assert len(embedded_flow_pairs(root, "test", "sr")) == 40
    held = embedded_flow_pairs(root, "heldout", "sr")
    assert len(held) == 24 and {p["motion"] for p in held} == {"zoom", "rotation", "fast"}


def test_a_real_dataset_measures_flow_on_the_embedded_flow_set(small_root, monkeypatch):
    """REDS, GOPRO, MFQEv2 have no ground-truth flow: a flow stage's EPE curve runs on the embedded pairs."""
    from s2svr.configs import load_config
    from s2svr.data.flow_pairs import truth_pairs
    monkeypatch.setattr(E, "DEFAULT_ROOT", small_root)
    for config, degradation in (("sr_reds4", "sr"), ("deblur_gopro", "blur"), ("vqe_mfqe", "vqe")):
        pairs = truth_pairs(load_config(config, "paper"), "test")
        assert [p["name"] for p in pairs] == [p["name"] for p in E.embedded_flow_pairs(small_root, "test", degradation)]
        assert all(p["flow_fw"] is not None and p["degradation"] == degradation for p in pairs)
    ci = load_config("sr_reds4", "ci", overrides={"data": {"root": str(small_root)}})  # already embedded: its own
    assert [p["name"] for p in truth_pairs(ci, "test")] == [p["name"] for p in E.embedded_flow_pairs(small_root,
                                                                                                     "test", "sr")]
