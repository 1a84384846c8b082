"""Flow figures of `notebooks/distillation.py`: Fig. 1 rows, a flow cache, the verdict.

* :func:`align_hq` / :func:`flow_figure_rows` draw the paper's Fig. 1: flows colour-coded
  (`s2svr.flow.visualize.flow_to_color`, one magnitude scale for all), and below them HQ frame 2 warped onto
  HQ frame 1 by each flow (`flow_warp` after `resize_flow`, border padding, as `flow_metrics` measures it)
  with the alignment error. The rows feed `s2svr.report.figures.plot_grid` / `grid_jpeg` (slider positions).
* :func:`distillation_means` reads from the measured table the mean numbers of the two parts of the paper's
  claim for distillation (Sec. 3.3: the student's LQ flow is closer to the teacher's HQ flow, and aligns
  better, than a student trained without distillation); the claim itself is judged by :func:`paired_flows`.
* :func:`paired_flows` judges two flows pair by pair by the book's one rule
  (`s2svr.report.verdicts.paired_comparison`), the pairs of one scene counting as one independent unit.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch

from ..data.flow_pairs import normalise_pair
from ..train.flow_evaluate import flow_metrics, pair_scene
from ..flow.visualize import flow_to_color
from ..flow.warp import flow_warp, resize_flow


@torch.no_grad()
def pair_flow(net, pair: dict, frames: str = "lq") -> torch.Tensor:
    """`net`'s forward flow `(1, 2, h, w)` on the pair's `frames` ('lq' or 'hq'), in pixels of those frames."""
    p = normalise_pair(pair)
    return net(p[f"{frames}1"].unsqueeze(0), p[f"{frames}2"].unsqueeze(0)).float().cpu()


def align_hq(pair: dict, flow: torch.Tensor) -> tuple:
    """HQ frame 2 warped onto HQ frame 1 by `flow` (any size, resized to HQ with its vectors scaled).

    Returns `(warped (1, C, H, W), error (1, 1, H, W) = channel-mean |warped - hq1|, metrics)`, metrics as
    `s2svr.train.flow_evaluate.flow_metrics` (alignment PSNR `psnr_vis` / `psnr_all`, EPE when the pair has GT).
    """
    p = normalise_pair(pair)
    hq1, hq2 = p["hq1"].unsqueeze(0), p["hq2"].unsqueeze(0)
    flow = resize_flow(flow.float().cpu(), hq1.shape[-2:])
    warped = flow_warp(hq2, flow, padding_mode="border")
    return warped, (warped - hq1).abs().mean(1, keepdim=True), flow_metrics(flow, p)


def flow_figure_rows(pair: dict, flows: Mapping[str, torch.Tensor], max_flow: float | None = None,
                     error_gain: float = 4.0, frames_column: bool = True) -> list:
    """Fig. 1 as three rows of panels for `plot_grid`: colour-coded flows, HQ frame 2 warped by each, errors.

    Args:
        pair: a flow pair (see `s2svr.data.flow_pairs`).
        flows: {title: flow `(1, 2, h, w)` or `(2, h, w)`}, any size (brought to HQ size, vectors scaled).
        max_flow: magnitude drawn fully saturated, shared by all flows; None = the largest magnitude of the
            ground-truth flow (or of all flows if the pair has none).
        error_gain: the error maps are drawn multiplied by this (clipped at 1).
        frames_column: prepend a column with HQ frame 1 (the reference), HQ frame 2 and LQ frame 1.
    Returns:
        `[row_flows, row_warped, row_errors]`, each a list of `(image, title)`; titles of the warped frames
        carry the alignment PSNR (visible pixels when the pair has ground truth).
    """
    p = normalise_pair(pair)
    hq = p["hq1"].shape[-2:]
    resized = {k: resize_flow((f if f.dim() == 4 else f.unsqueeze(0)).float().cpu(), hq) for k, f in flows.items()}
    if max_flow is None:
        ref = [p["flow_fw"]] if "flow_fw" in p else [f[0] for f in resized.values()]
        max_flow = max(float(f.norm(dim=0).max()) for f in ref) or 1.0
    rows = [[], [], []]
    if frames_column:
        rows[0].append((p["hq1"], "HQ frame 1 (reference)"))
        rows[1].append((p["hq2"], "HQ frame 2"))
        rows[2].append((p["lq1"], "LQ frame 1"))
    for name, f in resized.items():
        warped, err, m = align_hq(p, f)
        psnr = m.get("psnr_vis", m["psnr_all"])
        rows[0].append((flow_to_color(f[0], max_flow=max_flow), name))
        rows[1].append((warped, f"warped: {psnr:.2f} dB" if math.isfinite(psnr) else "warped: exact"))
        rows[2].append(((err * error_gain).clamp(0, 1), f"|error| x{error_gain:g}, mean {float(err.mean()):.4f}"))
    return rows


def distillation_means(rows: Mapping[str, Mapping], distilled: str, nodistill: str, zero: str | None = None) -> dict:
    """The mean numbers of the paper's two claims for distillation, from measured `evaluate_flow` rows (the
    claims are judged pair by pair by :func:`paired_flows`, the book's one rule, not here).

    Returns {'epe_ref': (distilled, nodistill), 'psnr_vis': (distilled, nodistill)} and, with a zero-flow row,
    'gain_over_zero': {row: psnr_vis(row) - psnr_vis(zero)} for every other row.
    """
    d, n = rows[distilled], rows[nodistill]
    out = {"epe_ref": (float(d["epe_ref"]), float(n["epe_ref"])), "psnr_vis": (float(d["psnr_vis"]), float(n["psnr_vis"]))}
    if zero is not None:
        z = float(rows[zero]["psnr_vis"])
        out["gain_over_zero"] = {k: float(r["psnr_vis"]) - z for k, r in rows.items()
                                 if k != zero and "psnr_vis" in r and np.isfinite(r["psnr_vis"])}
    return out


def paired_flows(result_a: Mapping, result_b: Mapping, metric: str) -> dict:
    """`result_a` minus `result_b` pair by pair, as an interval: two `evaluate_flow(..., per_pair=True)` results on
    the same pairs, judged by `paired_comparison` with the scenes as independent units (`pair_scene`). For an
    error (`epe_ref`, `epe_all`) pass the run expected to be *worse* first, so that a positive difference says
    the second is better; for `psnr_vis` the other way round."""
    from .verdicts import paired_comparison

    def as_result(r):
        return {"per_sequence": {n: {metric: v[metric]} for n, v in r["per_pair"].items()}}
    return paired_comparison(as_result(result_a), as_result(result_b), metric, units=pair_scene)
