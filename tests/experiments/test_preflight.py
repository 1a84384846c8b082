"""The plan's preflight: a profile whose datasets are missing stops before any job, one line per problem with
the command that fixes it, exit 2, nothing written."""
import os
import subprocess
import sys

import pytest

from s2svr.experiments.preflight import check
from s2svr.experiments.jobs import RestoreJob

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_the_paper_plan_without_its_datasets_says_what_to_prepare(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-m", "s2svr.experiments.plan", "--profile", "paper",
                          "--output-dir", str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert "Traceback" not in out.stderr and all(ln.startswith("plan paper: ") for ln in lines)
    assert any("data_scripts/prepare_reds.py" in ln for ln in lines)
    assert any("data_scripts/prepare_gopro.py" in ln for ln in lines)
    assert any("data_scripts/prepare_mfqe.py" in ln for ln in lines)
    assert lines[-1].endswith("nothing was run") and not (tmp_path / "out").exists()


def test_a_missing_init_checkpoint_and_a_missing_device_are_named(tmp_path, monkeypatch):
    job = RestoreJob("sr_reds4", "ci", arch="single_frame").with_overrides(train={"init": str(tmp_path / "reds.pt")})
    monkeypatch.setenv("S2SVR_DEVICE", "cuda:7")
    problems = check([job], tmp_path / "runs")
    assert any(p.startswith(f"{tmp_path / 'reds.pt'}: missing (train.init") for p in problems)
    assert any(p.startswith("S2SVR_DEVICE=cuda:7") for p in problems)
    monkeypatch.delenv("S2SVR_DEVICE")
    assert check([RestoreJob("sr_reds4", "ci", arch="single_frame")], tmp_path / "runs") == []
