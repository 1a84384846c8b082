"""Prepare REDS for x4 video SR in BasicSR's layout: download, extract, regroup val as 240-269, make LQ if absent.

Explained in the chapter `notebooks/data.py`. Result under --root (default data/REDS):
    train_sharp/000..269/00000000.png ...          GT (val clips 000-029 renamed 240-269, as BasicSR)
    train_sharp_bicubic/X4/000..269/...            official bicubic LQ (made with s2svr.data.degrade.imresize if absent)
Splits (s2svr.data.reds): test = REDS4 (000, 011, 015, 020), train = the other 266.

    python data_scripts/prepare_reds.py --root data/REDS
    python data_scripts/prepare_reds.py --root data/REDS --no-download     # archives already in data/REDS/downloads
"""
from __future__ import annotations

import shutil
from pathlib import Path

from prepare_common import base_parser, fetch_and_extract, find_dir, make_bicubic_lq, move_into, report

from s2svr.data.reds import DOWNLOADS, GT_DIR, LQ_DIR, reds_sequences

VAL_OFFSET = 240  # REDS has 240 training clips; val clip k becomes 240 + k (BasicSR's regroup_reds_dataset.py)


def place(extracted: Path, root: Path) -> None:
    """Move train_sharp / train_sharp_bicubic/X4 into place and regroup the val clips after them."""
    for src_name, dst, offset in (("train_sharp", root / GT_DIR, 0), ("val_sharp", root / GT_DIR, VAL_OFFSET),
                                  ("train_sharp_bicubic", root / LQ_DIR, 0),
                                  ("val_sharp_bicubic", root / LQ_DIR, VAL_OFFSET)):
        src = find_dir(extracted, src_name)
        if src is None:
            continue
        if (src / "X4").is_dir():
            src = src / "X4"
        dst.mkdir(parents=True, exist_ok=True)
        for clip in sorted(p for p in src.iterdir() if p.is_dir()):
            target = dst / f"{int(clip.name) + offset:03d}"
            if not target.exists():
                shutil.move(str(clip), str(target))


def main(argv=None) -> None:
    p = base_parser(__doc__.splitlines()[0], "data/REDS")
    args = p.parse_args(argv)
    root = Path(args.root)
    extracted = fetch_and_extract(DOWNLOADS, root, args)
    if extracted.exists():
        place(extracted, root)
    gt_root = root / GT_DIR
    if not gt_root.is_dir():
        raise SystemExit(f"{gt_root}: missing after download/extraction; see https://seungjunnah.github.io/Datasets/reds.html")
    todo = [(c, root / LQ_DIR / c.name) for c in sorted(gt_root.iterdir())
            if c.is_dir() and len(list((root / LQ_DIR / c.name).glob("*.png"))) < len(list(c.glob("*.png")))]
    if todo:
        print(f"{len(todo)} clips have no (or incomplete) official LQ: making them with s2svr.data.degrade.imresize "
              "(MATLAB bicubic x4)")
        make_bicubic_lq(todo, args.workers)
    report(reds_sequences, root)


if __name__ == "__main__":
    main()
