"""GOPRO (Nah et al., 2017) for video deblurring, in the layout of the official `GOPRO_Large.zip`.

Explained in `notebooks/data.py`. Layout under `root` (e.g. `data/GOPRO_Large`)::

    train/GOPR0372_07_00/blur/000047.png ...   LQ, 1280x720, blurred by averaging 240 fps frames
    train/GOPR0372_07_00/sharp/000047.png ...  GT
    test/GOPR0384_11_00/...

22 training and 11 test sequences (paper Sec. 4.1), 2,103 and 1,111 frames. The zip also holds
`blur_gamma/` (blur synthesised in a gamma-corrected space); video deblurring papers, this one
included, use `blur/`, which is the default here (`blur_dir='blur_gamma'` switches).
"""
from __future__ import annotations

from pathlib import Path

from .download import Resource
from .layout import folder_pair, missing, normalise_split, require

NUM_SEQUENCES = {"train": 22, "test": 11}
# Official SNU CVLab server (linked from https://seungjunnah.github.io/Datasets/gopro); no digest is published.
DOWNLOADS = (Resource("http://data.cv.snu.ac.kr:8008/webdav/dataset/GOPRO/GOPRO_Large.zip", "GOPRO_Large.zip",
                      note="blur, blur_gamma and sharp frames of 33 sequences"),)


def gopro_sequences(root, split: str, blur_dir: str = "blur") -> list:
    """GOPRO sequences of `split` as `VideoSequence`s (LQ = `blur_dir/`, GT = `sharp/`, `scale=1`), sorted by name."""
    root = Path(root)
    split = normalise_split(split)
    split_dir = require(root / split, "gopro", root, "dir")
    names = sorted(p.name for p in split_dir.iterdir() if p.is_dir())
    if not names:
        raise missing(split_dir, "gopro", root, "no sequences")
    return [folder_pair(n, split_dir / n / blur_dir, split_dir / n / "sharp", 1, "gopro", root) for n in names]
