"""MFQEv2 (Guan et al., 2019) for compressed video quality enhancement, in STDF's layout.

Explained in `notebooks/data.py`. Layout under `root` (e.g. `data/MFQEv2`)::

    train_108/raw/<Name>_<W>x<H>_<frames>.yuv        108 lossless videos, 8-bit YUV 4:2:0 (I420)
    train_108/HM16.5_LDP/QP37/<same name>.yuv        compressed by HM 16.5, low-delay P, QP 37
    test_18/raw/Traffic_2560x1600_150.yuv ...        18 JCT-VC test sequences (paper Table 3)
    test_18/HM16.5_LDP/QP37/...

The paper (and MFQEv2, STDF) compress with the HEVC reference encoder HM 16.5. Few users have HM
output, so `data_scripts/prepare_mfqe.py` can write an x265 low-delay-P stand-in at the same QP into
`x265_LDP/QP37/` instead. It is *not* HM: its numbers are not comparable with Table 3, and the folder
name says so. `codec='auto'` uses HM output when present, else the stand-in.

Frame size comes from the file name (`_<W>x<H>`); the frame count from the file size. Quality is
measured on the Y plane read straight from the YUV file (no RGB round trip), as STDF does.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

from .layout import missing, normalise_split, require
from .sequence import FrameSource, VideoSequence

SPLIT_DIRS = {"train": "train_108", "test": "test_18"}
CODEC_DIRS = {"hm": "HM16.5_LDP", "x265": "x265_LDP"}   # x265_LDP = our stand-in, not the paper's encoder
JCTVC_CLASSES = {(2560, 1600): "A", (1920, 1080): "B", (832, 480): "C", (416, 240): "D", (1280, 720): "E"}
# Rows of paper Table 3, in its order (class, sequence). The paper prints class D as 480x240; it is 416x240.
TABLE3_ROWS = (("A", "Traffic"), ("A", "PeopleOnStreet"), ("B", "Kimono"), ("B", "ParkScene"), ("B", "Cactus"),
               ("B", "BQTerrace"), ("B", "BasketballDrive"), ("C", "RaceHorses"), ("C", "BQMall"),
               ("C", "PartyScene"), ("C", "BasketballDrill"), ("D", "RaceHorses"), ("D", "BQSquare"),
               ("D", "BlowingBubbles"), ("D", "BasketballPass"), ("E", "FourPeople"), ("E", "Johnny"),
               ("E", "KristenAndSara"))
# MFQEv2's raw videos are shared through cloud drives only, so there is nothing to download automatically.
INSTRUCTIONS = (
    "MFQEv2 raw videos are distributed through cloud drives (no direct link): follow "
    "https://github.com/RyanXingQL/MFQEv2.0/wiki/MFQEv2-Dataset and put the 108 training videos in "
    "{root}/train_108/raw/ and the 18 test videos in {root}/test_18/raw/ (names like Traffic_2560x1600_150.yuv).")
_SIZE = re.compile(r"_(\d+)x(\d+)(?=_|\.|$)")


def parse_yuv_name(name: str):
    """`(width, height)` from a name like 'Traffic_2560x1600_150.yuv' (the last `_<W>x<H>` in it)."""
    found = _SIZE.findall(Path(name).name)
    if not found:
        raise ValueError(f"{name}: no '_<width>x<height>' in the file name, cannot tell the frame size")
    w, h = found[-1]
    return int(w), int(h)


def table3_row(name: str):
    """`(class, sequence)` of a test video name in Table 3, e.g. ('D', 'RaceHorses'); None if not a JCT-VC name."""
    stem = Path(name).stem
    try:
        size = parse_yuv_name(stem)
    except ValueError:
        return None
    cls = JCTVC_CLASSES.get(size)
    row = (cls, stem.split("_")[0])
    return row if row in TABLE3_ROWS else None


def compressed_dir(root, split: str, qp: int = 37, codec: str = "auto") -> Path:
    """The folder of compressed videos: `<split>/HM16.5_LDP/QP<qp>` or the `x265_LDP` stand-in."""
    root = Path(root)
    base = root / SPLIT_DIRS[normalise_split(split)]
    if codec not in ("auto", *CODEC_DIRS):
        raise ValueError(f"codec must be 'auto', 'hm' or 'x265', got {codec!r}")
    order = ("hm", "x265") if codec == "auto" else (codec,)
    for c in order:
        d = base / CODEC_DIRS[c] / f"QP{qp}"
        if d.is_dir():
            if c == "x265":
                warnings.warn(f"{d}: using the x265 stand-in, not HM 16.5; numbers are not comparable with "
                              "paper Table 3", stacklevel=3)
            return d
    what = "missing (nor the x265_LDP stand-in)" if codec == "auto" else "missing"
    raise missing(base / CODEC_DIRS[order[0]] / f"QP{qp}", "mfqe", root, what)


def mfqe_sequences(root, split: str, qp: int = 37, codec: str = "auto") -> list:
    """MFQEv2 videos of `split` as `VideoSequence`s (LQ = compressed, GT = raw, YUV sources, `scale=1`).

    Every raw video needs a compressed twin of the same name and frame count, else :class:`DatasetError`.
    Names are the file stems, e.g. 'Traffic_2560x1600_150'; see :func:`table3_row` for Table 3's rows.
    """
    root = Path(root)
    split = normalise_split(split)
    raw_dir = require(root / SPLIT_DIRS[split] / "raw", "mfqe", root, "dir")
    raws = sorted(raw_dir.glob("*.yuv"))
    if not raws:
        raise missing(raw_dir, "mfqe", root, "no .yuv videos")
    lq_dir = compressed_dir(root, split, qp, codec)
    seqs = []
    for raw in raws:
        w, h = parse_yuv_name(raw.name)
        lq_path = require(lq_dir / raw.name, "mfqe", root, "file")
        gt, lq = FrameSource.from_yuv(raw, w, h), FrameSource.from_yuv(lq_path, w, h)
        if len(gt) == 0:
            raise missing(raw, "mfqe", root, f"smaller than one {w}x{h} frame")
        if len(lq) != len(gt):
            raise missing(lq_path, "mfqe", root, f"{len(lq)} frames but {raw} has {len(gt)}")
        seqs.append(VideoSequence(name=raw.stem, lq=lq, gt=gt, scale=1))
    return seqs
