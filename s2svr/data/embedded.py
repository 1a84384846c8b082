"""The embedded default dataset: small real-footage clips for all three tasks and for flow, built offline.

Explained in `notebooks/data.py`. The recipe (sources,
split, clip list) lives in :mod:`s2svr.data.embedded_recipe`; this module builds it, caches it and serves it::

    build_embedded(root='data/embedded', force=False, progress=True) -> Path
    embedded_sequences(root, task, split) -> list[VideoSequence]       task 'sr' | 'deblur' | 'vqe'
    embedded_flow_pairs(root, split, degradation='none') -> list[dict]  degradation 'none' | 'sr' | 'blur' | 'vqe'
    embedded_card(subset) -> str                                        subset 'sr' | 'deblur' | 'vqe' | 'flow'

Layout under `root`::

    STAMP.json                              recipe name, version and hash; a different recipe rebuilds
    sr/{train,test}/<clip>/{gt,lq}/00000000.png ...                      x4 MATLAB bicubic
    deblur/{train,test}/<clip>/{sharp,blur}/00000000.png ...             GOPRO-style
    vqe/{train,test}/raw/<clip>_<W>x<H>_<N>.yuv                          GT, I420
    vqe/{train,test}/x265_LDP/QP37/<clip>_<W>x<H>_<N>.yuv                HEVC QP37 low-delay P, decoded
    flow/{train,test}/<clip>/{hq,lq_sr,lq_blur,lq_vqe}/*.png,
        flow_fw.npy, flow_bw.npy (T-1, 2, H, W) float32, occ_fw.npy, occ_bw.npy (T-1, 1, H, W) uint8
    <subset>/meta.json, <subset>/card.md    clip list with sources, sizes and measured PSNR of the inputs

The build writes to a temporary sibling folder and renames it, so an interrupted build leaves nothing
half-written under `root`; a lock file serialises concurrent builds.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from . import embedded_recipe as R
from .sequence import FrameSource, VideoSequence

DEFAULT_ROOT = os.environ.get("S2SVR_EMBEDDED", "data/embedded")
TASKS = ("sr", "deblur", "vqe")
SUBSETS = TASKS + ("flow",)
SPLITS = ("train", "test", "heldout")   # heldout: flow clips whose motion types training never shows


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over frames of the per-frame PSNR (dB) of uint8 arrays `(T, ...)` (for the cards only)."""
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).reshape(len(a), -1).mean(1)
    return float(np.mean(10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))))


# ------------------------------------------------------------------------------------------ one clip per job


def _job_sr(out: Path, c: dict, qp: int) -> dict:
    from .degrade import bicubic_x4
    from .video_io import write_png_folder
    gt = R.region_frames(c["source"], c["frames"], c["region"], c["scale"])          # (T, H, W, 3)
    lq = bicubic_x4(gt)                                                                # (T, H/4, W/4, 3)
    write_png_folder(out / "gt", gt)
    write_png_folder(out / "lq", lq)
    from .degrade import imresize
    up = np.stack([imresize(f, 4) for f in lq])
    return {"gt_size": list(gt.shape[1:3]), "lq_size": list(lq.shape[1:3]), "frames": len(gt),
            "psnr_bicubic_up_rgb": _psnr(up, gt)}


def _job_deblur(out: Path, c: dict, qp: int) -> dict:
    from .degrade import hfr_camera_path, imresize, synthesize_blur
    from .video_io import write_png_folder
    a, b = c["frames"]
    src = R.source_frames(c["source"])[a:b]
    size = c["size"] * c["ss"]
    hfr = hfr_camera_path(src, c["window"], (size, size), seed=c["seed"],
                          speed=tuple(s * c["ss"] for s in c["speed"]))                # (T*window, s, s, 3)
    blur, sharp = synthesize_blur(hfr, c["window"])                                  # (T, s, s, 3) each
    if c["ss"] != 1:   # rendered at ss x the size from full-resolution frames, then MATLAB-downscaled
        blur, sharp = imresize(blur, 1.0 / c["ss"]), imresize(sharp, 1.0 / c["ss"])
    write_png_folder(out / "blur", blur)
    write_png_folder(out / "sharp", sharp)
    return {"gt_size": list(sharp.shape[1:3]), "frames": len(sharp), "psnr_blur_rgb": _psnr(blur, sharp)}


def _job_vqe(out: Path, c: dict, qp: int) -> dict:
    from .degrade import hevc_compress
    from .video_io import rgb_to_yuv420, write_yuv420
    gt = R.region_frames(c["source"], c["frames"], c["region"], c["scale"])
    y, u, v = rgb_to_yuv420(gt)
    (cy, cu, cv), info = hevc_compress((y, u, v), qp=qp, return_info=True)
    t, h, w = y.shape
    fname = f"{c['name']}_{w}x{h}_{t}.yuv"
    write_yuv420(out / "raw" / fname, y, u, v)
    write_yuv420(out / "x265_LDP" / f"QP{qp}" / fname, cy, cu, cv)
    return {"file": fname, "gt_size": [h, w], "frames": t, "psnr_y_compressed": _psnr(cy, y),
            "kbytes": info["bytes"] / 1000.0, "pict_types": "".join(p[0] for p in info["pict_types"])}


def _background(spec: str) -> np.ndarray:
    kind, arg, scale = spec.split(":")
    if kind == "photo":
        return R.photo(arg, float(scale))
    from .degrade import imresize
    frame = R.source_frames(kind)[int(arg)]
    return imresize(frame, float(scale)) if float(scale) != 1.0 else frame


def _job_flow(out: Path, c: dict, qp: int) -> dict:
    from .degrade import bicubic_x4, hevc_compress, synthesize_blur
    from .synthetic_flow import Scene
    from .video_io import write_png_folder
    n, win, size = c["frames"], c["window"], c["size"]
    k = size / 128.0   # speeds are set for 128 px frames and scaled with the frame size
    m = {"cam_speed": [0.5, 4.0], "layer_speed": [1.0, 6.0], **c.get("motion", {})}  # held-out clips change these
    extra = {key: v for key, v in m.items() if key not in ("cam_speed", "layer_speed")}
    scene = Scene.random(_background(c["background"]), [R.photo(p, 0.5) for p in c["cutouts"]], (size, size), n,
                         seed=c["seed"], cam_speed=tuple(k * v for v in m["cam_speed"]),
                         layer_speed=tuple(k * v for v in m["layer_speed"]), **extra)
    hq = scene.render(np.arange(n))                                                   # (T, H, W, 3)
    sub = scene.render((np.arange(n)[:, None] + (np.arange(win) - win // 2)[None] / win).ravel())
    blur, _ = synthesize_blur(sub, win)                                               # exposure = 1 frame interval
    lq_sr, lq_vqe = bicubic_x4(hq), hevc_compress(hq, qp=qp)
    for name, arr in (("hq", hq), ("lq_sr", lq_sr), ("lq_blur", blur), ("lq_vqe", lq_vqe)):
        write_png_folder(out / name, arr)
    fw = [scene.flow(i, i + 1) for i in range(n - 1)]
    bw = [scene.flow(i + 1, i) for i in range(n - 1)]
    np.save(out / "flow_fw.npy", np.stack([f for f, _ in fw]))
    np.save(out / "flow_bw.npy", np.stack([f for f, _ in bw]))
    np.save(out / "occ_fw.npy", np.stack([o for _, o in fw]))
    np.save(out / "occ_bw.npy", np.stack([o for _, o in bw]))
    mag = np.sqrt((np.stack([f for f, _ in fw]) ** 2).sum(1))
    used = sorted({c["cutouts"][layer.texture_id] for layer in scene.layers})
    return {"size": [size, size], "frames": n, "cutouts_used": used, "flow_mean_px": float(mag.mean()), "flow_max_px": float(mag.max()),
            "occluded_fw": float(np.mean([o.mean() for _, o in fw])), "psnr_blur_rgb": _psnr(blur, hq),
            "psnr_vqe_rgb": _psnr(lq_vqe, hq)}


JOBS = {"sr": _job_sr, "deblur": _job_deblur, "vqe": _job_vqe, "flow": _job_flow}


def _run_job(args):
    subset, split, clip, tmp, qp = args
    import torch
    torch.set_num_threads(1)   # one job per core; threads inside jobs would only fight over the cores
    out = Path(tmp) / subset / split / ("" if subset == "vqe" else clip["name"])
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    meta = JOBS[subset](out, clip, qp)
    used = {"photo:" + p for p in meta.get("cutouts_used", [])}   # flow: the cut-outs actually drawn
    srcs = R.sources_of(subset, dict(clip, cutouts=[])) | used if used else R.sources_of(subset, clip)
    meta.update(name=clip["name"], split=split, recipe=clip, sources=sorted(srcs),
                seconds=round(time.time() - t0, 2))
    return subset, meta


# ------------------------------------------------------------------------------------------ build and cache


def _stamp(rec: dict) -> dict:
    return {"recipe": rec["name"], "version": rec["version"], "hash": R.recipe_hash(rec)}


def is_built(root=DEFAULT_ROOT, small: bool = False) -> bool:
    p = Path(root) / "STAMP.json"
    try:
        stamp = json.loads(p.read_text())
    except (OSError, ValueError):
        return False
    want = _stamp(R.recipe(small))
    return all(stamp.get(k) == v for k, v in want.items())


def build_embedded(root=DEFAULT_ROOT, force: bool = False, progress: bool = True, small: bool = False,
                   workers: int | None = None) -> Path:
    """Build the embedded dataset under `root` unless an up-to-date build is there; return `root`.

    `small=True` builds a tiny recipe (one short clip per subset and split) for tests. `workers` processes
    run the clip jobs (default: up to 2 CPUs).
    """
    import fcntl
    import multiprocessing as mp
    root = Path(root)
    if not force and is_built(root, small):
        return root
    if getattr(mp.current_process(), "_inheriting", False):
        # We are a build worker re-importing a caller's script that builds at import time: stop here (the
        # parent then builds alone) instead of waiting forever for the parent's lock.
        raise RuntimeError("build_embedded called while a worker process imports the main script; "
                           "call it under `if __name__ == '__main__':`")
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)            # a second builder waits, then finds the build done
        if not force and is_built(root, small):
            return root
        for stale in root.parent.glob(f".{root.name}.building-*"):   # left by an interrupted build
            shutil.rmtree(stale, ignore_errors=True)
        tmp = root.parent / f".{root.name}.building-{os.getpid()}"
        try:
            _build_into(tmp, small, progress, workers)
            if root.exists():
                old = root.parent / f".{root.name}.old-{os.getpid()}"
                os.replace(root, old)
                os.replace(tmp, root)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def _build_into(tmp: Path, small: bool, progress: bool, workers) -> None:
    from concurrent.futures import ProcessPoolExecutor
    from tqdm.auto import tqdm
    from .embedded_cards import card_text
    t0 = time.time()
    rec = R.recipe(small)
    tmp.mkdir(parents=True)
    jobs = [(s, sp, c, str(tmp), rec["qp"]) for s in SUBSETS for sp in SPLITS if sp in rec[s] for c in rec[s][sp]]
    # Longest jobs first so the two workers finish together.
    jobs.sort(key=lambda j: {"flow": 0, "deblur": 1, "vqe": 2, "sr": 3}[j[0]])
    workers = workers or min(2, os.cpu_count() or 1)
    metas = {s: [] for s in SUBSETS}
    bar = tqdm(total=len(jobs), desc="embedded dataset", unit="clip", disable=not progress)
    done = 0
    if workers > 1:
        import multiprocessing as mp
        from concurrent.futures.process import BrokenProcessPool
        # 'spawn', not 'fork': forking a process whose torch/OpenMP threads are running can deadlock.
        try:
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as ex:
                for subset, meta in ex.map(_run_job, jobs):
                    metas[subset].append(meta)
                    done += 1
                    bar.update(1)
        except BrokenProcessPool:
            # Spawned workers re-import the caller's script; one that builds at import time (no
            # `if __name__ == "__main__"` guard) breaks them. Finish in this process instead.
            pass
    for j in jobs[done:]:
        subset, meta = _run_job(j)
        metas[subset].append(meta)
        bar.update(1)
    bar.close()
    for s in SUBSETS:
        metas[s].sort(key=lambda m: (m["split"], m["name"]))
        (tmp / s).mkdir(exist_ok=True)
        (tmp / s / "meta.json").write_text(json.dumps({"recipe": rec["name"], "clips": metas[s]}, indent=1))
        (tmp / s / "card.md").write_text(card_text(s, metas[s]))
    size = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
    stamp = dict(_stamp(rec), seconds=round(time.time() - t0, 1), megabytes=round(size / 1e6, 1))
    (tmp / "STAMP.json").write_text(json.dumps(stamp, indent=1))


# ------------------------------------------------------------------------------------------ reading


def _meta(root: Path, subset: str) -> list:
    return json.loads((root / subset / "meta.json").read_text())["clips"]


def _ensure(root) -> Path:
    root = Path(root)
    if (root / "STAMP.json").exists() and json.loads((root / "STAMP.json").read_text()).get("recipe") == "small":
        return root   # a test build: use it as it is rather than replacing it with the full one
    return build_embedded(root, progress=True)


def embedded_sequences(root=DEFAULT_ROOT, task: str = "sr", split: str = "test") -> list:
    """The clips of `task` ('sr', 'deblur', 'vqe') and `split` ('train', 'test') as :class:`VideoSequence` s.

    sr: PNG folders, `scale=4`; deblur: PNG folders (lq = blur, gt = sharp); vqe: raw I420 files
    (`FrameSource` kind 'yuv'; lq = x265 QP37 decoded, gt = raw). Builds the dataset on first use.
    """
    if task not in TASKS or split not in ("train", "test"):
        raise ValueError(f"embedded_sequences: task must be one of {TASKS} and split 'train' or 'test', "
                         f"got {task!r}, {split!r}")
    root = _ensure(root)
    base, seqs = root / task / split, []
    for m in (m for m in _meta(root, task) if m["split"] == split):
        if task == "sr":
            seqs.append(VideoSequence(f"sr/{m['name']}", FrameSource.from_folder(base / m["name"] / "lq"),
                                      FrameSource.from_folder(base / m["name"] / "gt"), scale=4))
        elif task == "deblur":
            seqs.append(VideoSequence(f"deblur/{m['name']}", FrameSource.from_folder(base / m["name"] / "blur"),
                                      FrameSource.from_folder(base / m["name"] / "sharp")))
        else:
            h, w = m["gt_size"]
            qp = next(base.glob("x265_LDP/QP*")).name
            seqs.append(VideoSequence(f"vqe/{m['name']}",
                                      FrameSource.from_yuv(base / "x265_LDP" / qp / m["file"], w, h),
                                      FrameSource.from_yuv(base / "raw" / m["file"], w, h)))
    return seqs


LQ_FOLDERS = {"none": "hq", "sr": "lq_sr", "blur": "lq_blur", "vqe": "lq_vqe"}


def embedded_flow_clips(root=DEFAULT_ROOT, split: str = "test", degradation: str = "none") -> list:
    """Whole flow clips: dicts with `name`, `frames_gt` `(T, H, W, 3)`, `frames_lq`, `flow_fw`, `flow_bw`
    `(T-1, 2, H, W)` float32 (`flow_fw[i]`: frame i -> i+1, `flow_bw[i]`: frame i+1 -> i), `occ_fw`,
    `occ_bw` `(T-1, 1, H, W)` float32 (1 = occluded), `scale` (4 for 'sr', else 1)."""
    from .video_io import read_image_folder
    if degradation not in LQ_FOLDERS or split not in SPLITS:
        raise ValueError(f"embedded_flow_clips: degradation must be one of {tuple(LQ_FOLDERS)} and split one of "
                         f"{SPLITS}, got {degradation!r}, {split!r}")
    root = _ensure(root)
    clips = []
    for m in (m for m in _meta(root, "flow") if m["split"] == split):
        d = root / "flow" / split / m["name"]
        clips.append({"name": f"flow/{m['name']}", "degradation": degradation, "motion": m["recipe"].get("kind", "standard"),
                      "scale": 4 if degradation == "sr" else 1,
                      "frames_gt": read_image_folder(d / "hq"), "frames_lq": read_image_folder(d / LQ_FOLDERS[degradation]),
                      "flow_fw": np.load(d / "flow_fw.npy"), "flow_bw": np.load(d / "flow_bw.npy"),
                      "occ_fw": np.load(d / "occ_fw.npy").astype(np.float32),
                      "occ_bw": np.load(d / "occ_bw.npy").astype(np.float32)})
    return clips


def embedded_flow_pairs(root=DEFAULT_ROOT, split: str = "test", degradation: str = "none") -> list:
    """Consecutive frame pairs of the flow clips: dicts with `name`, `frames_gt` `(2, H, W, 3)` uint8,
    `frames_lq` `(2, h, w, 3)` uint8, `flow_fw`, `flow_bw` `(2, H, W)` float32 (pixels, channel 0 = x, at HQ
    resolution: `flow_warp(frame2, flow_fw) ~ frame1`), `occ_fw`, `occ_bw` `(1, H, W)` float32 (1 = occluded;
    `occ_fw` = pixels of frame 1 not visible in frame 2), `occlusion` (= `occ_fw`), `scale`, `degradation`."""
    pairs = []
    for c in embedded_flow_clips(root, split, degradation):
        for i in range(len(c["flow_fw"])):
            pairs.append({"name": f"{c['name']}/{i}", "degradation": degradation, "scale": c["scale"], "motion": c["motion"],
                          "frames_gt": c["frames_gt"][i:i + 2], "frames_lq": c["frames_lq"][i:i + 2],
                          "flow_fw": c["flow_fw"][i], "flow_bw": c["flow_bw"][i], "occ_fw": c["occ_fw"][i],
                          "occ_bw": c["occ_bw"][i], "occlusion": c["occ_fw"][i]})
    return pairs


def embedded_card(subset: str, root=None) -> str:
    """Markdown card of a subset: sources, split, how it was made, sizes, counts and, once built, measured
    PSNR of its degraded inputs."""
    from .embedded_cards import card_text
    if subset not in SUBSETS:
        raise ValueError(f"embedded_card: subset must be one of {SUBSETS}, got {subset!r}")
    p = Path(root or DEFAULT_ROOT) / subset / "meta.json"
    return card_text(subset, json.loads(p.read_text())["clips"] if p.exists() else None)
