"""s2svr.experiments: jobs run once, are found again by their resolved config, and fail with one line."""
from __future__ import annotations

import json

import pytest

from s2svr.experiments import ExperimentError, FlowJob, RestoreJob, cached, job_dir, key, run, runner


def test_key_follows_the_resolved_config():
    a = RestoreJob("sr_reds4", "ci", arch="single_frame")
    assert key(a) == key(RestoreJob("sr_reds4", "ci", arch="single_frame"))
    assert key(a) != key(RestoreJob("sr_reds4", "ci", arch="s2svr"))
    assert key(a) != key(a.with_overrides(train={"iters": 3}))
    t1, t2 = FlowJob("sr_reds4", "ci", "teacher"), FlowJob("sr_reds4", "ci", "teacher").with_overrides(seed=1)
    # a student's identity includes its teacher's
    assert key(FlowJob("sr_reds4", "ci", "student", teacher=t1)) != key(FlowJob("sr_reds4", "ci", "student", teacher=t2))


def test_flow_stage_identity_is_what_the_stage_reads():
    t = FlowJob("sr_reds4", "ci", "teacher")
    # the restorers' budget and size do not retrain (or stale) a flow stage; its own recipe and data do
    assert key(t) == key(t.with_overrides(train={"iters": 7}, model={"num_feat": 4}))
    assert key(t) != key(t.with_overrides(flow={"optim": {"lr": 1e-5}}))
    assert key(t) != key(t.with_overrides(data={"root": "elsewhere"}))
    assert t.with_overrides(train={"iters": 7}).resolved()["config"]["train"]["iters"] == 7  # the worker gets it all


def test_run_trains_evaluates_and_reuses(tmp_path, monkeypatch):
    teacher = FlowJob("sr_reds4", "ci", "teacher")
    student = FlowJob("sr_reds4", "ci", "student", teacher=teacher)
    s2svr = RestoreJob("sr_reds4", "ci", arch="s2svr", flow=student)
    ident = RestoreJob("sr_reds4", "ci", arch="identity")
    res = run([s2svr, ident], tmp_path, workers=2, progress=False)
    assert set(res) == {teacher, student, s2svr, ident}   # dependencies ran too
    assert res[ident]["steps"] == 0 and res[ident]["checkpoint"] is None
    assert res[s2svr]["steps"] == 2 and "psnr" in res[s2svr]["mean"]
    spec = json.loads((job_dir(s2svr, tmp_path) / "job.json").read_text())
    assert spec["flow_checkpoint"] == res[student]["checkpoint"]     # the flow net started from the student
    outputs = list((job_dir(s2svr, tmp_path) / "outputs").glob("*.npy"))
    assert len(outputs) == len(res[s2svr]["per_sequence"])
    stamp = (job_dir(s2svr, tmp_path) / "result.json").stat().st_mtime_ns
    launched = []
    monkeypatch.setattr(runner, "_launch", lambda job, *a: launched.append(job))
    again = run([s2svr], tmp_path, progress=False)
    assert launched == [] and again[s2svr] == res[s2svr]     # nothing computed again
    assert (job_dir(s2svr, tmp_path) / "result.json").stat().st_mtime_ns == stamp
    assert cached(RestoreJob("sr_reds4", "ci", arch="basicvsr"), tmp_path) is None


def test_a_failing_job_names_itself_and_leaves_no_result(tmp_path):
    bad = RestoreJob("sr_reds4", "ci", arch="single_frame").with_overrides(data={"dataset": "reds", "root": str(tmp_path / "nowhere")})
    with pytest.raises(ExperimentError, match=r"sr_reds4-single_frame-\w+: failed .*log"):
        run([bad], tmp_path, progress=False)
    assert cached(bad, tmp_path) is None


def test_a_dependent_job_is_not_queued_behind_independent_ones(tmp_path, monkeypatch):
    teacher = FlowJob("sr_reds4", "ci", "teacher")
    student = FlowJob("sr_reds4", "ci", "student", teacher=teacher)
    others = [RestoreJob("sr_reds4", "ci", arch="single_frame").with_overrides(seed=s) for s in range(3)]
    started = []

    def fake(job, root, progress, entry=None, nproc=1):
        started.append(job)
        return {"checkpoint": "x", "seconds": 0, "spec": {}}
    monkeypatch.setattr(runner, "_launch", fake)
    run([teacher, student, *others], tmp_path, workers=1, progress=False)
    # one worker: the student goes right after its teacher, before the independent jobs that were ready earlier
    assert started[:2] == [teacher, student] and set(started[2:]) == set(others)


def test_a_job_locked_by_another_runner_is_waited_for_not_run_twice(tmp_path, monkeypatch):
    """Two runners on one root: the second blocks on the job's lock and reads the first one's result."""
    import fcntl
    import threading

    from s2svr.experiments import runner as runner_mod
    from s2svr.experiments.jobs import RestoreJob
    job = RestoreJob("sr_reds4", "ci", arch="identity")
    d = runner_mod.job_dir(job, tmp_path)
    d.mkdir(parents=True)
    launched = []
    monkeypatch.setattr(runner_mod, "_launch_locked", lambda *a: launched.append(a) or {"ran": True})
    lock = open(d / ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # "another runner" holds the job
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("res", runner_mod._launch(job, tmp_path, False)))
    t.start()
    t.join(0.5)
    assert t.is_alive() and not launched  # waiting, not running it
    (d / "result.json").write_text('{"mean": {"psnr": 1.0}}')  # the other runner finishes
    fcntl.flock(lock, fcntl.LOCK_UN)
    t.join(5)
    assert out["res"] == {"mean": {"psnr": 1.0}} and not launched


def test_the_paper_plan_fine_tunes_vimeo_from_the_reds_model():
    from s2svr.experiments.jobs import key
    from s2svr.experiments.plan import jobs
    paper, cpu = jobs("paper"), jobs("cpu")
    vimeo = paper["sr_vimeo/s2svr"]
    assert vimeo.init is paper["sr/s2svr"] and paper["sr/s2svr"] in vimeo.dependencies()
    assert vimeo.resolved()["init"] == key(paper["sr/s2svr"]) and "init" not in paper["sr/s2svr"].resolved()
    assert "sr_vimeo/s2svr" not in cpu  # the embedded profiles train the REDS config only


@pytest.mark.slow
def test_a_job_fine_tunes_from_another_jobs_weights(tmp_path):
    import json

    from s2svr.experiments.jobs import RestoreJob
    from s2svr.experiments.runner import job_dir, run
    base = RestoreJob("sr_reds4", "ci", arch="single_frame", save_outputs=False)
    tuned = RestoreJob("sr_reds4", "ci", arch="single_frame", save_outputs=False, init=base).with_overrides(
        train={"lr": 1e-5})
    res = run([tuned], tmp_path, workers=1, progress=False, shipped=False)
    assert set(res) == {base, tuned} and res[tuned]["steps"] == res[base]["steps"]
    spec = json.loads((job_dir(tuned, tmp_path) / "job.json").read_text())
    assert spec["init_checkpoint"] == res[base]["checkpoint"]


def test_restorations_that_train_run_under_torchrun_with_nproc(tmp_path):
    teacher = FlowJob("sr_reds4", "ci", "teacher")
    s2svr, ident = RestoreJob("sr_reds4", "ci", arch="s2svr"), RestoreJob("sr_reds4", "ci", arch="identity")
    cmd = runner._command(s2svr, tmp_path, None, nproc=2)
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    assert cmd[-3:] == ["-m", "s2svr.experiments.worker", str(tmp_path)]
    # one process: a flow stage (Algorithm 1 is not distributed), the untrained identity, shipped weights, nproc 1
    for job, entry, n in ((teacher, None, 2), (ident, None, 2), (s2svr, {"path": "w.safetensors"}, 2), (s2svr, None, 1)):
        assert runner._command(job, tmp_path, entry, nproc=n)[1:] == ["-m", "s2svr.experiments.worker", str(tmp_path)]


def test_supervised_flow_controls_train_where_there_is_ground_truth_flow():
    from s2svr.experiments.plan import jobs
    for name in ("flow/sr/supervised-hq", "flow/sr/supervised-lq"):
        data = jobs("paper")[name].resolved()["config"]["data"]  # REDS has no flow: the embedded flow set has
        assert (data["dataset"], data["root"]) == ("embedded", "data/embedded")
        assert jobs("cpu")[name].overrides == "{}"  # already on it: the cpu profile's jobs (and keys) unchanged


@pytest.mark.slow
def test_a_restoration_trained_by_two_gloo_processes_is_evaluated_once(tmp_path):
    job = RestoreJob("sr_reds4", "ci", arch="single_frame", save_outputs=False)
    res = run([job], tmp_path, workers=1, progress=False, shipped=False, nproc=2)[job]
    sync = (job_dir(job, tmp_path) / "train" / "ddp_sync.txt").read_text().split()
    assert len(sync) == 2 and sync[0] == sync[1]            # both ranks trained, in step
    assert res["steps"] == 2 and "psnr" in res["mean"]       # rank 0 evaluated and wrote the result
