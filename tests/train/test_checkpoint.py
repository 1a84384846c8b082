"""Checkpoint format v2: safetensors + JSON metadata + a sha256 over every byte (s2svr.train.checkpoint)."""
import json

import pytest
import torch

from s2svr.train.checkpoint import (FORMAT, CheckpointError, convert_checkpoint, load_checkpoint, load_weights,
                                    save_checkpoint)


def _state():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 3, 1))
    opt = torch.optim.Adam(net.parameters(), betas=(0.9, 0.99))
    net(torch.randn(1, 3, 8, 8)).sum().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.LambdaLR(opt, [lambda s: 0.5])
    return net, {"kind": "restoration", "config": {"model": {"task": "sr"}, "list": [1, 2.5, None]}, "step": 3,
                 "model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                 "rng": {"torch": torch.get_rng_state()}}


def _equal(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


def test_round_trip_is_exact_in_every_part_and_leaves_no_temporary_file(tmp_path):
    _, state = _state()
    p = save_checkpoint(tmp_path / "run" / "last.pt", state)
    assert [q.name for q in p.parent.iterdir()] == ["last.pt"]
    back = load_checkpoint(p, kind="restoration", task="sr")
    assert _equal(back, state)  # int keys of the optimiser state, the betas tuple, scheduler floats, RNG bytes


def test_the_file_is_plain_safetensors_with_json_metadata_and_no_pickle(tmp_path):
    from safetensors import safe_open
    _, state = _state()
    p = save_checkpoint(tmp_path / "last.pt", state)
    assert b"PK\x03\x04" not in p.read_bytes()[:4]
    with safe_open(str(p), framework="pt") as f:
        meta = f.metadata()
        assert "model.0.weight" in f.keys() and "optimizer.state.0.exp_avg" in f.keys()
    assert meta["format"] == FORMAT and meta["kind"] == "restoration" and meta["task"] == "sr" and meta["step"] == "3"
    assert json.loads(meta["s2svr"])["config"]["list"] == [1, 2.5, None] and len(meta["sha256"]) == 64


@pytest.mark.parametrize("where", ["length", "header", "digest", "data", "last"])
def test_a_flipped_bit_anywhere_is_caught(tmp_path, where):
    _, state = _state()
    p = save_checkpoint(tmp_path / "last.pt", state)
    data = bytearray(p.read_bytes())
    n = int.from_bytes(data[:8], "little")
    at = {"length": 0, "header": 40, "digest": data.index(b'"sha256":"') + 12, "data": 8 + n + 10,
          "last": len(data) - 1}[where]
    data[at] ^= 0x04
    p.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"last\.pt: (corrupted|truncated|not an s2svr)") as e:
        load_checkpoint(p)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("keep", [0, 5, 9, 200, -1])
def test_a_truncated_file_is_caught(tmp_path, keep):
    _, state = _state()
    p = save_checkpoint(tmp_path / "last.pt", state)
    data = p.read_bytes()
    p.write_bytes(data[:keep] if keep >= 0 else data[:-1])
    with pytest.raises(CheckpointError, match=r"last\.pt: (truncated|not an s2svr checkpoint)"):
        load_checkpoint(p)


def test_foreign_other_kind_other_task_text_and_missing_files(tmp_path):
    _, state = _state()
    p = save_checkpoint(tmp_path / "last.pt", state)
    with pytest.raises(CheckpointError, match="trained for task 'sr', this run is task 'deblur'"):
        load_checkpoint(p, task="deblur")
    with pytest.raises(CheckpointError, match="a 'restoration' checkpoint, expected 'flow'"):
        load_checkpoint(p, kind="flow")
    from safetensors.torch import save_file
    save_file({"w": torch.ones(2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(CheckpointError, match="without s2svr metadata"):
        load_checkpoint(tmp_path / "foreign.safetensors")
    (tmp_path / "notes.txt").write_text("these are my notes, not weights\n" * 10)
    with pytest.raises(CheckpointError, match="notes.txt: not an s2svr checkpoint"):
        load_checkpoint(tmp_path / "notes.txt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")


def test_old_pickle_files_are_refused_with_the_conversion_and_convert_exactly(tmp_path):
    _, state = _state()
    old = tmp_path / "old.pt"
    torch.save({"format": "s2svr-checkpoint-v1", **state}, old)
    with pytest.raises(CheckpointError, match=r"old.pt: a pickle-based torch.save file .*s2svr convert-checkpoint"):
        load_checkpoint(old)
    new = convert_checkpoint(old, tmp_path / "new.pt")
    assert _equal(load_checkpoint(new, kind="restoration"), state)
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an s2svr checkpoint"):
        convert_checkpoint(tmp_path / "foreign.pt", tmp_path / "x.pt")


def test_fp16_weights_only_file_loads_into_an_fp32_model(tmp_path):
    net, state = _state()
    p = convert_checkpoint(save_checkpoint(tmp_path / "last.pt", state), tmp_path / "release.safetensors",
                           dtype=torch.float16)
    assert p.stat().st_size < (tmp_path / "last.pt").stat().st_size / 2
    back = load_checkpoint(p, kind="restoration")
    assert "optimizer" not in back and back["weights_only"] and back["model"]["0.weight"].dtype == torch.float16
    fresh = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 3, 1))
    load_weights(fresh, back["model"], p)
    assert fresh[0].weight.dtype == torch.float32
    assert (fresh[0].weight - net[0].weight).abs().max() < 1e-3


def test_weights_of_another_architecture_are_one_line(tmp_path):
    _, state = _state()
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 3, 1))
    with pytest.raises(CheckpointError, match=r"x.pt: weights of another architecture .* 3 of another shape "
                                              r"\(e.g. 0.weight: \[4, 3, 3, 3\] in the file, \[8, 3, 3, 3\]"):
        load_weights(other, state["model"], "x.pt")
    with pytest.raises(CheckpointError, match="2 missing"):
        load_weights(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 3, 1), torch.nn.Conv2d(3, 3, 1)),
                     state["model"], "x.pt")


def test_stale_temporary_files_of_killed_runs_are_removed(tmp_path):
    import subprocess
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = [tmp_path / f".last.partial-{dead.pid}.tmp.pt", tmp_path / ".last.pt.abc123.tmp"]
    for s in stale:
        s.write_bytes(b"x" * 100)
    mine = tmp_path / "notes.partial.txt"
    mine.write_text("not ours")
    _, state = _state()
    save_checkpoint(tmp_path / "last.pt", state)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "notes.partial.txt"]


def test_a_damaged_digest_key_is_reported_as_corruption(tmp_path):
    """A flipped bit can rename the header's "sha256" key (h ^ 0x04 = l): the file still says it is an s2svr
    checkpoint, so it is corrupted, not foreign (this case made the test above fail now and then)."""
    _, state = _state()
    p = save_checkpoint(tmp_path / "last.pt", state)
    p.write_bytes(p.read_bytes().replace(b'"sha256":', b'"sla256":', 1))
    with pytest.raises(CheckpointError, match=r"last\.pt: corrupted: .*sha256 entry is missing"):
        load_checkpoint(p)
