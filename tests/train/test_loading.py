"""`s2svr.train.loading`: use without the trainers, and a shipped restorer loaded from any folder that holds its
file and its flow net's."""
import shutil
import subprocess
import sys

import torch

from s2svr.reference import manifest, weights_dir
from s2svr.train.loading import load_restorer


def test_inference_imports_no_trainer():
    code = ("import sys, s2svr.train.loading, s2svr.restore, s2svr.cli, s2svr.cli.flow; "
            "bad = [m for m in ('s2svr.train.trainer', 's2svr.train.flow', 's2svr.train.distributed', 's2svr.train.sampler') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_shipped_restorer_loads_from_a_folder_with_its_flow_net(tmp_path, monkeypatch):
    entries = manifest()
    sr = entries["sr/s2svr"]
    flow = next(e for e in entries.values() if e.get("sha256") and e["file"] == entries["flow/sr/student"]["file"])
    for e in (sr, flow):
        shutil.copy(weights_dir() / e["file"], tmp_path / e["file"])
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("S2SVR_WEIGHTS", str(tmp_path / "empty"))  # no shipped weights to fall back on
    model, cfg = load_restorer(tmp_path / sr["file"])
    monkeypatch.delenv("S2SVR_WEIGHTS")
    shipped, _ = load_restorer(weights_dir() / sr["file"])
    a, b = model.state_dict(), shipped.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert cfg.model.arch == "s2svr" and any(k.startswith("flow.") for k in a)
