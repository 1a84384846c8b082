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
    assert sum((weights_dir() / e["file"]).stat().st_size for e in manifest().values() if e.get("file")) <= 60 * 2**20


def test_the_plan_finds_every_shipped_entry():
    """What the runner does before training: each plan job with a shipped entry finds it (a weights file, or
    None for an identity baseline, which carries metrics only and is evaluated afresh)."""
    jobs = plan.jobs("cpu")
    by_key = {e["key"]: n for n, e in manifest().items()}
    for name, job in jobs.items():
        if name not in manifest():
            continue
        found = weights.shipped(job)
        if manifest()[name].get("file"):
            assert found is not None and found["name"] == by_key[found["key"]], name
        else:
            assert found is None and job.arch == "identity", name


def test_every_entry_records_its_provenance():
    for name, e in manifest().items():
        assert name in plan.jobs("cpu"), name
        has_file = bool(e.get("file"))  # an identity baseline has metrics only
        needed = ("key", "commit", "machine", "config", "metrics") + (("sha256", "steps", "seconds", "log") * has_file)
        for k in needed:
            assert e.get(k) not in (None, "", {}), f"{name}: no {k}"
        if has_file:
            assert (weights_dir() / e["log"]).is_file()
        else:
            assert e["arch"] == "identity", name


def test_the_shipped_teacher_measures_what_its_manifest_says():
    """The fp16 file, evaluated afresh on the test pairs its training evaluated on, at the zoom in use recorded
    beside it (its evaluation curve's), within 0.01 px EPE."""
    from s2svr.configs import load_config
    from s2svr.data.flow_pairs import load_flow_pairs
    from s2svr.train.loading import load_flow_net
    from s2svr.train.flow_evaluate import evaluate_flow
    import os

    import torch
    torch.set_num_threads(min(2, os.cpu_count() or 1))  # the suite runs one test at a time: both cores
    e = manifest()["flow/teacher"]
    assert e["use"] == {"zoom": 4}  # the plan's teacher runs at zoom 4 in use, not at the zoom it trained at (2)
    cfg = load_config("sr_reds4", "cpu")
    pairs = load_flow_pairs(cfg, "test", video=False)[:int(e["metrics"]["pairs"])]
    row = evaluate_flow(load_flow_net(weights_dir() / e["file"]), pairs, "hq", zoom=e["use"]["zoom"])
    assert abs(row["epe_all"] - e["metrics"]["epe_all"]) < 0.01


def test_a_small_shipped_restorer_measures_what_its_manifest_says():
    restorers = {n: e for n, e in manifest().items() if e["kind"] == "restore" and e.get("file")}
    if not restorers:
        pytest.skip("only the flow stages are shipped so far")
    name = min(restorers, key=lambda n: (weights_dir() / restorers[n]["file"]).stat().st_size)
    import torch
    from s2svr.train.data import build_test_sequences
    from s2svr.train.evaluate import evaluate_sequences
    from s2svr.train.loading import load_restorer
    torch.set_num_threads(1)
    model, cfg = load_restorer(weights_dir() / restorers[name]["file"])
    with torch.no_grad():
        ev = evaluate_sequences(model, build_test_sequences(cfg), cfg, progress=False)
    psnrs = [k for k in restorers[name]["metrics"] if "psnr" in k]  # psnr, or psnr_enhanced and delta_psnr (vqe)
    assert psnrs
    for k in psnrs:
        assert abs(ev["mean"][k] - restorers[name]["metrics"][k]) < 0.01, (name, k)
    # the per-clip scores a seed's run is read from (runner._adopt_scores) are as honest as the mean
    for clip, rec in restorers[name].get("per_sequence", {}).items():
        assert abs(ev["per_sequence"][clip][psnrs[0]] - rec[psnrs[0]]) < 0.01, (name, clip)


def test_flow_command_defaults_to_the_shipped_teacher(tmp_path, capsys):
    """`s2svr flow A B OUT.flo` with no --checkpoint: the reference HQ teacher, said in its one line."""
    import numpy as np
    from s2svr.cli import main
    from s2svr.data.flo import read_flo
    from s2svr.data.video_io import write_image
    from tests.flow.test_recipe import textured
    tex = textured(144)
    a, b = tex[..., 8:136, 8:136], tex[..., 10:138, 5:133]  # a(p) = b(p + (3, -2))
    to_u8 = lambda t: (t[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)  # noqa: E731
    write_image(tmp_path / "a.png", to_u8(a))
    write_image(tmp_path / "b.png", to_u8(b))
    assert main(["flow", str(tmp_path / "a.png"), str(tmp_path / "b.png"), str(tmp_path / "ab.flo")]) == 0
    assert "shipped reference teacher" in capsys.readouterr().out
    flow = read_flo(tmp_path / "ab.flo")
    assert flow.shape == (128, 128, 2)
    assert abs(np.median(flow[..., 0]) - 3) < 1 and abs(np.median(flow[..., 1]) + 2) < 1


def test_cost_adds_up_the_manifest():
    c = weights.cost("cpu")
    secs = [float(e.get("seconds") or 0) for e in manifest().values() if e.get("profile") == "cpu"]
    assert c["total"] == pytest.approx(sum(secs) / 3600) and c["wall_2_jobs"] == pytest.approx(c["total"] / 2)
    assert c["entries"] == len(secs) and 0 < c["bytes"] <= 60 * 2**20


def _zero_flow_epe(split: str, n: int) -> float:
    from s2svr.configs import load_config
    from s2svr.data.flow_pairs import load_flow_pairs
    from s2svr.flow.standins import ZeroFlow
    from s2svr.train.flow_evaluate import evaluate_flow
    pairs = load_flow_pairs(load_config("sr_reds4", "cpu"), split, video=False)[:n]
    return evaluate_flow(ZeroFlow(), pairs, "lq")["epe_all"]


def test_the_shipped_flow_stages_meet_the_recipe_targets():
    """The flow recipe's targets, judged on the `heldout` pairs, which chose nothing of the recipe (the test pairs
    chose items of it): the distilled SR student at most 0.6 of zero flow's EPE and below the student trained
    without distillation; the HQ teacher with over 60% of pixels passing its forward-backward check. The teacher's
    own target, at most half of zero flow's EPE, was met on the test pairs and is missed on the held-out motion
    types (0.52 x at its zoom in use when first measured): reported as an expected failure with the two ratios measured."""
    m = manifest()
    teacher, student = m["flow/teacher"]["heldout"], m["flow/sr/student"]["heldout"]
    nodistill = m["flow/sr/student-nodistill"]["heldout"]
    assert teacher["pairs"] == student["pairs"] == nodistill["pairs"] >= 24
    zero = _zero_flow_epe("heldout", int(teacher["pairs"]))
    assert student["epe_all"] <= 0.6 * zero, (student["epe_all"], zero)
    assert student["epe_all"] < nodistill["epe_all"]
    assert teacher["fb_pass"] > 0.6
    if not teacher["epe_all"] <= 0.5 * zero:
        pytest.xfail(f"the teacher is {teacher['epe_all'] / zero:.2f} x zero flow on the held-out pairs (target 0.5; "
                     f"on the test pairs {m['flow/teacher']['metrics']['epe_all'] / _zero_flow_epe('test', 40):.2f} x)")


def test_the_shipped_teacher_records_its_test_pairs_too():
    """The training-time curve's last row (the test pairs): the teacher within the target there, as it was tuned."""
    teacher = manifest()["flow/teacher"]["metrics"]
    assert teacher["pairs"] >= 40
    assert teacher["epe_all"] <= 0.5 * _zero_flow_epe("test", int(teacher["pairs"]))


def test_every_trained_restorer_records_its_validation_and_its_seeds():
    """Each cpu restorer but the input itself ships its validation score and neighbour gain (held-out training
    shots, data.val_clips), and every headline method its seeds (`plan.SEEDS`)."""
    from s2svr.experiments.plan import HEADLINE, SEEDS, TASK_CONFIGS
    m = manifest()
    restorers = {n: e for n, e in m.items() if e.get("profile") == "cpu" and e.get("kind") == "restore"}
    for name, e in restorers.items():
        if e["arch"] != "identity":
            assert e["validation"]["mean"] and e["validation"]["neighbour_windows"] > 0, name
    for task in TASK_CONFIGS:
        for arch in HEADLINE:
            assert {f"{task}/{arch}/seed{s}" for s in SEEDS["cpu"]} <= set(restorers), (task, arch)


def test_the_chapters_kept_measurements_are_those_of_todays_code():
    """`make memo`'s results (weights/memo/, read by `make book`): the book's longest measurements are there (the
    report's neighbour probes, the flow evaluations, Table 5's segments), and none was measured by sources that have changed since."""
    from s2svr.report import memo
    folder = weights_dir() / "memo"
    kept = [p.name for p in folder.glob("*.json")]
    assert sum(n.startswith("neighbour_gain-") for n in kept) == 6  # 3 tasks x the 2 networks that use a flow
    assert sum(n.startswith("evaluate_flow-") for n in kept) >= 20
    assert sum(n.startswith("_segment_frame_psnr-") for n in kept) == 3  # Table 5: the three trained SR networks
    stale = memo.stale(folder)
    assert stale == [], f"{len(stale)} kept results measured by older sources: run `make memo`"
