import json

import pytest
import torch

from s2svr.cli import main
from s2svr.configs import EXPERIMENTS, load_config
from s2svr.models import build_model, parameter_breakdown

PAPER_COUNTS = {"sr_reds4": 13.4e6, "sr_vimeo": 13.4e6, "deblur_gopro": 8.44e6}  # Tables 1 and 2


@pytest.mark.parametrize("name", sorted(PAPER_COUNTS))
def test_paper_profile_parameter_count_within_5_percent_of_the_paper(name):
    rows = parameter_breakdown(build_model(load_config(name, "paper").model))
    assert list(rows) == ["flow", "encoder", "attention", "decoder", "head", "total"]
    assert rows["flow"] == 2_236_660  # PWC-Lite is counted, as the paper's totals include the flow net
    assert sum(v for k, v in rows.items() if k != "total") == rows["total"]
    assert abs(rows["total"] / PAPER_COUNTS[name] - 1) < 0.05, rows


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_ci_profile_builds_and_runs(name, clip):
    cfg = load_config(name, "ci").model
    model = build_model(cfg)
    x = clip(t=3, c=cfg.in_channels)
    with torch.no_grad():
        out = model(x)
    s = cfg.scale if cfg.task == "sr" else 1
    assert out.shape == (1, 3, cfg.in_channels, 16 * s, 16 * s) and torch.isfinite(out).all()


def test_extra_child_module_gets_its_own_row():
    model = build_model(load_config("deblur_gopro", "ci").model)
    model.extra = torch.nn.Linear(2, 3)
    rows = parameter_breakdown(model)
    assert list(rows)[-2:] == ["extra", "total"] and rows["extra"] == 9


def test_cli_params_json(capsys):
    assert main(["params", "vqe_mfqe", "--profile", "ci", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"] == "vqe_mfqe" and out["parameters"]["total"] > out["parameters"]["flow"]
