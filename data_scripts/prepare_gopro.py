"""Prepare GOPRO (GOPRO_Large) for video deblurring: download the official zip, extract, place train/ and test/.

Explained in the chapter `notebooks/data.py`. Result under --root (default data/GOPRO, the root of the deblur_gopro config):
    train/<22 sequences>/blur|blur_gamma|sharp/*.png
    test/<11 sequences>/blur|blur_gamma|sharp/*.png
No degradation is made: the blurred frames ship with the dataset.

    python data_scripts/prepare_gopro.py --root data/GOPRO
"""
from __future__ import annotations

from pathlib import Path

from prepare_common import base_parser, fetch_and_extract, move_into, report

from s2svr.data.gopro import DOWNLOADS, NUM_SEQUENCES, gopro_sequences


def place(extracted: Path, root: Path) -> None:
    """Find the folder holding train/ and test/ inside the extracted archive and move them under root."""
    candidates = [extracted, *sorted(p for p in extracted.rglob("*") if p.is_dir() and p.name == "train")]
    for c in candidates:
        base = c if c.name != "train" else c.parent
        if (base / "train").is_dir() and (base / "test").is_dir():
            for split in ("train", "test"):
                move_into(base / split, root / split)
            return


def main(argv=None) -> None:
    args = base_parser(__doc__.splitlines()[0], "data/GOPRO").parse_args(argv)
    root = Path(args.root)
    extracted = fetch_and_extract(DOWNLOADS, root, args)
    if extracted.exists():
        place(extracted, root)
    report(gopro_sequences, root)
    for split, n in NUM_SEQUENCES.items():
        found = len([p for p in (root / split).iterdir() if p.is_dir()])
        if found != n:
            print(f"note: {split} has {found} sequences; the paper's split has {n}")


if __name__ == "__main__":
    main()
