"""What a task's runs train, beside the paper profile: the setup table and paragraph of the Experiments chapters.

Used by `notebooks/exp_sr.py`, `notebooks/exp_deblur.py` and `notebooks/exp_vqe.py`; every value is read from
the runs' resolved configs (`s2svr.report.runs.run_config`) and from the paper profile's config.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping

from ..configs.schema import ARCHS
from .runs import by_arch, experiment_config, method_label, run_config

# Resolved-config fields that describe a run's size and budget (section, key), in display order.
SETUP_KEYS = (("model", "num_feat"), ("model", "num_blocks"), ("model", "num_layers"), ("model", "radius"),
              ("model", "flow_size"), ("model", "upsample"), ("data", "dataset"), ("data", "num_frames"),
              ("data", "patch_size"), ("data", "batch_size"), ("data", "test_frames"), ("train", "iters"),
              ("train", "lr"), ("train", "flow_lr"), ("train", "flow_freeze_iters"), ("flow", "budget.iters"),
              ("flow", "budget.batch_size"), ("flow", "augment.patch_size"))


def show_setup(results: Mapping[str, dict], task: str, paper_cfg) -> None:
    """Display what the runs of `task` train beside the paper profile (:func:`setup_table`, :func:`setup_text`)
    and list the test sequences; fails if a baseline's config differs from S2SVR's beyond `model.arch`."""
    from IPython.display import Markdown, display
    runs = by_arch(results, task)
    display(setup_table(runs["s2svr"], paper_cfg))
    diff = budget_differences(runs)
    if not diff <= {"model.arch"}:  # same trainer, data, budget and seed
        raise AssertionError(f"{task}: the runs differ in more than model.arch: {sorted(diff)}")
    display(Markdown(setup_text(results, task, paper_cfg)))
    seqs = runs["s2svr"]["per_sequence"]
    print("test sequences:", ", ".join(seqs), f"({', '.join(str(v['frames']) for v in seqs.values())} frames)")

def _flat(d: Mapping, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out

def budget_differences(results: Mapping[str, dict]) -> set:
    """Flattened config keys (e.g. 'model.arch') whose value differs between the runs of `results`: with the
    same trainer, data and budget for every method this is {'model.arch'}."""
    from ..experiments.jobs import FLOW_ARCHS
    # a run without a flow net does not record the flow recipe (its `flow` section is left at the defaults)
    flats = [{k: v for k, v in _flat(run_config(r)).items()
              if not (k.startswith("flow.") and run_config(r)["model"]["arch"] not in FLOW_ARCHS)}
             for r in results.values()]
    keys = set().union(*flats) if flats else set()
    return {k for k in keys if len({repr(f[k]) for f in flats if k in f}) > 1}

def _show(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)

def setup_table(result: dict, paper_cfg=None):
    """DataFrame of :data:`SETUP_KEYS` (as strings, '-' for None): the value in this run's resolved config,
    and (if `paper_cfg`, an ExperimentConfig of profile paper, is given) the paper profile's value.
    `model.upsample` is shown for super-resolution only."""
    import pandas as pd

    from ..configs import config_to_dict
    from .runs import experiment_config
    cfg = config_to_dict(experiment_config(result))  # a record of before the flow sections is read into them
    paper = config_to_dict(paper_cfg) if paper_cfg is not None else None

    def get(d, path):  # 'budget.iters' inside a section
        for part in path.split("."):
            d = d.get(part) if isinstance(d, dict) else None
        return d
    rows = {}
    for section, key in SETUP_KEYS:
        if key == "upsample" and cfg["model"]["task"] != "sr":
            continue
        row = {f"this run (profile {cfg['profile']})": _show(get(cfg[section], key))}
        if paper is not None:
            row["paper profile"] = _show(get(paper[section], key))
        rows[f"{section}.{key}"] = row
    return pd.DataFrame.from_dict(rows, orient="index")

def setup_text(results: Mapping[str, dict], task: str, paper_cfg) -> str:
    """A Markdown paragraph describing what the runs of `task` train, every value read from the resolved
    config of the S2SVR run (and of `paper_cfg`, the paper profile), and checking that the baselines differ
    from it only in `model.arch` (same trainer, data, budget and seed)."""
    runs = by_arch(results, task)
    cfg = experiment_config(runs["s2svr"])
    m, d, tr = cfg.model, cfg.data, cfg.train
    if tr.flow_freeze_iters >= tr.iters:
        flow = "stays frozen for the whole run"
    elif tr.flow_freeze_iters > 0:
        flow = f"stays frozen for the first {tr.flow_freeze_iters} steps, then trains at lr {tr.flow_lr:g}"
    else:
        flow = f"trains from the first step at lr {tr.flow_lr:g}"
    diff = budget_differences(runs)
    init = "; ".join(f"{method_label(task, a)} from `{Path(r['spec']['flow_checkpoint']).parent.name}`"
                     for a, r in runs.items() if r["spec"].get("flow_checkpoint"))
    start = ("from the Algorithm 1 student" if runs["s2svr"]["spec"].get("flow_checkpoint")
             else "untrained (no flow checkpoint)")
    pm, pd_, pt = paper_cfg.model, paper_cfg.data, paper_cfg.train
    sr = f", and a {m.upsample} global residual for x{m.scale}" if m.task == "sr" else ""
    return (
        f"In this run (profile `{cfg.profile}`), S2SVR has C = {m.num_feat} channels, {m.num_layers} ResConvGRU "
        f"layer(s) in the encoder and in the decoder with {m.num_blocks} residual block(s) each, attention "
        f"radius {m.radius}{sr}. It is trained for {tr.iters:,} steps of batch {d.batch_size} on "
        f"{d.num_frames}-frame clips of {d.patch_size} px LQ crops of the `{d.dataset}` dataset, Adam at lr "
        f"{tr.lr:g} with cosine decay; its PWC-Lite starts {start} and {flow}. "
        f"The paper profile: C = {pm.num_feat}, {pm.num_layers} layers of {pm.num_blocks} blocks, "
        f"{pt.iters:,} steps of batch {pd_.batch_size} on {pd_.num_frames}-frame {pd_.patch_size} px crops of "
        f"`{pd_.dataset}`. The baselines are trained by the same trainer, on the same data, with the same "
        f"budget and seed: their resolved configs differ from S2SVR's only in "
        f"{', '.join(f'`{k}`' for k in sorted(diff)) or 'nothing'}. Flow initialisation: {init or 'none'}.")

def paper_parameter_counts(config: str) -> dict:
    """`{arch: total parameters}` of every method built with `config`'s paper-profile sizes (flow net
    included), counted on the `meta` device (shapes only, instant)."""
    import torch

    from ..configs import load_config
    from ..models import build_model, parameter_breakdown
    model_cfg = load_config(config, "paper").model
    out = {}
    for arch in ARCHS:
        with torch.device("meta"):
            out[arch] = parameter_breakdown(build_model(dataclasses.replace(model_cfg, arch=arch)))["total"]
    return out
