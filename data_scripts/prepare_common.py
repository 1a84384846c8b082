"""Helpers shared by the `prepare_*.py` scripts (not a script itself).

Explained in the chapter `notebooks/data.py`. Downloading lives in `s2svr.data.download`,
layouts in the loaders (`s2svr.data.reds`, `vimeo`, `gopro`, `mfqe`); what is left here is moving
extracted folders into place and writing x4 bicubic LQ frames when the official ones are absent.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from s2svr.data.download import Resource, extract, fetch  # noqa: E402

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def base_parser(description: str, default_root: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--root", default=default_root, help=f"dataset root (default {default_root})")
    p.add_argument("--no-download", action="store_true", help="only extract / place / degrade what is already there")
    p.add_argument("--base-url", default=None, help="mirror to download the archives from instead of the official server "
                   "(same file names; file:// works)")
    p.add_argument("--keep-archives", action="store_true", help="keep the downloaded archives after extraction")
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2), help="processes for LQ generation")
    return p


def fetch_and_extract(resources, root: Path, args) -> Path:
    """Download (unless `--no-download`) and extract every resource under `<root>/downloads/extracted`."""
    downloads = root / "downloads"
    out = downloads / "extracted"
    for r in resources:
        if args.base_url:
            r = Resource(url=args.base_url.rstrip("/") + "/" + r.filename, filename=r.filename,
                         sha256=r.sha256, md5=r.md5, note=r.note)
        archive = downloads / r.filename
        if not args.no_download:
            print(f"downloading {r.url}" + (f" ({r.note})" if r.note else ""))
            fetch(r, downloads)
        if archive.exists():
            extract(archive, out)
            if not args.keep_archives:
                archive.unlink()
        elif not (out / f".{r.filename}.extracted").exists():
            print(f"{archive}: not present (and --no-download given); skipping")
    return out


def find_dir(base: Path, name: str, max_depth: int = 4):
    """First directory called `name` under `base` (breadth first, `max_depth` levels), or None."""
    level = [base]
    for _ in range(max_depth + 1):
        for d in level:
            if d.name == name and d.is_dir() and d != base:
                return d
        level = [c for d in level if d.is_dir() for c in sorted(d.iterdir()) if c.is_dir()]
    return None


def move_into(src: Path, dst: Path) -> None:
    """Move the children of `src` into `dst` (merging; an existing child is kept)."""
    dst.mkdir(parents=True, exist_ok=True)
    for child in sorted(src.iterdir()):
        if not (dst / child.name).exists():
            shutil.move(str(child), str(dst / child.name))


def _downscale_folder(job):
    gt_dir, lq_dir, names = job
    from s2svr.data.degrade import imresize
    lq_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        out = lq_dir / name
        if out.exists():
            continue                      # resumable: frames already written are kept
        with Image.open(gt_dir / name) as im:
            gt = np.asarray(im.convert("RGB"))
        tmp = out.with_name(out.stem + ".tmp.png")
        Image.fromarray(imresize(gt, 0.25)).save(tmp)
        tmp.rename(out)
    return len(names)


def make_bicubic_lq(pairs, workers: int = 1, desc: str = "bicubic x4") -> None:
    """Write MATLAB-bicubic x4 LQ frames for each `(gt_dir, lq_dir)` folder pair (skipping frames already written)."""
    jobs = []
    for gt_dir, lq_dir in pairs:
        names = sorted(p.name for p in Path(gt_dir).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        jobs.append((Path(gt_dir), Path(lq_dir), names))
    with tqdm(total=sum(len(j[2]) for j in jobs), desc=desc, unit="frame") as bar:
        if workers <= 1:
            for j in jobs:
                bar.update(_downscale_folder(j))
        else:
            with ProcessPoolExecutor(workers) as pool:
                for n in pool.map(_downscale_folder, jobs, chunksize=8):
                    bar.update(n)


def report(loader, root, splits=("train", "test"), **kwargs) -> None:
    """Load every split with the package's loader and print what was found (the final check)."""
    for split in splits:
        seqs = loader(root, split, **kwargs)
        frames = sum(len(s) for s in seqs)
        print(f"{split}: {len(seqs)} sequences, {frames} frames")
