"""A tiny REDS-layout tree and a config pointing at it, for training/evaluation/restoration tests."""
import numpy as np
import pytest
import yaml
from PIL import Image

from s2svr.data.degrade import imresize
from s2svr.configs import load_config


def _smooth_frames(rng, n, h, w):
    base = rng.random((h // 8 + 2, w // 8 + 2, 3))
    big = np.kron(base, np.ones((8, 8, 1)))
    frames = []
    for t in range(n):  # a texture moving right by 1 pixel a frame
        frames.append((np.roll(big, t, axis=1)[:h, :w] * 255).astype(np.uint8))
    return frames


@pytest.fixture(scope="session")
def tiny_reds(tmp_path_factory):
    root = tmp_path_factory.mktemp("REDS")
    rng = np.random.default_rng(0)
    for clip in ("000", "011", "015", "020", "100", "101"):
        gt_dir, lq_dir = root / "train_sharp" / clip, root / "train_sharp_bicubic" / "X4" / clip
        gt_dir.mkdir(parents=True)
        lq_dir.mkdir(parents=True)
        for i, fr in enumerate(_smooth_frames(rng, 5, 64, 64)):
            Image.fromarray(fr).save(gt_dir / f"{i:08d}.png")
            lq = np.clip(np.round(imresize(fr.astype(np.float64), 0.25)), 0, 255).astype(np.uint8)
            Image.fromarray(lq).save(lq_dir / f"{i:08d}.png")
    return root


def write_config(path, root, **train):
    cfg = {
        "name": "tiny_sr",
        "model": {"task": "sr", "layout": "paper", "num_feat": 4, "num_blocks": 1, "num_layers": 1,
                  "radius": 1, "scale": 4, "flow_size": None},
        "data": {"dataset": "reds", "root": str(root), "num_frames": 3, "patch_size": 8, "batch_size": 2,
                 "num_workers": 0, "test_frames": 3},
        "train": {"iters": 6, "val_every": 100, "save_every": 1, "log_every": 1, **train},
        "profiles": {"ci": {}},
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture
def tiny_config(tmp_path, tiny_reds):
    return write_config(tmp_path / "tiny.yaml", tiny_reds)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors gain nothing from intra-op threads (and they oversubscribe a shared 2-core machine)."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_reds):
    """A restoration checkpoint of a tiny SR model trained for 1 step on the tiny REDS tree."""
    from s2svr.train.trainer import train
    d = tmp_path_factory.mktemp("ckpt")
    cfg = load_config(write_config(d / "tiny.yaml", tiny_reds), "ci", overrides={"train": {"iters": 1}})
    return train(cfg, d / "run", progress=False).checkpoint
