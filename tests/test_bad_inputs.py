"""Bad inputs through the real CLI: exit 2, one stderr line naming the file or option, no traceback, nothing
written or clobbered (checksums of every file before and after)."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from tests.conftest import write_config
from s2svr.configs import load_config
from s2svr.data.video_io import write_png_folder, write_video
from s2svr.train.checkpoint import load_checkpoint, save_checkpoint
from s2svr.train.trainer import train

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}


@pytest.fixture(scope="session")
def world(tmp_path_factory, tiny_reds):
    w = tmp_path_factory.mktemp("world")
    cfg_path = write_config(w / "tiny.yaml", tiny_reds, iters=1)
    train(load_config(cfg_path, "ci"), w / "run", progress=False)
    ck = w / "run" / "last.pt"
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    write_video(w / "in.mp4", clip, fps=5)
    write_png_folder(w / "frames", clip)
    write_video(w / "out.mp4", clip, fps=5)           # an existing output
    (w / "mine").mkdir()
    (w / "mine" / "notes.txt").write_text("my notes\n")  # a user's folder
    (w / "notes.txt").write_text("not a checkpoint\n" * 20)
    data = bytearray(ck.read_bytes())
    data[len(data) // 2] ^= 0x10
    (w / "flipped.pt").write_bytes(bytes(data))
    (w / "truncated.pt").write_bytes(ck.read_bytes()[:-1000])
    state = load_checkpoint(ck)
    torch.save({"format": "s2svr-checkpoint-v1", **state}, w / "old.pt")
    other = dict(state, config={**state["config"], "model": {**state["config"]["model"], "num_feat": 8}})
    save_checkpoint(w / "otherarch.pt", other)
    save_checkpoint(w / "flow.pt", {"kind": "flow", "stage": "teacher", "model": {}, "step": 1})
    raw = yaml.safe_load(cfg_path.read_text())
    for name, change in {"every0": ("train", "save_every", 0), "badtype": ("train", "lr", "fast"),
                         "nodata": ("data", "dataset", "nosuch")}.items():
        c = {**raw, change[0]: {**raw[change[0]], change[1]: change[2]}}
        (w / f"{name}.yaml").write_text(yaml.safe_dump(c))
    return w


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


R = ["restore", "in.mp4", "new.mp4", "--checkpoint", "run/last.pt"]
CASES = {
    "size-abc": (R + ["--size", "abc"], "--size"),
    "size-3-numbers": (R + ["--size", "64x48x3"], "--size"),
    "device-tpu9": (R + ["--device", "tpu9"], "--device tpu9"),
    "device-cuda-absent": (R + ["--device", "cuda"], "--device cuda"),
    "tile-0": (R + ["--tile", "0"], "--tile"),
    "tile-negative": (R + ["--tile", "-8"], "--tile"),
    "overlap-ge-tile": (R + ["--tile", "8", "--tile-overlap", "8"], "--tile-overlap"),
    "chunk-overlap": (R + ["--chunk", "4", "--chunk-overlap", "4"], "--chunk-overlap"),
    "max-frames-0": (R + ["--max-frames", "0"], "--max-frames"),
    "output-is-input": (["restore", "in.mp4", "in.mp4", "--checkpoint", "run/last.pt", "--overwrite"], "in.mp4"),
    "output-is-input-folder": (["restore", "frames", "frames", "--checkpoint", "run/last.pt", "--overwrite"],
                               "frames"),
    "output-is-checkpoint": (["restore", "in.mp4", "run/last.pt", "--checkpoint", "run/last.pt", "--overwrite"],
                             "last.pt"),
    "output-exists": (["restore", "in.mp4", "out.mp4", "--checkpoint", "run/last.pt"], "out.mp4"),
    "output-user-folder": (["restore", "in.mp4", "mine", "--checkpoint", "run/last.pt", "--overwrite"], "mine"),
    "output-parent-is-file": (["restore", "in.mp4", "notes.txt/x.mp4", "--checkpoint", "run/last.pt"], "notes.txt"),
    "input-missing": (["restore", "nope.mp4", "new.mp4", "--checkpoint", "run/last.pt"], "nope.mp4"),
    "checkpoint-text": (["restore", "in.mp4", "new.mp4", "--checkpoint", "notes.txt"], "notes.txt"),
    "checkpoint-flipped": (["restore", "in.mp4", "new.mp4", "--checkpoint", "flipped.pt"], "flipped.pt: corrupted"),
    "checkpoint-truncated": (["restore", "in.mp4", "new.mp4", "--checkpoint", "truncated.pt"], "truncated.pt: truncated"),
    "checkpoint-old-pickle": (["restore", "in.mp4", "new.mp4", "--checkpoint", "old.pt"], "convert-checkpoint"),
    "checkpoint-other-arch": (["restore", "in.mp4", "new.mp4", "--checkpoint", "otherarch.pt"], "another architecture"),
    "checkpoint-flow-kind": (["restore", "in.mp4", "new.mp4", "--checkpoint", "flow.pt"], "expected 'restoration'"),
    "checkpoint-missing": (["restore", "in.mp4", "new.mp4", "--checkpoint", "nope.pt"], "nope.pt"),
    "eval-frames-0": (["eval", "--checkpoint", "run/last.pt", "--frames", "0"], "--frames"),
    "eval-out-is-checkpoint": (["eval", "--checkpoint", "run/last.pt", "--out", "run/last.pt", "--overwrite"],
                               "last.pt"),
    "eval-out-exists": (["eval", "--checkpoint", "run/last.pt", "--out", "notes.txt"], "notes.txt"),
    "train-iters-negative": (["train", "tiny.yaml", "--profile", "ci", "--out", "t", "--iters", "-3"], "--iters"),
    "train-iters-text": (["train", "tiny.yaml", "--profile", "ci", "--out", "t", "--iters", "abc"], "--iters"),
    "train-every-0": (["train", "every0.yaml", "--profile", "ci", "--out", "t"], "save_every"),
    "train-wrong-type": (["train", "badtype.yaml", "--profile", "ci", "--out", "t"], "train.lr"),
    "train-unknown-dataset": (["train", "nodata.yaml", "--profile", "ci", "--out", "t"], "nosuch"),
    "train-out-is-file": (["train", "tiny.yaml", "--profile", "ci", "--out", "notes.txt"], "notes.txt"),
    "train-out-under-file": (["train", "tiny.yaml", "--profile", "ci", "--out", "notes.txt/run"], "notes.txt"),
    "train-resume-text": (["train", "tiny.yaml", "--profile", "ci", "--out", "textrun"], "last.pt"),
    "train-device": (["train", "tiny.yaml", "--profile", "ci", "--out", "t", "--device", "tpu9"], "--device"),
    "flow-eval-text": (["flow-eval", "tiny.yaml", "notes.txt", "--profile", "ci"], "notes.txt"),
    "convert-onto-itself": (["convert-checkpoint", "old.pt", "old.pt", "--overwrite"], "old.pt"),
    "convert-foreign": (["convert-checkpoint", "notes.txt", "new.pt"], "notes.txt"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2_and_changes_nothing(world, case):
    args, names = CASES[case]
    if case == "train-resume-text":
        (world / "textrun").mkdir(exist_ok=True)
        (world / "textrun" / "last.pt").write_text("hello\n")
    before = _snapshot(world)
    p = subprocess.run([sys.executable, "-m", "s2svr", *args], cwd=world, env=ENV, capture_output=True, text=True,
                       timeout=300)
    lines = [ln for ln in p.stderr.replace("\r", "\n").splitlines() if ln.strip() and "it/s]" not in ln
             and "%|" not in ln]
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr, p.stderr
    assert len(lines) == 1, p.stderr
    assert names in lines[0], lines[0]
    after = _snapshot(world)
    assert {k: v for k, v in after.items() if not k.startswith("t/") and k != "t"} == before, "files changed"


def test_a_user_folder_survives_and_frames_only_replace_frames(world, tmp_path):
    from s2svr.data.video_io import VideoIOError
    clip = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(VideoIOError, match="holds other files than frames"):
        write_png_folder(world / "mine", clip)
    assert (world / "mine" / "notes.txt").read_text() == "my notes\n"
    write_png_folder(tmp_path / "f", np.zeros((3, 8, 8, 3), np.uint8))
    write_png_folder(tmp_path / "f", clip)
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["00000000.png", "00000001.png"]


def test_odd_frames_to_yuv_is_one_line(tmp_path):
    from s2svr.data.video_io import VideoIOError, write_video as wv
    with pytest.raises(VideoIOError, match=r"odd.yuv: frames are 15x9; YUV 4:2:0 needs even sizes"):
        wv(tmp_path / "odd.yuv", np.zeros((2, 9, 15, 3), np.uint8))
    assert not list(tmp_path.iterdir())


def test_sigterm_during_restore_leaves_nothing_and_a_killed_run_is_cleaned(world, tmp_path):
    import signal
    import time
    frames = np.random.default_rng(1).integers(0, 256, (60, 32, 32, 3), dtype=np.uint8)
    src = write_video(tmp_path / "long.mp4", frames, fps=5)
    ck = world / "run" / "last.pt"
    for sig in (signal.SIGTERM, signal.SIGKILL):
        out = tmp_path / f"out-{sig.name}"
        p = subprocess.Popen([sys.executable, "-m", "s2svr", "restore", str(src), str(out), "--checkpoint", str(ck)],
                             env=ENV, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and not list(tmp_path.glob(f".out-{sig.name}.partial-*/*.png")):
            time.sleep(0.05)
        p.send_signal(sig)
        err = p.communicate(timeout=60)[1]
        if sig == signal.SIGTERM:
            assert p.returncode == 143 and "Traceback" not in err, err
            assert not list(tmp_path.glob(".*partial*")) and not out.exists()
        else:
            assert list(tmp_path.glob(".*partial*"))  # SIGKILL cannot clean up ...
            done = subprocess.run([sys.executable, "-m", "s2svr", "restore", str(src), str(out), "--checkpoint",
                                   str(ck), "--max-frames", "2"], env=ENV, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
            assert not list(tmp_path.glob(".*partial*"))  # ... the next run on the same output does
