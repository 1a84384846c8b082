"""The flat `flow` section of before: forty fields in one mapping, carried by old checkpoints and job records.

Explained beside today's sections in the README ("The flow recipe").

Checkpoints, `job.json` records and the shipped weights' manifest written before the flow config had sections
hold it; :func:`sections_from_flat` reads it into today's sections (`s2svr.configs.config_from_dict` does so on
its own), and :func:`flat_from_sections` writes it back, for the experiment keys of cache rule "2" that hashed it
(`s2svr.experiments.rekey`). What changed besides the places:

- `occ_warmup_iters: N` and `census_after_warmup` were two switches and a mutation of the loss in the trainer:
  they are one staged override, ARFlow's `stage1` (`loss.occlusion: range`, then from step N on `occlusion: fb`
  and, with the census switch, the census distance alone: `w_l1: 0, w_ssim: 0, w_census: 1`);
- `infer_zoom`, the teacher's zoom in use, is not a config field: use is an argument (`s2svr.flow.use`), recorded
  beside the weights;
- `lq_zoom: null` meant `zoom`; today null is derived (`FlowConfig.lq_zoom`), so a flat null is read as `zoom`.
"""
from __future__ import annotations

from collections.abc import Mapping

# old flat name -> (section, name there); None: a field of the flow section itself
MOVED = {
    "net": ("net", "type"), "cost_norm": ("net", "cost_norm"),
    **{k: ("loss", k) for k in ("w_ph", "w_sm", "w_dis", "w_l1", "w_ssim", "w_census", "smooth_alpha", "smooth_order",
                                "w_scales", "w_sm_scales", "bidirectional", "min_visible", "occ_range_th")},
    "lr": ("optim", "lr"), "lr_warmup_iters": ("optim", "warmup_iters"), "lr_schedule": ("optim", "schedule"),
    "lr_min": ("optim", "lr_min"), "grad_clip": ("optim", "grad_clip"),
    "patch_size": ("augment", "patch_size"), "swap": ("augment", "swap"), "augment": ("augment", "flips"),
    "jitter": ("augment", "jitter"),
    **{k: ("budget", k) for k in ("iters", "lq_iters", "batch_size", "save_every", "log_every", "eval_every",
                                  "eval_pairs")},
    **{k: (None, k) for k in ("zoom", "lq_zoom", "pad", "student_init", "train_video", "checkpoint")},
}
STAGED = ("occ_warmup_iters", "census_after_warmup")  # one staged override today: `stage1`
USE = ("infer_zoom",)                                  # an argument of use today, not a field
CENSUS = {"w_l1": 0.0, "w_ssim": 0.0, "w_census": 1.0}  # ARFlow's stage 1: the census distance alone
FLAT_NAMES = (*MOVED, *STAGED, *USE)


SECTIONS = ("net", "loss", "stage1", "optim", "augment", "budget")


def _flat_key(name: str, value) -> bool:
    """A key that only the flat section has: a name moved into a section (`net` and `augment` as strings, today
    two sections), a staged switch or a field of use."""
    if name in STAGED or name in USE:
        return True
    return name in MOVED and MOVED[name][0] is not None and not isinstance(value, Mapping)


def is_flat(flow) -> bool:
    """Whether a `flow` mapping is (even partly) the flat section of before."""
    return isinstance(flow, Mapping) and any(_flat_key(k, v) for k, v in flow.items())


def moved_to(name: str) -> str | None:
    """Where an old flat field lives now (`'lr'` -> `'flow.optim.lr'`), for an error that names it; None if nowhere."""
    if name in MOVED:
        section, new = MOVED[name]
        return f"flow.{section}.{new}" if section else f"flow.{new}"
    if name in STAGED:
        return "flow.loss.occlusion and flow.stage1"
    if name in USE:
        return "nowhere: the zoom in use is an argument of use (s2svr flow --zoom, the manifest's 'use')"
    return None


def sections_from_flat(flow: Mapping) -> dict:
    """Today's sections of an old flat `flow` mapping; keys already in today's form are kept (and win)."""
    out: dict = {}
    for k, v in flow.items():
        if k in STAGED or k in USE or not _flat_key(k, v):
            continue
        section, new = MOVED[k]
        out.setdefault(section, {})[new] = v
    for k, v in flow.items():
        if _flat_key(k, v):
            continue
        out[k] = {**out.get(k, {}), **v} if k in SECTIONS and isinstance(v, Mapping) else v
    warmup, census = int(flow.get("occ_warmup_iters") or 0), bool(flow.get("census_after_warmup"))
    if warmup > 0:
        out.setdefault("loss", {})["occlusion"] = "range"
        out["stage1"] = {"after": warmup, "loss": {"occlusion": "fb", **(CENSUS if census else {})}}
    elif census:
        out["stage1"] = {"after": 0, "loss": dict(CENSUS)}
    if "lq_zoom" in flow and flow["lq_zoom"] is None:  # null meant zoom then
        out["lq_zoom"] = flow.get("zoom", 1.0)
    return out


def flat_from_sections(flow: Mapping) -> dict:
    """The flat section of before that a resolved, plain sectioned `flow` mapping was written as (without
    `infer_zoom`, which was never part of the key of what depends on a teacher); ValueError when it has no flat
    form (a `stage1` other than the two switches of before)."""
    out = {old: flow[new] if section is None else flow[section][new] for old, (section, new) in MOVED.items()}
    occlusion, stage = flow["loss"]["occlusion"], flow.get("stage1")
    after, staged = (stage or {}).get("after"), dict((stage or {}).get("loss") or {})
    if stage is None and occlusion == "fb":
        warmup, census = 0, False
    elif stage and after > 0 and occlusion == "range" and staged in ({"occlusion": "fb"}, {"occlusion": "fb", **CENSUS}):
        warmup, census = after, len(staged) > 1
    elif stage and after == 0 and occlusion == "fb" and staged == CENSUS:
        warmup, census = 0, True
    else:
        raise ValueError(f"flow.loss.occlusion {occlusion!r} with flow.stage1 {stage!r} has no flat form "
                         "(occ_warmup_iters, census_after_warmup)")
    out.update(occ_warmup_iters=warmup, census_after_warmup=census)
    if out["lq_zoom"] == out["zoom"] and out["student_init"] != "teacher":
        out["lq_zoom"] = None  # written as its default then (null = zoom); resolved today
    return out
