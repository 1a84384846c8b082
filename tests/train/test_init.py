"""Fine-tuning (`train.init`, `s2svr train --init`) and the reference-model default of `s2svr restore`."""
import pytest
import torch

from s2svr.cli import main
from s2svr.configs import load_config
from s2svr.train.checkpoint import load_checkpoint
from s2svr.train.trainer import TrainingError, train


def _weights(path):
    return load_checkpoint(path, kind="restoration")["model"]


def test_init_starts_from_another_runs_weights(tiny_config, tmp_path):
    first = train(load_config(tiny_config, "ci", overrides={"train": {"iters": 2}}), tmp_path / "a", progress=False)
    # a vanishing lr: the fine-tuned run must end where it started, i.e. at the first run's weights
    tiny = {"iters": 1, "lr": 1e-30, "flow_lr": 1e-30, "eta_min": 1e-31}
    cfg = load_config(tiny_config, "ci", overrides={"train": {**tiny, "init": str(first.checkpoint)}})
    second = train(cfg, tmp_path / "b", progress=False)
    a, b = _weights(first.checkpoint), _weights(second.checkpoint)
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], rtol=0, atol=1e-20) for k in a)
    fresh = train(load_config(tiny_config, "ci", overrides={"train": tiny}), tmp_path / "c", progress=False)
    assert not all(torch.allclose(a[k], _weights(fresh.checkpoint)[k], rtol=0, atol=1e-20) for k in a)


def test_init_of_another_task_or_missing_file_is_one_line(tiny_config, tmp_path, capsys):
    first = train(load_config(tiny_config, "ci", overrides={"train": {"iters": 1}}), tmp_path / "a", progress=False)
    assert main(["train", "deblur_gopro", "--profile", "ci", "--init", str(first.checkpoint),
                 "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "sr" in err and "deblur" in err
    assert main(["train", str(tiny_config), "--profile", "ci", "--init", str(tmp_path / "nope.pt")]) == 2
    assert "--init" in capsys.readouterr().err


def test_restore_without_checkpoint_needs_a_task_or_shipped_weights(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("S2SVR_WEIGHTS", str(tmp_path / "none"))
    (tmp_path / "in").mkdir()
    assert main(["restore", str(tmp_path / "in"), str(tmp_path / "out.mp4")]) == 2
    assert "--task" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "in"), str(tmp_path / "out.mp4"), "--task", "sr"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no reference model 'sr/s2svr'" in err
