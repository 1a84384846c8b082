"""Does a trained multi-frame model use its neighbouring frames? (the report, `notebooks/report.py`, and the
restorer study, `notebooks/exp_study.py`).

Each probe restores a short window of real frames around frame c, then the same window with every frame replaced
by frame c (a still video: no motion and nothing the centre frame does not already hold), and scores frame c's
output against its ground truth both times. A model that draws on its neighbours gains from the real window; a
frame-wise model gains exactly nothing. The gain at the paper's scale is what Tables 1-5 rest on; at a size
where it is ~0, the multi-frame models have learned, in effect, a single-frame restorer.
"""
from __future__ import annotations

import numpy as np

from ..metrics import psnr_torch

PAST, FUTURE = 4, 2  # window frames before / after the scored frame (the paper layout looks r = 1 ahead)


def neighbour_gain(model, sequences, mode: str = "rgb", num_frames: int | None = 40, stride: int = 4,
                   convention=None, flow_cache=None, bank=None) -> dict:
    """PSNR of frame c restored from its real window minus from a still window of frame c.

    Args:
        model: a restoration network (`model(frames_lq (1, T, C, h, w)) -> (1, T, C, H, W)`), in eval mode.
        sequences: test `VideoSequence`s; windows centred every `stride` frames within the first `num_frames`
            (None: the whole sequence; with `stride=1` every frame that has a full window is scored).
        mode: 'rgb', or 'y' for a model of Y frames (compressed video).
        convention: the run's metric convention (`test_y`, `crop_border`); default RGB, no crop.
        flow_cache: for a model with a flow net, a folder of flow banks (`s2svr.train.flow_bank.FlowBank.cached`):
            a real window's flows are then those of its sequence (computed once, shared with the evaluation that
            uses the same folder), and a still window's flow is computed once for its one pair (x_c, x_c).
        bank: the sequences' flows given instead (a `FlowBank`, e.g. the true motion of camera-path clips); a still
            window then gets zero flow, its true motion.
    Returns:
        {'real', 'still' (mean PSNR, dB), 'gain' (mean of the per-window differences), 'wins' (windows where the
        real one is better), 'windows', 'per_window' (list of (sequence, c, real, still))}.
    """
    import torch

    from ..data.clips import to_tensor
    from ..models.motion import estimate_flow_pair
    from .evaluate import restore_frames
    conv = convention or {}
    test_y, crop = bool(conv.get("test_y")), int(conv.get("crop_border", 0))
    flow_net = getattr(model, "flow", None)
    given = bank is not None
    if not given and flow_net is not None and flow_cache is not None:
        from .flow_bank import FlowBank
        bank = FlowBank.cached(flow_net, sequences, mode, getattr(model, "flow_size", None),
                               cache_dir=flow_cache, max_frames=num_frames)
    span = PAST + FUTURE  # flow pairs in a window

    def score(out, ref):  # (C, H, W) in [0, 1]; Y only for an RGB run scored on Y, as the run's own metric
        return float(psnr_torch(out.clamp(0, 1)[None], ref[None], crop_border=crop, test_y=test_y and out.shape[0] == 3))

    rows = []
    for k, seq in enumerate(sequences):
        n = len(seq) if num_frames is None else min(len(seq), num_frames)
        lq, gt = (to_tensor(x) for x in (seq.lq.read(list(range(n)), mode), seq.gt.read(list(range(n)), mode)))
        for c in range(PAST, n - FUTURE, stride):  # restore_frames runs without autograd
            window, still = lq[c - PAST:c + FUTURE + 1], lq[c:c + 1].expand(span + 1, -1, -1, -1).contiguous()
            real_flows = still_flows = None
            if bank is not None:
                real_flows = (bank.fw[k][c - PAST:c + FUTURE], bank.bw[k][c - PAST:c + FUTURE])
                if given:
                    zero = np.zeros((span,) + bank.fw[k].shape[1:], np.float32)
                    still_flows = (zero, zero)
                else:
                    with torch.no_grad():  # every pair of a still window is (x_c, x_c): one flow serves all of them
                        f, b = estimate_flow_pair(flow_net, lq[c:c + 1], lq[c:c + 1], getattr(model, "flow_size", None))
                    still_flows = (f.expand(span, -1, -1, -1), b.expand(span, -1, -1, -1))
            real = restore_frames(model, window, flows=real_flows)[PAST]
            still_out = restore_frames(model, still, flows=still_flows)[PAST]
            rows.append((seq.name, c, score(real, gt[c]), score(still_out, gt[c])))
    if not rows:
        raise ValueError(f"no window of {PAST + FUTURE + 1} frames fits in the first {num_frames} frames")
    real, still = np.array([r[2] for r in rows]), np.array([r[3] for r in rows])
    return {"real": float(real.mean()), "still": float(still.mean()), "gain": float((real - still).mean()),
            "wins": int((real > still).sum()), "windows": len(rows), "per_window": rows}
