"""s2svr.report.run_setup: setup text and table from resolved configs, paper-profile counts."""
from s2svr.configs import load_config
from s2svr.report.run_setup import paper_parameter_counts, setup_table, setup_text

from fake_results import _fake_results


def test_paper_parameter_counts():
    counts = paper_parameter_counts("deblur_gopro")
    assert counts["identity"] == 0 and counts["s2svr"] == 8_359_399  # the config's documented paper count
    assert counts["single_frame"] < counts["s2svr"]


def test_setup_text_and_table(tmp_path):
    res, _ = _fake_results(tmp_path, {"identity": 20, "single_frame": 4, "basicvsr": 8, "s2svr": 6})
    paper = load_config("sr_reds4", "paper")
    text = setup_text(res, "sr", paper)
    assert "C = 8 channels" in text and "C = 64" in text and "only in `model.arch`" in text
    assert "untrained (no flow checkpoint)" in text
    table = setup_table(res["sr/s2svr"], paper)
    assert table.loc["train.iters", "paper profile"] == "600,000" and table.loc["model.flow_size"].iloc[0] == "-"
    # the flow recipe's budget, read inside its sections (a record of before the sections is read into them)
    assert table.loc["flow.budget.iters", "paper profile"] == f"{paper.flow.budget.iters:,}"
    assert table.loc["flow.augment.patch_size"].iloc[0] != "-"
