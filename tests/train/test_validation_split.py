"""`data.val_clips`: validation on training clips held out of training, never on the test clips; and the log's
seconds per step, which leave validation out."""
import time

import pytest

from s2svr.configs import load_config
from s2svr.train import trainer as trainer_mod
from s2svr.train.data import build_train_sequences, build_val_sequences
from s2svr.train.trainer import train


def test_held_out_clips_validate_and_do_not_train(tiny_config, tmp_path):
    cfg = load_config(tiny_config, "ci", overrides={"data": {"val_clips": ["101"]}, "train": {"iters": 2, "val_every": 2}})
    assert [s.name for s in build_train_sequences(cfg)] == ["100"]
    assert [s.name for s in build_val_sequences(cfg)] == ["101"]
    res = train(cfg, tmp_path / "run", progress=False)
    assert set(res.last_val["per_sequence"]) == {"101"}  # not the REDS4 test clips
    assert (tmp_path / "run" / "val.csv").read_text().count("\n") == 2


def test_without_val_clips_validation_is_on_the_test_clips(tiny_config):
    cfg = load_config(tiny_config, "ci")
    assert {s.name for s in build_val_sequences(cfg)} == {"000", "011", "015", "020"}
    assert {s.name for s in build_train_sequences(cfg)} == {"100", "101"}


def test_an_unknown_val_clip_is_named(tiny_config):
    cfg = load_config(tiny_config, "ci", overrides={"data": {"val_clips": ["101", "999"]}})
    with pytest.raises(ValueError, match=r"val_clips: \['999'\] are not training clips"):
        build_train_sequences(cfg)


def test_seconds_per_step_leave_the_validation_out(tiny_config, tmp_path, monkeypatch):
    real = trainer_mod.evaluate_sequences

    def slow(*a, **k):
        time.sleep(1.0)
        return real(*a, **k)

    monkeypatch.setattr(trainer_mod, "evaluate_sequences", slow)
    # the single-frame network: steps of a few ms, so a 1 s validation inside an interval would show at once
    cfg = load_config(tiny_config, "ci", overrides={"model": {"arch": "single_frame"},
                                                    "train": {"iters": 4, "val_every": 1, "log_every": 2}})
    train(cfg, tmp_path / "run", progress=False)
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()[1:]
    seconds = [float(r.split(",")[-1]) for r in rows]
    assert len(seconds) == 2 and max(seconds) < 0.4, seconds  # each interval held a 1 s validation
