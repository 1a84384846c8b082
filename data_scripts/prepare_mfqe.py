"""Prepare MFQEv2 for compressed video enhancement: check the raw YUV videos, make the QP37 low-delay-P inputs.

Explained in the chapter `notebooks/data.py`. Layout under --root (default data/MFQEv2):
    train_108/raw/*.yuv, test_18/raw/*.yuv        put there by you: the raw videos are on cloud drives only
    <split>/HM16.5_LDP/QP37/*.yuv                 the paper's inputs (HEVC reference encoder HM 16.5, LDP);
                                                  made here with --hm-encoder, or bring your own
    <split>/x265_LDP/QP37/*.yuv                   otherwise: our x265 stand-in (s2svr.data.degrade.hevc_compress,
                                                  constant QP, one I-frame then P-frames). NOT HM: its numbers are
                                                  not comparable with the paper's Table 3.

    python data_scripts/prepare_mfqe.py --root data/MFQEv2                 # x265 stand-in
    python data_scripts/prepare_mfqe.py --root data/MFQEv2 \
        --hm-encoder /path/to/TAppEncoderStatic --hm-cfg /path/to/encoder_lowdelay_P_main.cfg
A whole video is encoded as one GOP, so it is held in memory (a 1080p, 600-frame video is about 1.9 GB).
"""
from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from prepare_common import report

from s2svr.data.mfqe import CODEC_DIRS, INSTRUCTIONS, SPLIT_DIRS, mfqe_sequences, parse_yuv_name


def read_planes(path: Path, w: int, h: int):
    """(Y (T, H, W), U (T, H/2, W/2), V (T, H/2, W/2)) of an 8-bit I420 file."""
    fsize = w * h * 3 // 2
    data = np.fromfile(path, dtype=np.uint8)
    t = data.size // fsize
    data = data[: t * fsize].reshape(t, fsize)
    c = (h // 2) * (w // 2)
    return (data[:, : w * h].reshape(t, h, w), data[:, w * h: w * h + c].reshape(t, h // 2, w // 2),
            data[:, w * h + c:].reshape(t, h // 2, w // 2))


def write_planes(path: Path, y, u, v) -> None:
    tmp = path.with_name(path.name + ".part")
    np.concatenate([y.reshape(len(y), -1), u.reshape(len(u), -1), v.reshape(len(v), -1)], axis=1).tofile(tmp)
    tmp.rename(path)


def compress_x265(raw: Path, out: Path, qp: int) -> None:
    from s2svr.data.degrade import hevc_compress
    w, h = parse_yuv_name(raw.name)
    write_planes(out, *hevc_compress(read_planes(raw, w, h), qp=qp))


def compress_hm(raw: Path, out: Path, qp: int, encoder: str, cfg: str) -> None:
    """HM's TAppEncoder with the LDP config at QP `qp`; the reconstruction is the compressed video."""
    w, h = parse_yuv_name(raw.name)
    frames = raw.stat().st_size // (w * h * 3 // 2)
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "rec.yuv"
        subprocess.run([encoder, "-c", cfg, "-i", str(raw), "-b", str(Path(tmp) / "out.bin"), "-o", str(rec),
                        "-wdt", str(w), "-hgt", str(h), "-q", str(qp), "-f", str(frames), "-fr", "30",
                        "--InputBitDepth=8", "--OutputBitDepth=8"], check=True, stdout=subprocess.DEVNULL)
        write_planes(out, *read_planes(rec, w, h))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="data/MFQEv2")
    p.add_argument("--qp", type=int, default=37)
    p.add_argument("--splits", nargs="+", default=["train", "test"], choices=["train", "test"])
    p.add_argument("--hm-encoder", default=None, help="HM 16.5 TAppEncoder binary (writes HM16.5_LDP/)")
    p.add_argument("--hm-cfg", default=None, help="HM's encoder_lowdelay_P_main.cfg (needed with --hm-encoder)")
    args = p.parse_args(argv)
    root = Path(args.root)
    if args.hm_encoder and not args.hm_cfg:
        p.error("--hm-encoder needs --hm-cfg (HM's cfg/encoder_lowdelay_P_main.cfg)")
    codec = "hm" if args.hm_encoder else "x265"   # what to make; the report below loads whichever is there
    for split in args.splits:
        raw_dir = root / SPLIT_DIRS[split] / "raw"
        raws = sorted(raw_dir.glob("*.yuv"))
        if not raws:
            raise SystemExit(f"{raw_dir}: no raw videos. " + INSTRUCTIONS.format(root=root))
        hm_dir = root / SPLIT_DIRS[split] / CODEC_DIRS["hm"] / f"QP{args.qp}"
        if codec == "x265" and hm_dir.is_dir() and all((hm_dir / r.name).exists() for r in raws):
            print(f"{split}: HM 16.5 output found in {hm_dir}; nothing to make")
            continue
        out_dir = root / SPLIT_DIRS[split] / CODEC_DIRS[codec] / f"QP{args.qp}"
        out_dir.mkdir(parents=True, exist_ok=True)
        if codec == "x265":
            try:
                import s2svr.data.degrade as degrade
                degrade.hevc_compress  # noqa: B018 -- only checking it exists
            except (ImportError, AttributeError) as e:
                raise SystemExit(f"s2svr.data.degrade.hevc_compress is not available ({e}); cannot make the x265 "
                                 "stand-in. Bring HM16.5_LDP/QP37 output or use --hm-encoder.")
            print(f"{split}: writing the x265 stand-in (not HM 16.5) to {out_dir}")
        for raw in raws:
            out = out_dir / raw.name
            if out.exists():
                continue
            print(f"  {raw.name}")
            if codec == "x265":
                compress_x265(raw, out, args.qp)
            else:
                compress_hm(raw, out, args.qp, args.hm_encoder, args.hm_cfg)
    report(mfqe_sequences, root, splits=args.splits, qp=args.qp, codec="hm" if codec == "hm" else "auto")


if __name__ == "__main__":
    main()
