import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from s2svr.configs import load_config
from s2svr.train.checkpoint import load_checkpoint
from s2svr.train.trainer import TrainingError, train

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "s2svr", *args], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)


def _weights(path):
    return load_checkpoint(path, kind="restoration")["model"]


def test_train_from_python_writes_logs_checkpoint_and_validation(tiny_config, tmp_path):
    cfg = load_config(tiny_config, "ci", overrides={"train": {"iters": 2, "val_every": 2}})
    res = train(cfg, tmp_path / "run", progress=False)
    assert res.step == 2 and res.checkpoint.is_file()
    assert set(res.last_val["per_sequence"]) == {"000", "011", "015", "020"}
    assert 5 < res.last_val["mean"]["psnr"] < 60
    lines = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert lines[0].startswith("step,loss") and len(lines) == 3


def test_sigkill_at_a_random_step_then_resume_equals_uninterrupted_run(tiny_config, tmp_path):
    full = _cli("train", str(tiny_config), "--profile", "ci", "--out", str(tmp_path / "full"), "--device", "cpu")
    assert full.wait(timeout=300) == 0, full.stdout.read()
    kill_after = random.Random().randint(1, 4)  # a random step of the 6
    run = tmp_path / "killed"
    proc = _cli("train", str(tiny_config), "--profile", "ci", "--out", str(run), "--device", "cpu")
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        log = run / "log.csv"  # a row is logged just before the step's checkpoint is written
        if log.exists() and len(log.read_text().splitlines()) > kill_after and (run / "last.pt").exists():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    step = load_checkpoint(run / "last.pt")["step"]
    assert step < 6, "the run finished before it could be killed"
    resumed = _cli("train", str(tiny_config), "--profile", "ci", "--out", str(run), "--device", "cpu")
    assert resumed.wait(timeout=300) == 0, resumed.stdout.read()
    a, b = _weights(tmp_path / "full" / "last.pt"), _weights(run / "last.pt")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), f"weights differ after kill at step {step} and resume"
    full_rng, resumed_rng = (load_checkpoint(d / "last.pt")["rng"]["torch"] for d in (tmp_path / "full", run))
    assert torch.equal(full_rng, resumed_rng), "the RNG state after a resume differs from the uninterrupted run's"
    steps = [int(line.split(",")[0]) for line in (run / "log.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 7)), f"log.csv repeats or misses steps after the resume: {steps}"
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_ddp_two_processes_stay_in_sync_and_match_one_process(tiny_config, tmp_path):
    one = _cli("train", str(tiny_config), "--profile", "ci", "--out", str(tmp_path / "one"), "--device", "cpu",
               "--iters", "3")
    assert one.wait(timeout=300) == 0, one.stdout.read()
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "s2svr", "train", str(tiny_config), "--profile", "ci", "--out", str(tmp_path / "ddp"),
                          "--device", "cpu", "--iters", "3"], env=ENV, capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stdout + ddp.stderr
    sync = (tmp_path / "ddp" / "ddp_sync.txt").read_text().split()
    assert len(sync) == 2 and sync[0] == sync[1], f"ranks diverged: {sync}"
    a, b = _weights(tmp_path / "one" / "last.pt"), _weights(tmp_path / "ddp" / "last.pt")
    # Same samples, same total batch: gradients are averaged over ranks, so only float summation order differs.
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4


def test_non_finite_loss_stops_with_step_and_keeps_last_good_checkpoint(tiny_config, tmp_path, monkeypatch):
    """NaN at step 3: the weights of step 2 produced it, so last.pt is rolled back to step 1 (previous.pt)."""
    import s2svr.train.trainer as trainer
    calls = {"n": 0}
    real = trainer.charbonnier_loss

    def flaky(pred, target, eps=1e-6):
        calls["n"] += 1
        loss = real(pred, target, eps=eps)
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(trainer, "charbonnier_loss", flaky)
    cfg = load_config(tiny_config, "ci")
    with pytest.raises(TrainingError, match=r"non-finite loss at step 3; last good checkpoint: .*last.pt \(step 1\);"
                                             r" resume from it with a lower learning rate"):
        train(cfg, tmp_path / "run", progress=False)
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    assert state["step"] == 1 and all(torch.isfinite(v).all() for v in state["model"].values())


def test_non_finite_later_keeps_the_newest_checkpoint(tiny_config, tmp_path, monkeypatch):
    """NaN at step 5 with checkpoints every 2 steps: step 4's weights gave step 5's loss; step 2 is kept."""
    import s2svr.train.trainer as trainer
    calls = {"n": 0}
    real = trainer.charbonnier_loss

    def flaky(pred, target, eps=1e-6):
        calls["n"] += 1
        loss = real(pred, target, eps=eps)
        return loss * float("inf") if calls["n"] >= 5 else loss

    monkeypatch.setattr(trainer, "charbonnier_loss", flaky)
    cfg = load_config(tiny_config, "ci", overrides={"train": {"save_every": 2, "log_every": 3}})
    with pytest.raises(TrainingError, match=r"non-finite loss at step 5; last good checkpoint: .*last.pt \(step 2\)"):
        train(cfg, tmp_path / "run", progress=False)
    assert load_checkpoint(tmp_path / "run" / "last.pt")["step"] == 2


def test_resume_with_another_config_is_refused(tiny_config, tmp_path):
    cfg = load_config(tiny_config, "ci", overrides={"train": {"iters": 1}})
    train(cfg, tmp_path / "run", progress=False)
    other = load_config(tiny_config, "ci", overrides={"train": {"iters": 1, "lr": 1e-3}})
    with pytest.raises(TrainingError, match="different config"):
        train(other, tmp_path / "run", progress=False)


def test_cli_errors_are_one_line(tmp_path):
    p = _cli("eval", "--checkpoint", str(tmp_path / "missing.pt"))
    out = p.communicate(timeout=120)[0]
    assert p.returncode == 2 and out.strip().count("\n") == 0 and "missing.pt: checkpoint not found" in out


def test_grad_clip_bounds_the_step_and_a_loose_one_changes_nothing(tiny_config, tmp_path):
    """`train.grad_clip` clips the global gradient norm before Adam's step: at a norm far below Adam's eps the first
    update shrinks to almost nothing; at a norm no gradient reaches the run is the unclipped one, bit for bit."""
    from s2svr.experiments import RestoreJob, key

    def first_step(clip, name):
        cfg = load_config(tiny_config, "ci", overrides={"train": {"iters": 1, "val_every": 10, "grad_clip": clip}})
        train(cfg, tmp_path / name, progress=False)
        return _weights(tmp_path / name / "last.pt")

    from s2svr.flow.nets import build_flow_net
    from s2svr.models import build_model
    from s2svr.utils import seed_everything

    start = load_config(tiny_config, "ci")
    seed_everything(start.seed)  # the trainer's first weights
    init = build_model(start.model, flow_net=build_flow_net(start.flow)).state_dict()
    plain, loose, tight = first_step(0.0, "plain"), first_step(1e9, "loose"), first_step(1e-12, "tight")
    assert all(torch.equal(plain[k], loose[k]) for k in plain)
    moved = {name: sum((w[k].float() - init[k].float()).abs().sum().item() for k in init if k in w)
             for name, w in (("plain", plain), ("tight", tight))}
    assert moved["tight"] < 0.01 * moved["plain"], moved
    job = RestoreJob("deblur_gopro", "ci", arch="s2svr")
    assert key(job.with_overrides(train={"grad_clip": 0.0})) == key(job)  # the keys shipped before the field
    assert key(job.with_overrides(train={"grad_clip": 1.0})) != key(job)


def test_a_resumed_run_counts_the_time_of_its_earlier_calls(tiny_config, tmp_path):
    from s2svr.train.checkpoint import save_checkpoint
    cfg = load_config(tiny_config, "ci", overrides={"train": {"iters": 2, "val_every": 10, "save_every": 1}})
    first = train(cfg, tmp_path / "run", progress=False, max_steps=1)
    state = load_checkpoint(tmp_path / "run" / "last.pt", kind="restoration")
    assert first.step == 1 and 0 < state["seconds"] <= first.seconds
    save_checkpoint(tmp_path / "run" / "last.pt", {**state, "seconds": 1000.0})  # as if the first call took 1000 s
    done = train(cfg, tmp_path / "run", progress=False)
    assert done.step == 2 and 1000.0 < done.seconds < 1000.0 + 60
