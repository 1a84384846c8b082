"""Plan-like results on fake restorations (no training, no dataset), for the tests of s2svr.report."""
import numpy as np

from s2svr import metrics
from s2svr.configs import config_to_dict, load_config


def _gt(t=3, h=24, w=32):
    rng = np.random.default_rng(0)
    gt = np.full((t, h, w, 3), 128, np.uint8)
    gt[:, 4:14, 18:28] = rng.integers(0, 256, (t, 10, 10, 3))  # the only textured region
    return gt


def _fake_results(tmp_path, offsets):
    """Plan-like results for task 'sr': each arch's output is GT + a constant offset (larger = worse)."""
    gt = _gt()
    base = config_to_dict(load_config("sr_reds4", "ci"))
    res = {}
    for arch, off in offsets.items():
        out_dir = tmp_path / arch
        out_dir.mkdir()
        restored = np.clip(gt.astype(int) + off, 0, 255).astype(np.uint8)
        np.save(out_dir / "sr_clip_a.npy", restored)
        p = metrics.psnr(restored[0], gt[0])
        cfg = {**base, "model": {**base["model"], "arch": arch}}
        res[f"sr/{arch}"] = {
            "per_sequence": {"sr/clip_a": {"psnr": p, "ssim": 0.9, "frames": 3},
                             "sr/clip_b": {"psnr": p - 1.0, "ssim": 0.8, "frames": 3}},
            "mean": {"psnr": p - 0.5, "ssim": 0.85},
            "convention": {"kind": "psnr", "test_y": False, "crop_border": 0},
            "parameters": {"flow": 10, "head": 5, "total": 15} if arch != "identity" else {"total": 0},
            "steps": 0 if arch == "identity" else 2, "train_seconds": 1.0, "outputs": str(out_dir), "arch": arch,
            "spec": {"resolved": {"config": cfg}},
        }
    return res, gt
