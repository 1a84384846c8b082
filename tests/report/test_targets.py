"""The small recipe's targets (s2svr.report.targets) on made-up results whose answers are known."""
import pandas as pd

from s2svr.report.targets import recipe_targets, targets_summary

CLIPS = ("clip_a", "clip_b", "clip_c")


def _run(task, score, offsets=(0.0, 0.1, -0.1), key="psnr", val=None):
    per = {f"{task}/{c}": {key: score + o, "frames": 3} for c, o in zip(CLIPS, offsets)}
    return {"per_sequence": per, "mean": {key: score}, "validation": val or {}}


def _task(task, scores, key="psnr", val=None):
    """{'<task>/<arch>[/seedN]': run}: `scores[arch]` is one score per seed (the input: one run)."""
    out = {}
    for arch, per_seed in scores.items():
        for k, s in enumerate(per_seed):
            out[f"{task}/{arch}" + (f"/seed{k}" if k else "")] = _run(task, s, key=key, val=(val or {}).get(arch))
    return out


def _met(table, task, starts):
    rows = table[(table["task"] == task) & table["target"].str.startswith(starts)]
    assert len(rows) == 1, (task, starts, table)
    return rows["met"].iloc[0]


def test_sr_margins_count_only_above_the_seed_spread():
    gain = {"s2svr": {"neighbour_gain": 0.4}}
    clear = _task("sr", {"identity": [25.0], "single_frame": [27.0, 27.0, 27.0], "basicvsr": [27.1, 27.1, 27.1],
                         "s2svr": [27.5, 27.45, 27.55]}, val=gain)
    t = recipe_targets(clear)
    assert _met(t, "sr", "S2SVR's neighbour gain") == "yes"
    assert _met(t, "sr", "S2SVR >= single-frame") == "yes"
    assert _met(t, "sr", "S2SVR >= BasicVSR-style") == "yes"
    # the same mean margin (+0.25 over single-frame), but one seed far off: its spread swamps the margin
    noisy = _task("sr", {"identity": [25.0], "single_frame": [27.0, 27.0, 27.0], "basicvsr": [27.6, 27.6, 27.6],
                         "s2svr": [27.6, 26.65, 27.5]}, val={"s2svr": {"neighbour_gain": 0.1}})
    t = recipe_targets(noisy)
    assert _met(t, "sr", "S2SVR's neighbour gain") == "no"
    assert _met(t, "sr", "S2SVR >= single-frame") == "no"
    assert _met(t, "sr", "S2SVR >= BasicVSR-style") == "no"


def test_deblur_flags_a_network_below_its_input():
    res = _task("deblur", {"identity": [32.0], "single_frame": [31.9, 31.95, 31.9], "basicvsr": [32.6, 32.6, 32.6],
                           "s2svr": [33.0, 33.05, 32.95]})
    t = recipe_targets(res)
    assert _met(t, "deblur", "no network ends below") == "no"
    assert "single-frame -0.083 dB" in t[t["target"].str.startswith("no network")]["measured"].iloc[0]
    assert _met(t, "deblur", "S2SVR >= blurred input + 0.5") == "yes"
    assert _met(t, "deblur", "S2SVR >= single-frame") == "yes"
    res["deblur/single_frame"] = _run("deblur", 32.1)
    res.pop("deblur/single_frame/seed1"), res.pop("deblur/single_frame/seed2")
    res.pop("deblur/basicvsr/seed1"), res.pop("deblur/basicvsr/seed2")
    res.pop("deblur/s2svr/seed1"), res.pop("deblur/s2svr/seed2")
    assert _met(recipe_targets(res), "deblur", "no network ends below") == "yes"


def test_vqe_and_use_rows():
    res = _task("vqe", {"identity": [0.0], "single_frame": [0.1], "basicvsr": [0.2], "s2svr": [0.35]},
                key="delta_psnr", val={a: {"h264": {"delta_psnr": 0.05}} for a in ("single_frame", "basicvsr", "s2svr")})
    use = pd.DataFrame([{"arch": "s2svr", "train_zoom": 8, "use_zoom": 4, "ratio": 51.0, "seconds_per_frame": 4.3,
                         "single_frame_seconds": 0.084, "size": "176x144"},
                        {"arch": "s2svr", "train_zoom": 4, "use_zoom": 4, "ratio": 3.5, "seconds_per_frame": 0.29,
                         "single_frame_seconds": 0.084, "size": "176x144"}])
    t = recipe_targets(res, use, zoom=4)
    assert _met(t, "vqe", "S2SVR's Delta PSNR >= +0.3 dB (QP37)") == "yes"
    assert _met(t, "vqe", "S2SVR's Delta PSNR >= +0.1 dB on H.264") == "no"
    assert _met(t, "use", "S2SVR's restore time") == "yes"  # the run trained at the zoom of use is the one judged
    assert _met(recipe_targets(res, use[use["train_zoom"] == 8], zoom=4), "use", "S2SVR's restore time") == "no"
    assert _met(recipe_targets(res, None, zoom=4), "use", "S2SVR's restore time") == "not measured"
    words = targets_summary(t)
    assert words.startswith("**2 of 4 targets met.**") and "Not met: vqe:" in words


def test_throughput_row_is_the_step_over_the_matmul():
    res = _task("vqe", {"identity": [0.0], "s2svr": [0.35]}, key="delta_psnr")
    step = {"flops_per_s": 40e9, "seconds_per_step": 0.5, "batch": "4x5x3x32^2"}
    assert _met(recipe_targets(res, step=step, matmul_flops_per_s=100e9), "throughput", "S2SVR's SR") == "no"
    t = recipe_targets(res, step=step, matmul_flops_per_s=75e9)
    assert _met(t, "throughput", "S2SVR's SR") == "yes" and t["measured"].iloc[-1].startswith("53%")
    assert _met(recipe_targets(res), "throughput", "S2SVR's SR") == "not measured"
