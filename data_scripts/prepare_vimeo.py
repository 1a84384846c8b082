"""Prepare Vimeo-90K septuplets for x4 video SR in BasicSR's layout: download, extract, make the bicubic LQ.

Explained in the chapter `notebooks/data.py`. Result under --root (default data/vimeo90k):
    vimeo_septuplet/sequences/00001/0001/im1..7.png     GT 448x256 (official zip)
    vimeo_septuplet/sep_trainlist.txt, sep_testlist.txt (official zip; the test list is Vimeo-90K-T)
    vimeo_septuplet_matlabLRx4/sequences/...            LQ 112x64, made here with s2svr.data.degrade.imresize,
                                                        the Python equivalent of BasicSR's generate_LR_Vimeo90K.m
Making the LQ of all 91,701 septuplets takes a while: --splits test makes only Vimeo-90K-T's 7,824.
Interrupted runs resume (frames already written are kept).

    python data_scripts/prepare_vimeo.py --root data/vimeo90k
    python data_scripts/prepare_vimeo.py --root data/vimeo90k --no-download --splits test
"""
from __future__ import annotations

from pathlib import Path

from prepare_common import base_parser, fetch_and_extract, find_dir, make_bicubic_lq, move_into, report

from s2svr.data.vimeo import DOWNLOADS, GT_DIR, LQ_DIR, read_vimeo_list, vimeo_list_path, vimeo_sequences


def place(extracted: Path, root: Path) -> None:
    """Move the extracted vimeo_septuplet/ (sequences + lists) to <root>/vimeo_septuplet/."""
    src = find_dir(extracted, "vimeo_septuplet", max_depth=2)
    if src is None and (extracted / "sequences").is_dir():
        src = extracted
    if src is not None:
        move_into(src, root / "vimeo_septuplet")


def main(argv=None) -> None:
    p = base_parser(__doc__.splitlines()[0], "data/vimeo90k")
    p.add_argument("--splits", nargs="+", default=["train", "test"], choices=["train", "test"],
                   help="which lists to make LQ for (default both)")
    args = p.parse_args(argv)
    root = Path(args.root)
    extracted = fetch_and_extract(DOWNLOADS, root, args)
    if extracted.exists():
        place(extracted, root)
    for split in args.splits:
        keys = read_vimeo_list(vimeo_list_path(root, split))
        pairs = [(root / GT_DIR / k, root / LQ_DIR / k) for k in keys
                 if len(list((root / LQ_DIR / k).glob("im*.png"))) < 7]
        if pairs:
            make_bicubic_lq(pairs, args.workers, desc=f"{split} LQ (MATLAB bicubic x4)")
    report(vimeo_sequences, root, splits=args.splits)


if __name__ == "__main__":
    main()
