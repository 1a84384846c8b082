"""Measure flows: endpoint error to ground truth, and how well a flow aligns the HQ frames (Fig. 1).

Explained in `notebooks/distillation.py`.

* EPE = mean over pixels of ``|F - F_gt|_2`` in HQ pixels, on all pixels, on visible pixels and on occluded
  pixels (ground-truth occlusion of frame 1, or the forward-backward check of the GT flows if the pair
  has none). A pair with no occluded pixels does not count towards `epe_occ`.
* Alignment = PSNR (peak 1) between HQ frame 1 and HQ frame 2 warped by the flow onto it
  (`flow_warp(hq2, F)`, border padding), on the visible pixels of the ground truth (`psnr_vis`) and on
  all pixels (`psnr_all`, the only one for data without ground truth). This is what Fig. 1 compares.
* A flow estimated on LQ frames is brought to HQ size by `resize_flow` (vectors x scale) first.
* Order: `fb_pass` is the fraction of pixels that pass the forward-backward check (`occlusion_mask`) between
  F12 and F21, and `fb_err` the mean `|F12 + F21(p + F12)|` (HQ pixels) over the ground truth's visible pixels:
  a network that ignores the frame order answers F21 = F12 and fails both.
* `epe_ref` (with a `reference` model, e.g. the HQ teacher): mean ``|F - F_ref|_2`` in HQ pixels, all pixels,
  F_ref the reference's flow on the HQ frames. This is the paper's claim for distillation (Sec. 3.3): the
  student's LQ flow should be closer to the teacher's HQ flow than a student trained without it.

Scores are means over pairs. :class:`ZeroFlow` is the "no motion compensation" baseline.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from ..data.flow_pairs import normalise_pair
from ..flow.occlusion import occlusion_mask
from ..flow.standins import ZeroFlow
from ..flow.warp import flow_warp, resize_flow

METRICS = ("epe_all", "epe_vis", "epe_occ", "psnr_vis", "psnr_all", "epe_ref", "fb_pass", "fb_err")


def endpoint_error(flow: torch.Tensor, flow_gt: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Mean endpoint error of `flow` vs `flow_gt` (both `(B, 2, H, W)`, pixels) where `mask` `(B, 1, H, W)` is 1.

    Returns NaN when the mask selects no pixel.
    """
    epe = (flow - flow_gt).pow(2).sum(1, keepdim=True).sqrt()  # (B, 1, H, W)
    if mask is None:
        return epe.mean().item()
    n = mask.sum()
    return float("nan") if n == 0 else ((epe * mask).sum() / n).item()


def masked_psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """PSNR in dB (peak 1) of `(B, C, H, W)` frames in [0, 1] over pixels where `mask` is 1 (all channels)."""
    se = (a - b).pow(2)
    if mask is None:
        mse = se.mean()
    else:
        n = mask.sum() * a.shape[1]
        if n == 0:
            return float("nan")
        mse = (se * mask).sum() / n
    return float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse.item())


def flow_metrics(flow_fw: torch.Tensor, pair: dict) -> dict:
    """Metrics of one flow `(1, 2, h, w)` (any size: resized to HQ) for one pair (see `s2svr.data.flow_pairs`)."""
    pair = normalise_pair(pair)
    hq1, hq2 = pair["hq1"].unsqueeze(0), pair["hq2"].unsqueeze(0)  # (1, C, H, W)
    flow = resize_flow(flow_fw.float().cpu(), hq1.shape[-2:])  # (1, 2, H, W) in HQ pixels
    out = {"psnr_all": masked_psnr(hq1, flow_warp(hq2, flow, padding_mode="border"))}
    if "flow_fw" in pair:
        gt = pair["flow_fw"].unsqueeze(0)
        if "occlusion" in pair:
            occ = (pair["occlusion"].unsqueeze(0) > 0.5).float()
        elif "flow_bw" in pair:
            occ = occlusion_mask(gt, pair["flow_bw"].unsqueeze(0))
        else:
            occ = torch.zeros_like(gt[:, :1])
        vis = 1.0 - occ
        out.update(epe_all=endpoint_error(flow, gt), epe_vis=endpoint_error(flow, gt, vis),
                   epe_occ=endpoint_error(flow, gt, occ),
                   psnr_vis=masked_psnr(hq1, flow_warp(hq2, flow, padding_mode="border"), vis))
    return out


def _consistency(flow_fw: torch.Tensor, flow_bw: torch.Tensor, pair: dict) -> dict:
    """`fb_pass` and `fb_err` (see the module docstring) of one pair's F12, F21, both brought to HQ size."""
    size = pair["hq1"].shape[-2:]
    fw, bw = resize_flow(flow_fw.float().cpu(), size), resize_flow(flow_bw.float().cpu(), size)
    err = (fw + flow_warp(bw, fw, padding_mode="zeros")).norm(dim=1, keepdim=True)  # (1, 1, H, W)
    vis = (pair["occlusion"].unsqueeze(0) < 0.5).float() if "occlusion" in pair else torch.ones_like(err)
    return {"fb_pass": 1.0 - occlusion_mask(fw, bw).mean().item(),
            "fb_err": ((err * vis).sum() / vis.sum().clamp_min(1)).item()}


@torch.no_grad()
def evaluate_flow(model, pairs, frames: str = "lq", device="cpu", work_size=None, max_pairs: int | None = None,
                  reference=None, per_pair: bool = False, zoom: float | None = None) -> dict:
    """Mean metrics of `model` over `pairs`.

    Args:
        model: a flow network, `model(img1, img2[, work_size=...]) -> (B, 2, H, W)` (PWCLite, ZeroFlow).
        pairs: pair dicts (NumPy or torch), e.g. `embedded_flow_pairs(root, 'test', degradation)`.
        frames: 'lq' (the student's input, the deployed case) or 'hq' (the teacher's).
        work_size: passed to the model (None = native size).
        zoom: the zoom a PWC-Lite `model` runs at (`s2svr.flow.use.run_flow`; a teacher's zoom in use); None: as
            its `use` says (the zoom it trained at, as loaded). The reference runs as its own `use` says.
        reference: optional flow network run on the HQ frames (the teacher): adds `epe_ref`, the mean EPE
            between `model`'s flow (resized to HQ) and the reference's HQ flow.
        per_pair: also return 'per_pair' = {pair name: its metrics} (for `s2svr.report.verdicts.paired_comparison`,
            whose units are then the scenes, `pair_scene`).
    Returns:
        {'pairs': n, 'epe_all', 'epe_vis', 'epe_occ', 'psnr_vis', 'psnr_all'} (EPE and psnr_vis only with
        ground-truth flow) [and 'epe_ref'], each the mean over the pairs that define it.
    """
    if frames not in ("lq", "hq"):
        raise ValueError(f"frames must be 'lq' or 'hq', got {frames!r}")
    restore = [m for m in (model, reference) if isinstance(m, nn.Module) and m.training]
    for m in (model, reference):
        if isinstance(m, nn.Module):
            m.eval()
    rows = []
    for i, pair in enumerate(pairs):
        if max_pairs is not None and i >= max_pairs:
            break
        name = pair.get("name", str(i)) if isinstance(pair, dict) else str(i)
        pair = normalise_pair(pair)
        a, b = (pair[f"{frames}1"].unsqueeze(0).to(device), pair[f"{frames}2"].unsqueeze(0).to(device))
        kw = {} if work_size is None else {"work_size": work_size}
        out = model(a, b, with_bw=True, **kw, **({} if zoom is None else {"zoom": zoom}))
        flow, flow_bw = out if isinstance(out, tuple) else (out, None)  # a stand-in may answer F12 only
        row = flow_metrics(flow, pair)
        if flow_bw is not None:
            row.update(_consistency(flow, flow_bw, pair))
        if reference is not None:
            hq1, hq2 = pair["hq1"].unsqueeze(0).to(device), pair["hq2"].unsqueeze(0).to(device)
            ref = reference(hq1, hq2) if work_size is None else reference(hq1, hq2, work_size=work_size)
            ref = ref.float().cpu()
            row["epe_ref"] = endpoint_error(resize_flow(flow.float().cpu(), ref.shape[-2:]), ref)
        rows.append((name, row))
    for m in restore:
        m.train()
    out = {"pairs": len(rows)}
    for k in METRICS:
        vals = [r[k] for _, r in rows if k in r and not math.isnan(r[k])]
        if vals:
            out[k] = float(np.mean(vals))
    if per_pair:
        out["per_pair"] = {name: r for name, r in rows}
    return out


def pair_scene(name: str) -> str:
    """The scene a flow pair comes from ('scene_03/2' -> 'scene_03'): its pairs share a background and a camera,
    so a scene is one independent unit of a paired comparison."""
    return name.rsplit("/", 1)[0]


def format_table(rows: dict) -> str:
    """Markdown table of {name: metrics dict}."""
    cols = [k for k in METRICS if any(k in r for r in rows.values())]
    lines = ["| flow | frames | pairs | " + " | ".join(cols) + " |", "|---" * (3 + len(cols)) + "|"]
    for name, r in rows.items():
        cells = [f"{r[k]:.3f}" if k in r else "-" for k in cols]
        lines.append(f"| {name} | {r.get('frames', '')} | {r['pairs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def evaluate_flow_rows(models: dict, pairs, frames: str = "auto", device="cpu", max_pairs: int | None = None,
                       classical: bool = True) -> dict:
    """The rows of `s2svr flow-eval` on `pairs`: zero flow, DIS and Farneback (HQ and LQ frames), then each model.

    Args:
        models: {name: (checkpoint state, flow network)}; a 'teacher' among them is the `epe_ref` reference.
        frames: 'hq', 'lq' or 'auto' (the frames each checkpoint was trained on).
    Returns:
        {row label: {'frames', metric: value}}.
    """
    from pathlib import Path

    from ..flow.classical import DISFlow, FarnebackFlow
    reference = next((m for state, m in models.values() if state.get("stage") == "teacher"), None)
    run = lambda net, fr: {"frames": fr, **evaluate_flow(net, pairs, fr, device, max_pairs=max_pairs,  # noqa: E731
                                                          reference=reference)}
    rows = {"zero flow": {**run(ZeroFlow(), "lq"), "frames": "-"}}
    if classical:  # no learning at all: what a learned flow has to beat
        for label, net in (("DIS", DISFlow()), ("Farneback", FarnebackFlow())):
            rows[f"{label} (OpenCV)"] = run(net, "hq")
            rows[f"{label} (OpenCV) on LQ"] = run(net, "lq")
    for path, (state, model) in models.items():
        stage = state.get("stage", "?")
        fr = frames if frames != "auto" else state.get("frames", "hq" if stage == "teacher" else "lq")
        label = f"{stage} ({Path(path).name})"
        if label in rows:  # e.g. two supervised runs, both flow_supervised.pt: name their folders
            label = f"{stage} ({Path(path).parent.name}/{Path(path).name})"
        rows[label] = run(model, fr)
    return rows
