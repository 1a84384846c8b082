"""Convergence criteria and the training table of `s2svr.report.training`."""
import pytest

from s2svr.report.training import converged_flow, converged_restorer, final_train_loss, late_change, training_table


def test_late_change_uses_the_last_fifth():
    steps = [250, 500, 750, 1000, 1250, 1500, 1750, 2000]
    psnr = [25.0, 26.0, 26.5, 26.8, 26.9, 27.00, 27.02, 27.04]
    assert late_change(steps, psnr) == pytest.approx(27.04 - 27.00)  # from step 1500 (<= 0.8 x 2000) to 2000
    assert converged_restorer(steps, psnr) == (True, pytest.approx(0.04))
    rising = psnr[:-1] + [27.2]
    assert converged_restorer(steps, rising)[0] is False
    assert converged_restorer([100], [20.0]) == (None, None)
    fell = [20.0, 20.5, 20.6, 20.7, 20.72, 20.40]  # peaked, then fell 0.32 dB: not settled
    assert converged_restorer([100 * k for k in range(1, 7)], fell)[0] is False
    dropping = [20.0, 20.5, 20.6, 20.62, 20.62, 20.55]  # -0.07 over the last 20%
    assert converged_restorer([100 * k for k in range(1, 7)], dropping)[0] is False


def test_flow_convergence_is_relative():
    steps = [100 * k for k in range(1, 16)]
    epe = [2.0 - 0.05 * k for k in range(12)] + [1.45, 1.44, 1.44]
    ok, rel = converged_flow(steps, epe)
    assert rel == pytest.approx((1.44 - 1.45) / 1.45, abs=1e-3) and ok
    assert converged_flow(steps, [2.0 - 0.08 * k for k in range(15)])[0] is False


def test_training_table_reads_the_val_log(tmp_path):
    run = tmp_path / "train"
    run.mkdir()
    (run / "val.csv").write_text("step,psnr,ssim\n500,26.0,0.7\n1000,26.5,0.72\n1500,26.6,0.73\n2000,26.9,0.74\n")
    res = {"sr/s2svr": {"steps": 2000, "train_seconds": 600.0, "checkpoint": str(run / "last.pt"), "spec": {}},
           "sr/identity": {"steps": 0}}
    t = training_table(res)
    assert list(t.index) == ["sr/s2svr"] and t.loc["sr/s2svr", "train minutes"] == 10
    assert t.loc["sr/s2svr", "last-20% gain (dB)"] == pytest.approx(0.3) and not t.loc["sr/s2svr", "converged"]
    assert t.loc["sr/s2svr", "trained"] == "in this build"


def test_training_table_shows_a_peak_that_fell_back_and_the_late_training_loss(tmp_path):
    """A run that peaked early and lost 0.2 dB is not converged (the rule is two-sided); the table shows the peak
    and the fall, and the mean training loss over its last 20% of logged steps; a run below its input is flagged."""
    run = tmp_path / "train"
    run.mkdir()
    (run / "val.csv").write_text("step,psnr,ssim\n500,27.1,0.7\n1000,27.48,0.72\n1500,27.28,0.73\n2000,27.27,0.74\n")
    (run / "log.csv").write_text("step,loss\n" + "".join(f"{s},{0.05 if s <= 1600 else 0.02}\n"
                                                          for s in range(100, 2001, 100)))
    res = {"sr/s2svr": {"steps": 2000, "seconds": 60.0, "checkpoint": str(run / "last.pt"), "log": str(run / "log.csv")}}
    res["sr/s2svr"]["mean"] = {"psnr": 26.0}
    t = training_table(res, inputs={"sr/s2svr": 26.5})
    row = t.loc["sr/s2svr"]
    assert row["ends below its input"]
    assert not row["converged"] and row["best val"] == pytest.approx(27.48) and row["at step"] == 1000
    assert row["final - best (dB)"] == pytest.approx(-0.21)
    assert row["train loss, last 20%"] == pytest.approx(0.02)  # steps 1700-2000 only
    assert final_train_loss({"log": str(tmp_path / "missing.csv")}) is None
