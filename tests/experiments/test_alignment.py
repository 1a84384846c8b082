"""The alignment oracle (`s2svr.experiments.alignment`): exact flows of camera-path clips, the smooth error added
to them, and a training on given sequences and flows."""
import numpy as np
import pytest
import torch

from s2svr.data.camera_paths import exact_lq_flows, sr_clip
from s2svr.experiments import alignment as A
from s2svr.flow.warp import flow_warp


def _warp_errors(lq, fw, bw, border=4):
    x = torch.from_numpy(np.ascontiguousarray(lq)).permute(0, 3, 1, 2).float() / 255
    c = slice(border, -border)

    def l1(a, b):
        return float((a - b)[..., c, c].abs().mean())
    return (l1(flow_warp(x[1:], torch.from_numpy(fw)), x[:-1]), l1(flow_warp(x[:-1], torch.from_numpy(bw)), x[1:]),
            l1(x[1:], x[:-1]))


def test_exact_flows_align_the_lq_frames_and_their_negation_does_not():
    lq, gt, mats = sr_clip("coffee", 1001)
    fw, bw = exact_lq_flows(mats, lq.shape[1:3])
    assert fw.shape == bw.shape == (len(lq) - 1, 2) + lq.shape[1:3]
    e_fw, e_bw, e_zero = _warp_errors(lq, fw, bw)
    assert e_fw < 0.35 * e_zero and e_bw < 0.35 * e_zero   # measured: 0.008 against 0.036
    e_neg, _, _ = _warp_errors(lq, -fw, bw)
    assert e_neg > e_zero                                   # a flow of the wrong sign misaligns
    # fw and bw are inverse maps: going there and back lands where it started (the camera moves < 2 px a frame)
    back = flow_warp(torch.from_numpy(bw[:1]), torch.from_numpy(fw[:1]))
    assert float((fw[0] + back[0].numpy())[:, 4:-4, 4:-4].__abs__().max()) < 1e-2


def test_exact_flows_match_the_gt_grid_at_scale_one():
    lq, gt, mats = sr_clip("coffee", 1001)
    fw_lq, _ = exact_lq_flows(mats, lq.shape[1:3])
    fw_gt, _ = exact_lq_flows(mats, gt.shape[1:3], scale=1)
    # LQ pixel l sits at GT 4 l + 1.5: the LQ flow there is the GT flow / 4
    assert np.allclose(fw_lq[:, :, 2, 3], fw_gt[:, :, 4 * 2 + 1, 4 * 3 + 1] / 4, atol=0.02)


def test_the_flow_error_is_smooth_repeatable_and_of_its_size():
    e = A.flow_error((64, 64), 0.25, [1, 2, 3, 0])
    assert np.array_equal(e, A.flow_error((64, 64), 0.25, [1, 2, 3, 0]))
    assert not np.array_equal(e, A.flow_error((64, 64), 0.25, [1, 2, 3, 1]))
    assert np.abs(np.diff(e, axis=-1)).max() < 0.1          # smooth: no pixel-to-pixel jumps
    many = np.stack([A.flow_error((8, 8), 0.25, [k]) for k in range(200)])
    assert 0.15 < many.std() < 0.3
    assert not A.flow_error((8, 8), 0.0, [0]).any()


def test_epe_of_the_truth_is_zero_and_of_zero_flow_is_the_motion():
    flows = [(np.ones((2, 2, 4, 4), np.float32), -np.ones((2, 2, 4, 4), np.float32))]
    assert A.epe(A.bank_of(flows), flows) == 0.0
    zero = A.bank_of([(np.zeros_like(f), np.zeros_like(b)) for f, b in flows])
    assert A.epe(zero, flows) == pytest.approx(np.sqrt(2))
    assert 0 < A.epe(A.bank_of(flows, 0.5, seed=1), flows) < 1.5


def test_split_keeps_the_validation_photograph_out_of_training():
    train, _ = A._clips("train")
    val, val_flows = A._clips("val")
    assert not any(A.VAL_PHOTO in s.name for s in train)
    assert all(A.VAL_PHOTO in s.name for s in val) and len(val) == len(A.VAL_SEEDS) == len(val_flows)


def test_training_uses_the_given_sequences_and_flows(tiny_config, tmp_path, monkeypatch):
    """`train(sequences=, flows=)`: the given flows reach the model, the config's training split is not read."""
    from s2svr.configs import load_config
    from s2svr.train import trainer as trainer_mod
    from s2svr.train.flow_bank import FlowBank
    cfg = load_config(tiny_config, "ci", overrides={"model": {"arch": "basicvsr"}, "train": {"iters": 2}})
    val, val_flows = A._clips("val")
    seqs, flows = val[:1], val_flows[:1]
    monkeypatch.setattr(trainer_mod, "build_train_sequences", lambda cfg: pytest.fail("read the config's split"))
    seen = []
    real = FlowBank.clip

    def spy(self, k, idx):
        out = real(self, k, idx)
        seen.append(out)
        return out
    monkeypatch.setattr(FlowBank, "clip", spy)
    res = trainer_mod.train(cfg, tmp_path / "run", progress=False, sequences=seqs, flows=A.bank_of(flows),
                            val_sequences=[])
    assert res.step == 2 and res.last_val is None and seen
    assert any(np.abs(fw).max() > 0.1 for fw, _ in seen)   # the camera's motion, not a zero flow


def test_the_report_reads_the_csv_draws_and_says_what_it_measured(tmp_path, monkeypatch):
    import matplotlib
    import pandas as pd
    matplotlib.use("Agg")
    from s2svr.report import study as R
    rows = [dict(run="single-frame", arch="single_frame", flow="", sigma="", val=25.0, neighbour_gain=0.0, epe=""),
            dict(run="t0", arch="basicvsr", flow="truth", sigma=0.0, val=25.5, neighbour_gain=0.4, epe=0.0),
            dict(run="t1", arch="basicvsr", flow="truth", sigma=0.25, val=25.2, neighbour_gain=0.1, epe=0.2),
            dict(run="st", arch="basicvsr", flow="student", sigma="", val=25.1, neighbour_gain=0.05, epe=0.1)]
    path = tmp_path / "alignment.csv"
    with open(path, "w", newline="") as f:
        import csv
        w = csv.DictWriter(f, fieldnames=A.COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({**{k: "" for k in A.COLUMNS}, **r, "epe_zero": 0.6})
    monkeypatch.setattr(A, "csv_path", lambda: path)
    df = R.load_alignment()
    assert list(df["margin"].round(3)) == [0.0, 0.5, 0.2, 0.1]
    text = R.alignment_summary(df)
    assert "true flow** gains +0.400 dB" in text and "+0.500 dB from the single-frame" in text
    assert "error 0.100 px, against 0.600 px" in text and "+0.400 dB at 0.00 px, +0.100 dB at 0.20 px" in text
    real = pd.DataFrame([dict(factor="base", arch="basicvsr", neighbour_gain=0.001)])
    assert "real validation clips, the same network with the same student's flow gains +0.001 dB" in \
        R.alignment_summary(df, real)
    fig = R.alignment_figure(df)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) >= 3
    monkeypatch.setattr(A, "csv_path", lambda: tmp_path / "none.csv")
    assert R.load_alignment().empty and R.alignment_summary(R.load_alignment()) == ""


def test_detail_above_nyquist_is_high_for_noise_and_low_for_a_smooth_ramp():
    from s2svr.report.study import detail_above_nyquist
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    x = np.linspace(0, 255, 64)
    ramp = np.broadcast_to((np.sin(x / 40)[None, :, None] * 100 + 128), (2, 64, 64, 3)).astype(np.uint8)
    # white noise: the band above 1/8 cycle per pixel holds 1 - (1/4)^2 of the spectrum
    assert detail_above_nyquist(noise, every=1) == pytest.approx(1 - 1 / 16, abs=0.05)
    assert detail_above_nyquist(ramp, every=1) < 0.01


def test_collect_keeps_the_shipped_rows_of_runs_not_on_this_machine(tmp_path, monkeypatch):
    import csv
    path = tmp_path / "alignment.csv"
    monkeypatch.setattr(A, "csv_path", lambda: path)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=A.COLUMNS)
        w.writeheader()
        w.writerow({**{k: "" for k in A.COLUMNS}, "run": A.RUNS[1].name, "arch": "basicvsr", "val": "20.9"})
        w.writerow({**{k: "" for k in A.COLUMNS}, "run": "a run no longer in RUNS", "val": "1"})
    A.collect(tmp_path / "outputs")          # nothing finished there
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["run"] for r in rows] == [A.RUNS[1].name] and rows[0]["val"] == "20.9"


def test_a_finished_run_is_judged_again_on_real_clips(tiny_config, tmp_path, monkeypatch):
    """`on_real`: a run trained on camera paths with the true flow is judged on the study's real validation clips
    with its own flow net's flow; the result is kept (a second call reads it) and collected as two columns."""
    import json
    from s2svr.experiments.jobs import RestoreJob
    from s2svr.train import trainer as trainer_mod
    monkeypatch.setattr(A, "_study_job", lambda arch: RestoreJob(str(tiny_config), "ci", arch=arch))
    monkeypatch.setattr(A, "csv_path", lambda: tmp_path / "alignment.csv")
    import s2svr.train.data as data_mod
    held_out = []
    monkeypatch.setattr(data_mod, "build_val_sequences", lambda cfg: held_out.append(cfg) or A._clips("val")[0][:1])
    run = A.RUNS[1]  # BasicVSR, true flow
    d = A.run_dir(run, tmp_path)
    cfg = A._study_job(run.arch).cfg()
    val, val_flows = A._clips("val")
    trainer_mod.train(cfg, d / "train", progress=False, sequences=val[:1], flows=A.bank_of(val_flows[:1]),
                      val_sequences=[], max_steps=2)
    (d / "result.json").write_text(json.dumps({"run": run.name, "arch": run.arch, "val": 20.0}))
    real = A.on_real(run, tmp_path)
    assert real["neighbour_windows"] > 0 and np.isfinite(real["val"]) and np.isfinite(real["neighbour_gain"])
    assert held_out and held_out[0].data.test_frames is None  # the study's validation clips, whole
    assert json.loads((d / "result.json").read_text())["real"] == real
    monkeypatch.setattr(A, "load_restorer", None, raising=False)
    assert A.on_real(run, tmp_path) == real          # read back, not recomputed
    import csv
    A.collect(tmp_path)
    with open(tmp_path / "alignment.csv", newline="") as f:
        (row,) = [r for r in csv.DictReader(f) if r["run"] == run.name]
    assert float(row["val_real"]) == pytest.approx(real["val"], rel=1e-4)  # 5 significant digits


def test_the_summary_sets_the_real_clips_beside_the_oracle():
    import pandas as pd
    from s2svr.report.study import alignment_summary
    df = pd.DataFrame([{"run": "s", "arch": "single_frame", "flow": None, "sigma": None, "val": 20.0, "margin": 0.0,
                        "neighbour_gain": 0.0, "val_real": 25.9, "neighbour_gain_real": 0.0},
                       {"run": "t", "arch": "basicvsr", "flow": "truth", "sigma": 0.0, "val": 20.2, "margin": 0.2,
                        "neighbour_gain": 0.25, "epe": 0.0, "epe_zero": 0.6, "val_real": 25.8,
                        "neighbour_gain_real": 0.017}])
    text = alignment_summary(df)
    assert "+0.017 dB" in text and "25.800 dB" in text and "+0.250 dB on its own validation photograph" in text
    assert "trained on camera paths" not in alignment_summary(df.drop(columns=["val_real", "neighbour_gain_real"]))
