"""Sequence-length ablation (paper Table 5): cut each test clip into segments, restore each segment alone.

Explained in `notebooks/exp_ablation.py` and used again by `notebooks/report.py`.

The paper splits one REDS4 video into segments of 5, 15, 30 and 50 frames and restores each independently, so
a recurrent model starts every segment from an empty state. Here every clip is cut into consecutive segments
of length L (the last one shorter when L does not divide the clip), so that *every* length sees the *same*
frames: only the context available to each frame changes with L.

    clips = load_clips(build_test_sequences(cfg), cfg)          # [(name, lq uint8, gt uint8), ...]
    rows = segment_frame_psnr(model, clips, cfg, lengths=(5, 15, 30))
    # one row per (clip, L, frame): {'sequence', 'length', 'frame', 'position', 'psnr'}

PSNR follows the test set's convention (:func:`s2svr.train.evaluate.metric_convention`) on outputs rounded to
uint8, as `s2svr eval` scores them; averaged over all frames by the caller.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from .. import metrics
from ..train.evaluate import metric_convention, restore_frames, to_tensor, to_uint8
from ..flow.memo import FlowMemo
from ..utils import make_once, write_text_atomic
from .memo import remember
from .runs import model_from_result


def segment_bounds(num_frames: int, length: int) -> list[tuple[int, int]]:
    """Consecutive `[start, end)` segments of `length` frames covering `0..num_frames-1` once each (the last
    one shorter when `length` does not divide `num_frames`)."""
    if length < 1 or num_frames < 0:
        raise ValueError(f"segment length must be >= 1 and num_frames >= 0, got {length}, {num_frames}")
    return [(s, min(s + length, num_frames)) for s in range(0, num_frames, length)]


@torch.no_grad()
def restore_segments(model, frames_lq: torch.Tensor, length: int, device="cpu") -> torch.Tensor:
    """Restore `(T, C, H, W)` segment by segment (each from a fresh state, as its own video) -> `(T, C, sH, sW)`."""
    outs = [restore_frames(model, frames_lq[a:b], device=device) for a, b in segment_bounds(len(frames_lq), length)]
    return torch.cat(outs, 0)


def load_clips(sequences, cfg, frames: int | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """[(name, lq, gt)] uint8 `(T, H, W, C)` of whole test sequences (first `frames` frames if given; the
    config's `data.test_frames` is deliberately ignored: Table 5 wants the full clips)."""
    mode = "y" if cfg.model.in_channels == 1 else "rgb"
    out = []
    for seq in sequences:
        n = len(seq) if frames is None else min(len(seq), frames)
        idx = list(range(n))
        out.append((seq.name, seq.lq.read(idx, mode=mode), seq.gt.read(idx, mode=mode)))
    return out


def segment_frame_psnr(model, clips: Sequence, cfg, lengths: Iterable[int], device="cpu",
                       whole: dict | None = None, flow_cache: dict | None = None) -> list[dict]:
    """Per-frame PSNR of `model` restoring every clip in segments of each length of `lengths`.

    Args:
        clips: [(name, lq, gt)] as from :func:`load_clips`.
        cfg: the experiment config (its metric convention; compressed video's delta metric is not supported).
        whole: optional {name: uint8 (T, H, W, C)} restorations of whole clips already made by the same model
            (the plan's saved test outputs): used for a length that covers the whole clip instead of restoring.
        flow_cache: a dict shared between calls, so that models with equal flow nets compute each pair once.
    Returns:
        one dict per (clip, length, frame): sequence, length, frame (index in the clip), position (index in
        its segment, 0 = first frame of a segment), psnr (dB).
    """
    conv = metric_convention(cfg)
    if conv["kind"] != "psnr":
        raise ValueError(f"segment_frame_psnr scores PSNR; {cfg.name} uses {conv['kind']!r} metrics")
    rows, lengths = [], list(lengths)
    flow = getattr(model, "flow", None)
    memo = isinstance(flow, torch.nn.Module) and not isinstance(flow, FlowMemo)
    for name, lq, gt in clips:
        x = to_tensor(lq)
        if memo:  # the same pairs come back for every length: compute each once
            model.flow = FlowMemo(flow, flow_cache)
        outs = {}
        try:
            for L in lengths:
                saved = (whole or {}).get(name)
                if L >= len(x) and saved is not None and saved.shape[0] == len(x):
                    outs[L] = saved
                else:
                    outs[L] = to_uint8(restore_segments(model, x, L, device=device))
        finally:
            if memo:
                model.flow = flow
        for length, out in outs.items():
            for a, b in segment_bounds(len(x), length):
                for i in range(a, b):
                    p = metrics.psnr(out[i], gt[i], crop_border=conv["crop_border"], test_y=conv["test_y"])
                    rows.append({"sequence": name, "length": int(length), "frame": i, "position": i - a,
                                 "psnr": float(p)})
    return rows


def _segment_frame_psnr(model, clips, cfg, lengths) -> list[dict]:
    """:func:`segment_frame_psnr` without the plan's saved restorations, as `make book` reads it from the shipped
    measurements (`s2svr.report.memo`): the shipped weights' runs restore their clips only on demand."""
    return segment_frame_psnr(model, clips, cfg, lengths)


def margins(mean_psnr: dict, ours: str, rivals: Sequence[str]) -> dict:
    """{length: PSNR of `ours` minus the best of `rivals`} from {method: {length: mean PSNR}}."""
    return {L: mean_psnr[ours][L] - max(mean_psnr[r][L] for r in rivals) for L in sorted(mean_psnr[ours])}


def grows_with_length(margin_by_length: dict) -> bool:
    """True when the margin strictly increases with the segment length (the paper's Table 5 claim)."""
    vals = [margin_by_length[L] for L in sorted(margin_by_length)]
    return len(vals) >= 2 and all(b > a for a, b in zip(vals, vals[1:]))


def _code_digest() -> str:
    """Digest of the sources that decide a restoration and its score (models, flow, evaluation, metrics, this
    module): a cached Table 5 is not reused after any of them changes."""
    pkg = Path(__file__).resolve().parents[1]
    files = sorted([*(pkg / "models").glob("*.py"), *(pkg / "flow").glob("*.py"), pkg / "train" / "evaluate.py",
                    pkg / "metrics.py", Path(__file__).resolve()])
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def segment_table(results: dict, lengths: Sequence[int], cache_dir: str | Path | None = None,
                  frames: int | None = None) -> list[dict]:
    """Per-frame rows of :func:`segment_frame_psnr` for every plan result in `results` ({method: result}),
    with a 'method' column; all results must share one test set (the first one's config gives it).

    With `cache_dir`, the rows are stored as JSON under a key made of the checkpoints (path and size), the
    lengths, `frames` and the source code that decides the scores, so the report chapter reuses what the
    ablation chapter computed.
    """
    if cache_dir is not None:
        ident = [(m, r.get("checkpoint"), Path(r["checkpoint"]).stat().st_size if r.get("checkpoint") else None,
                  json.dumps(r["spec"]["resolved"], sort_keys=True)) for m, r in sorted(results.items())]
        key = hashlib.sha256(json.dumps([ident, list(lengths), frames, _code_digest()]).encode()).hexdigest()[:12]
        path = Path(cache_dir) / f"segments-{key}.json"
        # two chapters executed at once (the report and the ablations) wait for one computation, not make two
        make_once(path, lambda: _segment_rows(results, lengths, frames, path))
        return json.loads(path.read_text())
    return _segment_rows(results, lengths, frames, None)


def _segment_rows(results: dict, lengths, frames, path: Path | None) -> list[dict]:
    from ..train.data import build_test_sequences
    rows, clips, flow_cache = [], None, {}
    for method, r in results.items():
        model, cfg = model_from_result(r)
        if clips is None:
            clips = load_clips(build_test_sequences(cfg), cfg, frames=frames)
        if r.get("on_demand"):  # the shipped weights: kept by content (s2svr.report.memo), measured by make memo
            part = remember(_segment_frame_psnr, model, clips, cfg, list(lengths))
        else:
            whole = {}
            if r.get("outputs"):  # the plan's own whole-clip restorations, as evaluated (s2svr.experiments.worker)
                for name, _, _ in clips:
                    f = Path(r["outputs"]) / f"{name.replace('/', '_')}.npy"
                    if f.is_file():
                        whole[name] = np.load(f)
            part = segment_frame_psnr(model, clips, cfg, lengths, whole=whole, flow_cache=flow_cache)
        rows += [{"method": method, **row} for row in part]
    if path is not None:
        write_text_atomic(path, json.dumps(rows))
    return rows


TABLE5_METHODS = {"S2SVR": "sr/s2svr", "BasicVSR-style": "sr/basicvsr", "single frame": "sr/single_frame",
                  "bicubic (identity)": "sr/identity"}  # {method: plan name}, the rows of Table 5 here


def table5(results5: dict, profile: str, output_dir: str = "outputs", paper_lengths: Sequence[int] = (5, 15, 30, 50)):
    """Table 5 as this book measures it, for the report and `notebooks/exp_ablation.py` alike: every SR test clip
    cut into segments of each length of `paper_lengths` that fits in the shortest clip (profile ci: the first 6
    frames, lengths 2, 3, 6), each segment restored on its own.

    `results5`: {plan name: result} of `TABLE5_METHODS`. Returns {'seg' (per-frame rows), 'mean' (mean PSNR,
    lengths x methods), 'margins' (S2SVR minus the best other method, by length), 'lengths', 'skipped' (paper
    lengths longer than the clips), 'shortest', 'frames'}."""
    import pandas as pd
    frames = 6 if profile == "ci" else None
    clip_lengths = {name: v["frames"] for name, v in results5[TABLE5_METHODS["S2SVR"]]["per_sequence"].items()}
    shortest = min(clip_lengths.values()) if frames is None else frames
    lengths = (2, 3, 6) if profile == "ci" else tuple(L for L in paper_lengths if L <= shortest)
    seg = pd.DataFrame(segment_table({m: results5[j] for m, j in TABLE5_METHODS.items()}, lengths,
                                     cache_dir=f"{output_dir}/{profile}/ablation", frames=frames))
    mean = seg.groupby(["method", "length"])["psnr"].mean().unstack("method")[list(TABLE5_METHODS)]
    rivals = [m for m in TABLE5_METHODS if m != "S2SVR"]
    return {"seg": seg, "mean": mean, "margins": margins(mean.to_dict(), "S2SVR", rivals), "lengths": lengths,
            "skipped": [L for L in paper_lengths if L > shortest], "shortest": shortest, "frames": frames,
            "clip_lengths": clip_lengths}
