"""The weights this repository ships (weights/, profile cpu): every digest, every config hash, and a fresh
measurement of a shipped model against the number its manifest records."""
from __future__ import annotations

import pytest

from s2svr.experiments import plan, weights
from s2svr.reference import manifest, weights_dir

pytestmark = pytest.mark.skipif(not manifest(), reason="no weights shipped in this checkout")


@pytest.fixture(autouse=True)
def repo_weights(monkeypatch):
    monkeypatch.delenv("S2SVR_WEIGHTS", raising=False)  # the repository's own folder


def test_every_shipped_entry_is_current_and_intact():
    problems = weights.check("cpu")
    assert problems == [], "\n".join(problems)
    assert sum((weights_dir() / e["file"]).stat().st_size for e in manifest().values()) <= 60 * 2**20


def test_every_entry_records_its_provenance():
    for name, e in manifest().items():
        assert name in plan.jobs("cpu"), name
        for k in ("key", "sha256", "commit", "machine", "steps", "seconds", "config", "metrics", "log"):
            assert e.get(k) not in (None, "", {}), f"{name}: no {k}"
        assert (weights_dir() / e["log"]).is_file()


def test_the_shipped_teacher_measures_what_its_manifest_says():
    """The fp16 file, evaluated afresh on the test pairs its training evaluated on, within 0.01 px EPE."""
    from s2svr.configs import load_config
    from s2svr.data.flow_pairs import load_flow_pairs
    from s2svr.train.flow import load_flow_model
    from s2svr.train.flow_evaluate import evaluate_flow
    import torch
    torch.set_num_threads(1)
    e = manifest()["flow/teacher"]
    cfg = load_config("sr_reds4", "cpu")
    pairs = load_flow_pairs(cfg, "test", video=False)[:int(e["metrics"]["pairs"])]
    row = evaluate_flow(load_flow_model(weights_dir() / e["file"]), pairs, "hq")
    assert abs(row["epe_all"] - e["metrics"]["epe_all"]) < 0.01


def test_a_small_shipped_restorer_measures_what_its_manifest_says():
    restorers = {n: e for n, e in manifest().items() if e["kind"] == "restore" and e.get("file")}
    if not restorers:
        pytest.skip("only the flow stages are shipped so far")
    name = min(restorers, key=lambda n: (weights_dir() / restorers[n]["file"]).stat().st_size)
    import torch
    from s2svr.train.data import build_test_sequences
    from s2svr.train.evaluate import evaluate_sequences
    from s2svr.train.trainer import model_from_checkpoint
    torch.set_num_threads(1)
    model, cfg = model_from_checkpoint(weights_dir() / restorers[name]["file"])
    with torch.no_grad():
        ev = evaluate_sequences(model, build_test_sequences(cfg), cfg, progress=False)
    assert abs(ev["mean"]["psnr"] - restorers[name]["metrics"]["psnr"]) < 0.01, name
