"""Shipped weights as a pre-filled cache: export, digests, stale config hashes, adoption without training."""
import json

import pytest

from s2svr.experiments import plan, weights
from s2svr.experiments.jobs import ExperimentError
from s2svr.experiments.runner import run

NAMES = ["flow/teacher", "flow/sr/student", "sr/single_frame"]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, monkeypatch_module):
    out = tmp_path_factory.mktemp("outputs")
    dest = tmp_path_factory.mktemp("weights")
    monkeypatch_module.setenv("S2SVR_WEIGHTS", str(dest))
    trained = plan.results("ci", NAMES, output_dir=out, progress=False, shipped=False, train=True)
    weights.export("ci", out, dest, names=NAMES)
    return out, dest, trained


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_export_writes_fp16_files_with_provenance(shipped):
    _, dest, trained = shipped
    doc = json.loads((dest / "manifest.json").read_text())
    assert set(doc["entries"]) == set(NAMES)
    for name, e in doc["entries"].items():
        assert (dest / e["file"]).is_file() and e["sha256"] == weights.sha256_file(dest / e["file"])
        assert e["key"] and e["commit"] and e["machine"] and e["profile"] == "ci" and e["steps"] >= 1
        assert (dest / e["log"]).is_file()
    assert doc["entries"]["sr/single_frame"]["metrics"] == trained["sr/single_frame"]["mean"]
    from s2svr.train.checkpoint import load_checkpoint
    st = load_checkpoint(dest / doc["entries"]["flow/teacher"]["file"], kind="flow")
    assert all(v.dtype.is_floating_point is False or str(v.dtype) == "torch.float16" for v in st["model"].values())
    assert "optimizer" not in st and weights.check("ci") == []


def test_flow_entries_carry_their_heldout_metrics(shipped):
    """Every shipped flow stage is measured on the pairs that chose nothing (`heldout`), at its recorded use, on
    its own frames: the teacher on HQ, the student on LQ (where the student's error is not the teacher's)."""
    _, dest, _ = shipped
    from s2svr.configs import load_config
    from s2svr.data.flow_pairs import load_flow_pairs
    doc = json.loads((dest / "manifest.json").read_text())["entries"]
    n = len(load_flow_pairs(load_config("sr_reds4", "ci"), "heldout", video=False))
    for name in ("flow/teacher", "flow/sr/student"):
        h = doc[name]["heldout"]
        assert h["pairs"] == n > 0 and h["epe_all"] > 0 and 0 <= h["fb_pass"] <= 1
    assert doc["flow/teacher"]["heldout"] != doc["flow/sr/student"]["heldout"]
    assert "heldout" not in doc["sr/single_frame"]


def test_the_book_builds_from_the_shipped_weights_without_training(shipped, tmp_path, monkeypatch):
    _, dest, trained = shipped
    import s2svr.experiments.runner as runner
    launched = []
    real = runner._launch
    def spy(job, root, progress, entry=None, *a, **k):
        launched.append((job, entry))
        return real(job, root, progress, entry, *a, **k)
    monkeypatch.setattr(runner, "_launch", spy)
    res = plan.results("ci", NAMES, output_dir=tmp_path, progress=False, train=False)
    assert res["flow/teacher"]["shipped"] == "flow/teacher"  # adopted, not launched
    assert launched == []  # the restorer too: with the scores its entry recorded (restored frames on demand)
    assert res["sr/single_frame"]["mean"] == trained["sr/single_frame"]["mean"] and res["sr/single_frame"]["on_demand"]


def test_a_job_neither_cached_nor_shipped_is_refused_without_train(shipped, tmp_path):
    with pytest.raises(ExperimentError, match="make weights"):
        plan.results("ci", ["sr/basicvsr"], output_dir=tmp_path, progress=False, train=False)


def test_digest_and_stale_config_checks_name_the_entry(shipped, monkeypatch):
    _, dest, _ = shipped
    doc = json.loads((dest / "manifest.json").read_text())
    f = dest / doc["entries"]["sr/single_frame"]["file"]
    data = f.read_bytes()
    try:
        f.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
        assert any("sr/single_frame" in p and "sha256" in p for p in weights.check("ci"))
    finally:
        f.write_bytes(data)
    real_jobs = plan.jobs

    def changed(profile):
        js = real_jobs(profile)
        js["flow/teacher"] = js["flow/teacher"].with_overrides(flow={"optim": {"lr": 1e-3}})
        return js
    monkeypatch.setattr(plan, "jobs", changed)
    problems = weights.check("ci")
    assert any(p.startswith("flow/teacher: stale") and "make weights" in p for p in problems)


def test_keep_shipped_exports_the_adopted_entries_unchanged(shipped, tmp_path, monkeypatch):
    """`make weights KEEP=1`: what weights/ holds is adopted, not retrained, and exported with its own provenance."""
    import shutil
    _, dest, _ = shipped
    earlier = tmp_path / "earlier"
    shutil.copytree(dest, earlier)
    doc = json.loads((earlier / "manifest.json").read_text())
    doc["entries"]["flow/teacher"]["commit"] = "an-earlier-session"
    (earlier / "manifest.json").write_text(json.dumps(doc))
    monkeypatch.setenv("S2SVR_WEIGHTS", str(earlier))
    out = tmp_path / "run"
    plan.results("ci", NAMES, output_dir=out, progress=False, shipped=True, train=True)
    new = tmp_path / "new"
    weights.export("ci", out, new, names=NAMES)
    got = json.loads((new / "manifest.json").read_text())["entries"]
    assert got["flow/teacher"] == doc["entries"]["flow/teacher"]  # kept, not re-stamped with this commit
    assert (new / got["flow/teacher"]["file"]).read_bytes() == (earlier / got["flow/teacher"]["file"]).read_bytes()
    assert got["sr/single_frame"]["key"] == doc["entries"]["sr/single_frame"]["key"]


def test_export_again_keeps_the_entries_already_exported_and_rewrites_a_changed_one(shipped, monkeypatch):
    """Exporting a run into the weights/ it was exported to: an entry with the same key and an intact file is kept
    byte for byte (git sees no change); a damaged file is written again."""
    out, dest, _ = shipped
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    doc = json.loads((dest / "manifest.json").read_text())
    doc["entries"]["flow/sr/student"]["commit"] = "an-earlier-session"
    (dest / "manifest.json").write_text(json.dumps(doc))
    teacher = dest / doc["entries"]["flow/teacher"]["file"]
    teacher.write_bytes(teacher.read_bytes()[:-10])  # damaged: exported afresh
    try:
        weights.export("ci", out, dest, names=NAMES)
        got = json.loads((dest / "manifest.json").read_text())["entries"]
        assert got["flow/sr/student"]["commit"] == "an-earlier-session"  # kept as it was
        student = dest / got["flow/sr/student"]["file"]
        assert student.read_bytes() == before[student.name]
        assert len(teacher.read_bytes()) == len(before[teacher.name])  # written whole again
        assert weights.sha256_file(teacher) == got["flow/teacher"]["sha256"]
    finally:  # the module's other tests see weights/ as it was
        for name, data in before.items():
            (dest / name).write_bytes(data)


def test_a_shipped_run_without_outputs_is_read_from_its_scores(shipped, tmp_path, monkeypatch):
    """A restorer that keeps no restored frames (a seed's run) is adopted with the per-clip scores its entry
    recorded at export, not evaluated again; one that keeps them (the figures' runs) is still evaluated."""
    import dataclasses
    import s2svr.experiments.runner as runner
    import s2svr.reference as reference
    _, dest, trained = shipped
    doc = json.loads((dest / "manifest.json").read_text())["entries"]
    e = doc["sr/single_frame"]
    assert e["per_sequence"] == trained["sr/single_frame"]["per_sequence"] and e["convention"]
    job = dataclasses.replace(plan.jobs("ci")["sr/single_frame"], save_outputs=False)
    entry = {**e, "name": "sr/single_frame", "path": str(dest / e["file"]), "log_path": None}
    monkeypatch.setattr(reference, "shipped_entry", lambda k: entry if k == runner.key(job) else None)
    launched = []
    monkeypatch.setattr(runner, "_launch", lambda j, *a, **k: launched.append(j))
    res = run([job], tmp_path, progress=False, train=False)[job]
    assert launched == [] and res["per_sequence"] == e["per_sequence"] and res["mean"] == e["metrics"]
    assert res["outputs"] is None and res["shipped"] == "sr/single_frame"
    with_val = dataclasses.replace(job, overrides=json.dumps({"data": {"val_clips": ["bbb_05"]}}))
    assert not runner._scores_only(with_val, entry)  # its config validates, its entry has no validation: evaluated


def test_a_figures_run_is_adopted_and_restores_a_clip_when_a_chapter_asks(shipped, tmp_path, monkeypatch):
    """A shipped restorer that keeps its restored frames is adopted from its recorded scores too; the first
    `restored_frames` call restores that one clip from the shipped weights, as the evaluation did (within the
    fp16 weights' 0.01 dB), and later calls read the file."""
    import numpy as np
    import s2svr.experiments.runner as runner
    import s2svr.reference as reference
    from s2svr.report import runs
    from s2svr.report.per_frame import frame_psnr
    _, dest, trained = shipped
    e = json.loads((dest / "manifest.json").read_text())["entries"]["sr/single_frame"]
    job = plan.jobs("ci")["sr/single_frame"]
    entry = {**e, "name": "sr/single_frame", "path": str(dest / e["file"]), "log_path": None}
    monkeypatch.setattr(reference, "shipped_entry", lambda k: entry if k == runner.key(job) else None)
    monkeypatch.setattr(runner, "_launch", lambda j, *a, **k: pytest.fail("launched"))
    res = run([job], tmp_path, progress=False, train=False)[job]
    assert res["on_demand"] and res["mean"] == e["metrics"]
    seq = sorted(e["per_sequence"])[0]
    assert not list((tmp_path).rglob("*.npy"))  # nothing restored yet
    frames = runs.restored_frames(res, seq)
    assert sorted(p.name for p in tmp_path.rglob("*.npy")) == [f"{seq.replace('/', '_')}.npy"]  # that clip only
    _, gt = runs.reference_frames(res, seq)
    assert abs(frame_psnr(frames, gt, res["convention"]).mean() - e["per_sequence"][seq]["psnr"]) < 0.01
    want = np.load(f"{trained['sr/single_frame']['outputs']}/{seq.replace('/', '_')}.npy")
    assert frames.shape == want.shape and np.abs(frames.astype(int) - want).max() <= 2
    monkeypatch.setattr(runs, "_restore_on_demand", lambda *a: pytest.fail("restored twice"))
    assert np.array_equal(runs.restored_frames(res, seq), frames)
