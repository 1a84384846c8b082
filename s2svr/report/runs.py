"""Plan results as the Experiments chapters read them: by method, their config, their saved frames.

Used by `notebooks/exp_sr.py`, `notebooks/exp_deblur.py`, `notebooks/exp_vqe.py`, `notebooks/exp_ablation.py` and
`notebooks/report.py`, which take their runs from `s2svr.experiments.plan.results` under the names `<task>/<arch>`
(task: sr, deblur, vqe; arch: one of `s2svr.configs.schema.ARCHS`). A run's result dict (see
`s2svr.experiments.worker`) holds "mean", "per_sequence", "convention" ({'kind': 'psnr'|'delta', 'test_y',
'crop_border'}), "parameters", "steps", "train_seconds", "outputs" (one uint8 `(T, H, W, C)` .npy of restored
frames per test sequence) and "spec" (the resolved config). Nothing here trains or evaluates a network.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from ..configs.schema import ARCHS

IDENTITY_LABEL = {"sr": "bicubic", "deblur": "blurred input", "vqe": "compressed input"}

ARCH_LABEL = {"single_frame": "single-frame", "basicvsr": "BasicVSR-style", "s2svr": "S2SVR"}


def method_label(task: str, arch: str) -> str:
    """Display name of a method: 'bicubic' / 'blurred input' / 'compressed input' for `identity`, else
    'single-frame', 'BasicVSR-style', 'S2SVR'."""
    return IDENTITY_LABEL[task] if arch == "identity" else ARCH_LABEL[arch]

def by_arch(results: Mapping[str, dict], task: str) -> dict:
    """`{arch: result}` in :data:`ARCHS` order from plan results keyed `<task>/<arch>` (missing archs skipped)."""
    return {a: results[f"{task}/{a}"] for a in ARCHS if f"{task}/{a}" in results}

def _with_seeds(name: str, names) -> list[str]:
    """`name`, then those of `names` that are `<name>/seed<N>`, by N."""
    prefix = f"{name}/seed"
    seeds = [n for n in names if n.startswith(prefix) and n[len(prefix):].isdigit()]
    return [name] + sorted(seeds, key=lambda n: int(n[len(prefix):]))


def seed_names(profile: str, name: str) -> list[str]:
    """`name` and the plan's runs of the same job with other training seeds (`<name>/seed<N>`, by N), e.g.
    ['sr/s2svr', 'sr/s2svr/seed1', 'sr/s2svr/seed2'] in profile cpu; just [name] where the plan has none."""
    from ..experiments.plan import jobs
    return _with_seeds(name, jobs(profile))


def seed_runs(results: Mapping[str, dict], task: str, arch: str) -> list[dict]:
    """The results of `<task>/<arch>` over its training seeds that `results` holds: the config's seed first, then
    `<task>/<arch>/seed<N>` by N. An untrained method (`identity`) has one run."""
    return [results[n] for n in _with_seeds(f"{task}/{arch}", results)]


def run_config(result: dict) -> dict:
    """The resolved config dict a run was trained with (`result['spec']['resolved']['config']`)."""
    return result["spec"]["resolved"]["config"]

def experiment_config(result: dict):
    """The run's config as an :class:`s2svr.configs.ExperimentConfig`."""
    from ..configs import config_from_dict
    return config_from_dict(run_config(result), "result spec")

def load_task(profile: str, task: str, output_dir: str) -> tuple:
    """`(results, runs, cfg)` of `task` from the plan (`s2svr.experiments.plan.results`, cached: instant once
    trained): the plan results keyed `<task>/<arch>` (and `<task>/<arch>/seed<N>`, :func:`seed_names`), the
    config's-seed runs by arch (:func:`by_arch`), and the S2SVR run's config. `output_dir` is the chapters' parameter (`outputs`; the plan lives in `<output_dir>/<profile>`)."""
    from ..experiments.plan import results as plan_results
    res = plan_results(profile, [n for arch in ARCHS for n in seed_names(profile, f"{task}/{arch}")],
                       output_dir=output_dir)
    runs = by_arch(res, task)
    return res, runs, experiment_config(runs["s2svr"])

def restored_frames(result: dict, sequence: str) -> np.ndarray:
    """The restored test frames a run saved for `sequence` (e.g. 'sr/bikes_076'): uint8 `(T, H, W, C)`. A shipped
    run adopted with its recorded scores (`on_demand`, see `s2svr.experiments.runner._adopt_scores`) restores the
    clip the first time it is asked for, as its evaluation would have (`evaluate_sequences`, the plan's flow
    cache), and keeps it in its `outputs` folder."""
    if not result.get("outputs"):
        raise FileNotFoundError(f"run {result.get('arch')!r} kept no restored frames (save_outputs off)")
    path = Path(result["outputs"]) / f"{sequence.replace('/', '_')}.npy"
    if not path.is_file() and result.get("on_demand"):
        _restore_on_demand(result, sequence, path)
    return np.load(path)


def _restore_on_demand(result: dict, sequence: str, path: Path) -> None:
    """Restore test clip `sequence` with `result`'s network into `path`; two chapters executed at once that ask
    for the same clip wait for one restoration (a lock), and the file appears whole or not at all."""
    import os
    from ..train.data import build_test_sequences
    from ..train.evaluate import evaluate_sequences
    from ..utils import make_once

    def restore():
        model, cfg = model_from_result(result)
        seqs = [s for s in build_test_sequences(cfg) if s.name == sequence]
        if not seqs:
            raise KeyError(f"{sequence!r} is not a test clip of run {result.get('shipped') or result.get('arch')!r}")
        tmp = path.parent / f".{path.stem}-{os.getpid()}"
        tmp.mkdir(exist_ok=True)
        with torch.no_grad():
            evaluate_sequences(model, seqs, cfg, progress=False, save_dir=tmp,
                               flow_cache=path.parent.parent.parent / "flow_cache")
        (tmp / path.name).replace(path)
        tmp.rmdir()
    make_once(path, restore)


def reference_frames(result: dict, sequence: str) -> tuple:
    """(LQ, GT) uint8 `(T, H, W, C)` of the frames a run evaluated on `sequence`, read as the evaluator reads
    them (Y for single-channel models) from the run's own test set (`s2svr.train.data.build_test_sequences`)."""
    from ..train.data import build_test_sequences, data_mode
    cfg = experiment_config(result)
    seqs = {s.name: s for s in build_test_sequences(cfg)}
    seq = seqs[sequence]
    idx = list(range(int(result["per_sequence"][sequence]["frames"])))
    mode = data_mode(cfg)
    return seq.lq.read(idx, mode=mode), seq.gt.read(idx, mode=mode)


def model_from_result(result: dict):
    """(model in eval mode, config) of a restoration result of the book's plan (`s2svr.experiments.plan.results`):
    its trained checkpoint, or, for the untrained 'identity' job (no checkpoint), the model its config builds."""
    from ..configs import config_from_dict
    from ..models import build_model
    from ..train.loading import load_restorer
    if result.get("checkpoint"):
        return load_restorer(result["checkpoint"])
    cfg = config_from_dict(result["spec"]["resolved"]["config"])
    torch.manual_seed(cfg.seed)
    return build_model(cfg.model).eval(), cfg


def measured_label(profile: str, threads: int | None = None) -> str:
    """How a measured number was obtained, for table captions: profile, data, hardware."""
    import os
    import platform
    threads = threads or torch.get_num_threads()
    return (f"measured: profile {profile}, embedded dataset, CPU ({platform.machine()}, {os.cpu_count()} cores, "
            f"{threads} thread{'s' if threads > 1 else ''}, torch {torch.__version__})")
