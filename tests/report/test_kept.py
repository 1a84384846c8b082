"""The chapters' kept measurements (s2svr.report.memo): reused only for the same network, data and code."""
import json

import numpy as np
import pytest
import torch

from s2svr.flow.use import FlowUse
from s2svr.report import memo

calls = []


def measure(net, pairs, frames="lq", zoom=None):
    calls.append(frames)
    return {"epe": float(sum(p.sum() for p in pairs)) + float(net.weight.sum()), "frames": frames, "zoom": zoom}


@pytest.fixture
def folders(tmp_path, monkeypatch):
    monkeypatch.delenv("S2SVR_MEMO", raising=False)
    monkeypatch.delenv("S2SVR_TRAIN", raising=False)
    monkeypatch.setenv("S2SVR_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("S2SVR_OUTPUTS", str(tmp_path / "outputs"))
    calls.clear()
    return tmp_path / "weights" / "memo", tmp_path / "outputs" / "memo"


def net(value=1.0):
    m = torch.nn.Linear(2, 2).requires_grad_(False)
    torch.nn.init.constant_(m.weight, value)
    torch.nn.init.zeros_(m.bias)
    return m


def test_a_result_is_measured_once_then_read(folders):
    _, local = folders
    pairs = [np.ones((2, 2)), np.zeros((3,))]
    first = memo.remember(measure, net(), pairs, "hq", zoom=4)
    again = memo.remember(measure, net(), [p.copy() for p in pairs], "hq", zoom=4)  # equal contents, new objects
    assert first == again == {"epe": 8.0, "frames": "hq", "zoom": 4} and calls == ["hq"]
    assert [p.suffix for p in local.iterdir()] == [".json"]  # the lock is gone


@pytest.mark.parametrize("change", ["weights", "data", "argument", "setting"])
def test_any_change_of_what_decides_the_result_measures_again(folders, change):
    m, pairs = net(), [np.ones((2, 2))]
    memo.remember(measure, m, pairs, "hq")
    if change == "weights":
        m = net(2.0)
    elif change == "data":
        pairs = [np.ones((2, 2)) * 2]
    elif change == "setting":  # a public attribute of a submodule, like a flow net's zoom in use
        m.use = FlowUse(zoom=4)
    memo.remember(measure, m, pairs, "lq" if change == "argument" else "hq")
    assert len(calls) == 2


def test_the_shipped_folder_is_read_first_and_skipped_when_training(folders, monkeypatch):
    shipped, local = folders
    key = memo.memo_key(measure, net(), [np.ones(1)])
    shipped.mkdir(parents=True)
    (shipped / f"{key}.json").write_text(json.dumps({"result": {"epe": -1.0}}))
    assert memo.remember(measure, net(), [np.ones(1)]) == {"epe": -1.0} and calls == []
    monkeypatch.setenv("S2SVR_TRAIN", "1")  # make book TRAIN=1: measured again
    assert memo.remember(measure, net(), [np.ones(1)])["epe"] == 5.0 and len(calls) == 1
    assert (local / f"{key}.json").is_file()


def test_make_weights_fills_one_folder(folders, monkeypatch, tmp_path):
    monkeypatch.setenv("S2SVR_MEMO", str(tmp_path / "ship"))
    memo.remember(measure, net(), [np.ones(1)])
    assert [p.name for p in (tmp_path / "ship").iterdir()] == [f"{memo.memo_key(measure, net(), [np.ones(1)])}.json"]
    assert not folders[1].exists()


def test_the_key_follows_the_sources_that_decide_the_result(folders):
    from s2svr.train.flow_evaluate import evaluate_flow
    files = {p.relative_to(memo.PACKAGE).as_posix() for p in memo._sources(evaluate_flow)}
    assert {"train/flow_evaluate.py", "metrics.py", "flow/pwclite.py"} <= files


def test_a_video_is_keyed_by_its_frames_and_numpy_results_come_back_plain(folders, tmp_path):
    from s2svr.data.sequence import FrameSource, VideoSequence

    def count(seq):
        calls.append(seq.name)
        return {"frames": np.int64(len(seq)), "mean": np.float32(seq.lq.read([0]).mean()), "rows": np.arange(2)}
    frames = np.zeros((3, 4, 4, 3), np.uint8)
    seq = lambda f: VideoSequence("a", FrameSource.from_frames("lq", f), FrameSource.from_frames("gt", f))  # noqa: E731
    assert memo.remember(count, seq(frames)) == {"frames": 3, "mean": 0.0, "rows": [0, 1]}
    memo.remember(count, seq(frames.copy()))
    assert len(calls) == 1
    frames[1, 0, 0, 0] = 1  # one pixel of one frame
    memo.remember(count, seq(frames))
    assert len(calls) == 2


def test_a_kept_result_whose_sources_changed_is_stale(folders, tmp_path, monkeypatch):
    memo.remember(measure, net(), [np.ones(1)])
    local = folders[1]
    assert memo.stale(local) == []
    monkeypatch.setattr(memo, "sources_digest", lambda fn: "edited")
    assert memo.stale(local) == [p.name for p in local.glob("*.json")]
