import numpy as np
import pytest
import torch

from s2svr.configs import load_config
from s2svr.data import FrameSource, VideoSequence
from s2svr.data.video_io import write_yuv420
from s2svr.models.baselines import IdentityBaseline
from s2svr.train.evaluate import evaluate_sequences, metric_convention, write_results


def _yuv(path, frames_y):
    t, h, w = frames_y.shape
    chroma = np.full((t, h // 2, w // 2), 128, np.uint8)
    write_yuv420(path, frames_y, chroma, chroma)
    return FrameSource.from_yuv(path, w, h)


def test_compressed_video_is_scored_as_delta_on_y_per_video_then_over_videos(tmp_path):
    rng = np.random.default_rng(0)
    seqs = []
    for name, t in (("a", 3), ("b", 5)):  # unequal lengths: the mean is over videos, not pooled frames
        raw = rng.integers(40, 200, (t, 16, 16), dtype=np.uint8)
        comp = np.clip(raw.astype(int) + rng.integers(-6, 7, raw.shape), 0, 255).astype(np.uint8)
        seqs.append(VideoSequence(name, lq=_yuv(tmp_path / f"{name}_c.yuv", comp), gt=_yuv(tmp_path / f"{name}_r.yuv", raw)))
    cfg = load_config("vqe_mfqe", "ci", overrides={"data": {"test_frames": None}})  # whole videos
    assert metric_convention(cfg) == {"kind": "delta", "test_y": True, "crop_border": 0}
    res = evaluate_sequences(IdentityBaseline(task="vqe", in_channels=1, scale=1), seqs, cfg, progress=False)
    # the identity "enhancement" changes nothing: delta-PSNR and delta-SSIM are exactly zero
    assert res["mean"]["delta_psnr"] == 0 and res["mean"]["delta_ssim"] == 0
    assert res["per_sequence"]["b"]["frames"] == 5 and 20 < res["mean"]["psnr_compressed"] < 60
    js, md = write_results(res, tmp_path / "r.json")
    assert "delta_psnr" in md.read_text()
