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


def test_camera_path_clips_train_only_and_are_repeatable():
    from s2svr.data.camera_paths import NUM_CLIPS, extra_train_sequences
    cfg = load_config("sr_reds4", "ci", overrides={"data": {"val_clips": ["bbb_05"], "extra_train": "camera_paths"}})
    train, val = build_train_sequences(cfg), build_val_sequences(cfg)
    paths = [s for s in train if s.name.startswith("sr/path_")]
    assert len(paths) == NUM_CLIPS and [s.name for s in val] == ["sr/bbb_05"]
    a, b = extra_train_sequences("camera_paths", "sr")[0], paths[0]
    lq, gt = a.lq.read(list(range(len(a)))), a.gt.read([0, 1])
    assert lq.shape == (20, 64, 64, 3) and gt.shape == (2, 256, 256, 3)
    assert (b.lq.read([3]) == lq[3]).all()
    assert 0.5 < abs(gt[1].astype(float) - gt[0]).mean() < 40  # the camera moves, the scene stays
    with pytest.raises(ValueError, match="SR and deblurring clips"):
        from s2svr.data.camera_paths import extra_train_sequences as e
        e("camera_paths", "vqe")


def test_deblurring_camera_path_clips_are_blurred_stills_that_train_only():
    from s2svr import metrics
    from s2svr.data.camera_paths import NUM_CLIPS, extra_train_sequences
    cfg = load_config("deblur_gopro", "ci", overrides={"data": {"val_clips": ["bbb_00"], "extra_train": "camera_paths"}})
    train, val = build_train_sequences(cfg), build_val_sequences(cfg)
    paths = [s for s in train if s.name.startswith("deblur/path_")]
    assert len(paths) == NUM_CLIPS and [s.name for s in val] == ["deblur/bbb_00"]
    s = paths[0]
    blur, sharp = s.lq.read(list(range(len(s)))), s.gt.read(list(range(len(s))))
    assert blur.shape == sharp.shape == (16, 160, 160, 3) and s.scale == 1
    assert (extra_train_sequences("camera_paths", "deblur")[0].lq.read([5]) == blur[5]).all()  # repeatable
    assert all(15 < metrics.psnr(b, g) < 40 for b, g in zip(blur, sharp))  # blurred, not destroyed
    # a still scene: the sharp frames differ only by the camera's pose, the blurred ones also by their blur
    assert 0.5 < abs(sharp[1].astype(float) - sharp[0]).mean() < 40
