"""Tiny trees of REDS, Vimeo-90K, GOPRO and MFQEv2 in their real layouts, made through the preparation scripts.

For the rehearsal of the paper path (`make rehearse`, `book/tools/rehearse.py`; explained in the GPU page
`notebooks/use_gpu.py`): the paper configs read these trees through their own data paths (`data/REDS`,
`data/vimeo90k`, `data/GOPRO`, `data/MFQEv2` under the rehearsal's folder). The ground truth is a few frames of a scikit-image photograph seen by a moving camera
(`s2svr.data.degrade.hfr_camera_path`); what a dataset does not ship is made by its own script, as for the real one:
the bicubic x4 LQ by `prepare_reds.py` and `prepare_vimeo.py`, the x265 QP 37 stand-in by `prepare_mfqe.py`.
GOPRO ships its blurred frames, so they are synthesised here as GOPRO made them (`synthesize_blur`: the mean of
high-frame-rate frames); `prepare_gopro.py` then checks the tree. Every script runs with `--no-download` and ends
with its loader's report (the same check as after a real download).

    python data_scripts/make_tiny.py --root _build/rehearse/data
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the prepare_* scripts, imported as modules

import prepare_gopro  # noqa: E402
import prepare_mfqe  # noqa: E402
import prepare_reds  # noqa: E402
import prepare_vimeo  # noqa: E402

from s2svr.data.degrade import hfr_camera_path, synthesize_blur  # noqa: E402
from s2svr.data.video_io import rgb_to_yuv420, write_image, write_png_folder, write_yuv420  # noqa: E402
from s2svr.data.vimeo import LISTS  # noqa: E402

VERSION = 3  # bump when a tree below changes: a stale tree is rebuilt
# dataset -> (folder under --root: the paper config's data.root without its `data/`, GT size (h, w), frames of a clip)
TREES = {"reds": ("REDS", (128, 128), 6), "vimeo": ("vimeo90k", (128, 128), 7),
         "gopro": ("GOPRO", (64, 64), 8), "mfqe": ("MFQEv2", (64, 64), 8)}
REDS4_FRAMES = 50  # REDS4's test clips: long enough for Table 5's longest segment (50 of the real clips' 100 frames)
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "cat")


def clip(seed: int, size: tuple, frames: int, window: int = 1) -> np.ndarray:
    """uint8 `(frames * window, h, w, 3)`: a photograph under a moving camera, `window` sub-frames per frame."""
    from skimage import data
    photo = getattr(data, PHOTOS[seed % len(PHOTOS)])()
    return hfr_camera_path(np.repeat(photo[None], frames, 0), window, size, seed=seed, speed=(1.0, 3.0), shake=0.5)


def make_reds(root: Path) -> None:
    _, size, n = TREES["reds"]
    for i, name in enumerate(("000", "011", "015", "020", "001", "002")):  # REDS4 (test), then two training clips
        write_png_folder(root / prepare_reds.GT_DIR / name, clip(i, size, REDS4_FRAMES if i < 4 else n))
    prepare_reds.main(["--root", str(root), "--no-download", "--workers", "1"])


def make_vimeo(root: Path) -> None:
    _, size, n = TREES["vimeo"]
    keys = {"train": ["00001/0001", "00001/0002"], "test": ["00002/0001"]}
    for i, key in enumerate(keys["train"] + keys["test"]):
        for j, frame in enumerate(clip(10 + i, size, n)):  # Vimeo names its frames im1..im7
            write_image(root / prepare_vimeo.GT_DIR / key / f"im{j + 1}.png", frame)
    for split, name in LISTS.items():
        (root / "vimeo_septuplet" / name).write_text("\n".join(keys[split]) + "\n")
    prepare_vimeo.main(["--root", str(root), "--no-download", "--workers", "1"])


def make_gopro(root: Path, window: int = 7) -> None:
    _, size, n = TREES["gopro"]
    seqs = {"train": ["GOPR0372_07_00", "GOPR0374_11_00"], "test": ["GOPR0384_11_00", "GOPR0385_11_01"]}
    for i, (split, name) in enumerate((s, q) for s, names in seqs.items() for q in names):
        blur, sharp = synthesize_blur(clip(20 + i, size, n, window), window)
        for folder, frames in (("blur", blur), ("sharp", sharp)):
            for k, frame in enumerate(frames):  # GOPRO names its frames 000047.png, ...: six digits
                write_image(root / split / name / folder / f"{k:06d}.png", frame)
    prepare_gopro.main(["--root", str(root), "--no-download"])


def make_mfqe(root: Path) -> None:
    _, (h, w), n = TREES["mfqe"]
    videos = {"train": ["TinyA", "TinyB"], "test": ["TinyC", "TinyD"]}
    for i, (split, name) in enumerate((s, v) for s, names in videos.items() for v in names):
        raw = root / prepare_mfqe.SPLIT_DIRS[split] / "raw" / f"{name}_{w}x{h}_{n}.yuv"
        raw.parent.mkdir(parents=True, exist_ok=True)
        write_yuv420(raw, *rgb_to_yuv420(clip(30 + i, (h, w), n)))
    prepare_mfqe.main(["--root", str(root)])


MAKERS = {"reds": make_reds, "vimeo": make_vimeo, "gopro": make_gopro, "mfqe": make_mfqe}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="where the trees go (REDS/, vimeo90k/, GOPRO/, MFQEv2/)")
    args = ap.parse_args(argv)
    base = Path(args.root)
    for dataset, (folder, size, frames) in TREES.items():
        root = base / folder
        stamp = root / "TINY.json"
        want = {"version": VERSION, "size": list(size), "frames": frames}  # a changed tree is made anew
        if stamp.is_file() and json.loads(stamp.read_text()) == want:
            print(f"{root}: up to date")
            continue
        if root.exists():
            import shutil
            shutil.rmtree(root)
        print(f"{root}: tiny {dataset} tree, {frames} frames of {size[1]}x{size[0]} (GT)")
        MAKERS[dataset](root)
        stamp.write_text(json.dumps(want))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
