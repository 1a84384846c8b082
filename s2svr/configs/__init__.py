"""Load experiment configs from YAML into frozen dataclasses (see `schema.py`).

>>> cfg = load_config("sr_reds4", profile="ci")
>>> cfg.model.num_feat
"""
from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Mapping

import yaml

from .flat import is_flat, moved_to, sections_from_flat
from .schema import (LAYOUTS, PROFILES, TASKS, DataConfig, ExperimentConfig, FlowAugmentConfig, FlowBudgetConfig,
                     FlowConfig, FlowLossConfig, FlowNetConfig, FlowOptimConfig, FlowStage, ModelConfig, TrainConfig)

CONFIG_DIR = Path(__file__).resolve().parent
EXPERIMENTS = ("sr_reds4", "sr_vimeo", "deblur_gopro", "vqe_mfqe")

__all__ = ["load_config", "config_to_dict", "plain", "config_from_dict", "flow_config", "resolve_config_path",
           "ConfigError", "ExperimentConfig", "ModelConfig", "FlowConfig", "FlowNetConfig", "FlowLossConfig",
           "FlowStage", "FlowOptimConfig", "FlowAugmentConfig", "FlowBudgetConfig", "DataConfig", "TrainConfig",
           "EXPERIMENTS", "PROFILES", "TASKS", "LAYOUTS"]


class ConfigError(ValueError):
    """A config file or override that cannot be loaded; the message names the file and the key."""


def resolve_config_path(name_or_path: str | Path) -> Path:
    """`sr_reds4` -> the packaged YAML; anything with a suffix or a slash is taken as a path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        return p
    packaged = CONFIG_DIR / f"{name_or_path}.yaml"
    if not packaged.is_file():
        raise ConfigError(f"{name_or_path}: no such config (packaged configs: {', '.join(EXPERIMENTS)})")
    return packaged


def _deep_merge(base: dict, over: Mapping) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _build(cls, values: Mapping[str, Any], where: str, prefix: str = ""):
    """Instantiate dataclass `cls` from a mapping, refusing unknown keys."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: '{prefix.rstrip('.') or 'config'}' must be a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, val in values.items():
        if key not in fields:
            moved = moved_to(key) if cls is FlowConfig else None
            raise ConfigError(f"{where}: unknown key '{prefix}{key}' "
                              + (f"(moved to {moved})" if moved else f"(known: {', '.join(fields)})"))
        section = _dataclass_of(hints[key])
        if section is not None:  # a section; null only where it is Optional (flow.stage1)
            if val is not None or typing.get_origin(hints[key]) is not typing.Union:
                val = _build(section, val, where, f"{prefix}{key}.")
        elif "fields_of" in fields[key].metadata:  # a partial mapping of another section's fields (flow.stage1.loss)
            val = _partial(fields[key].metadata["fields_of"], val, where, f"{prefix}{key}.")
        else:
            _check_value(val, hints[key], f"{prefix}{key}", where)
            if isinstance(val, list):
                val = tuple(val)
        kwargs[key] = val
    try:
        out = cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {e}") from None
    return out


def _dataclass_of(hint):
    """The dataclass a field holds (also under Optional), else None."""
    if typing.get_origin(hint) is typing.Union:
        hint = next((a for a in typing.get_args(hint) if a is not type(None)), hint)
    return hint if dataclasses.is_dataclass(hint) else None


def _partial(cls, values, where: str, prefix: str) -> dict:
    """Some fields of dataclass `cls`, checked as `_build` checks them (lists as tuples)."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: '{prefix.rstrip('.')}' must be a mapping, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    for key, val in values.items():
        if key not in hints:
            raise ConfigError(f"{where}: unknown key '{prefix}{key}' (known: {', '.join(hints)})")
        _check_value(val, hints[key], f"{prefix}{key}", where)
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


_POSITIVE = ("log_every", "save_every", "val_every", "batch_size", "iters", "num_frames")  # 0 would never happen
_TYPES = {int: (int,), float: (int, float), bool: (bool,), str: (str,), tuple: (list, tuple)}


def _check_value(val, hint, key: str, where: str) -> None:
    """Refuse a value of the wrong type (`lr: fast`, `iters: 1.5`) and intervals that are not positive."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Union:  # Optional[X]
        if val is None:
            return
        hint = next((a for a in args if a is not type(None)), hint)
    ok = _TYPES.get(hint)
    if ok is not None and (not isinstance(val, ok) or (hint is not bool and isinstance(val, bool))):
        name = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
                tuple: "a list"}[hint]
        raise ConfigError(f"{where}: {key} must be {name}, got {val!r}")
    if key.rsplit(".", 1)[-1] in _POSITIVE and hint is int and val < 1:
        raise ConfigError(f"{where}: {key} must be at least 1, got {val}")


def config_from_dict(d: Mapping[str, Any], where: str = "<dict>") -> ExperimentConfig:
    """Inverse of :func:`config_to_dict` (used when a checkpoint carries its config). A flat `flow` section, as
    checkpoints and records written before its sections carry it, is read into today's (`s2svr.configs.flat`)."""
    return _build(ExperimentConfig, migrate(d), where)


def migrate(d: Mapping[str, Any]) -> dict:
    """A config dict with a flat `flow` section of before (`s2svr.configs.flat`) in today's sections; others as
    they are."""
    d = dict(d)
    if is_flat(d.get("flow")):
        d["flow"] = sections_from_flat(d["flow"])
    return d


def flow_config(**sections) -> FlowConfig:
    """A :class:`FlowConfig` from plain sections, checked as a YAML `flow:` section is:
    `flow_config(budget={"iters": 3}, optim={"lr": 1e-3})`."""
    return _build(FlowConfig, sections, "flow_config", "flow.")


def plain(x):
    """Tuples (and lists) to lists, recursively through dicts: the plain containers of YAML, JSON and checkpoints."""
    if isinstance(x, (tuple, list)):
        return [plain(v) for v in x]
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    return x


def config_to_dict(cfg) -> dict:
    """Plain nested dict (tuples as lists) for YAML/JSON and checkpoints."""
    return plain(dataclasses.asdict(cfg))


RECIPES = CONFIG_DIR / "recipes.yaml"


def _with_recipe(section: dict, where: str) -> dict:
    """A profile section with its `recipe: NAME` (`recipes.yaml`) merged under its own values (its own keys win)."""
    name = section.pop("recipe", None)
    if name is None:
        return section
    recipes = yaml.safe_load(RECIPES.read_text()) or {}
    if name not in recipes:
        raise ConfigError(f"{where}: unknown recipe '{name}' (recipes.yaml has: {', '.join(recipes) or 'none'})")
    return _deep_merge(recipes[name], section)


def load_config(name_or_path: str | Path, profile: str = "paper",
                overrides: Mapping[str, Any] | None = None) -> ExperimentConfig:
    """Load an experiment config and apply one profile's overrides (then `overrides`, if given).

    The YAML holds the base fields of :class:`ExperimentConfig` (except `profile`) and a `profiles`
    mapping whose entries override any of them; an entry's `recipe: NAME` first merges a recipe shared by the task
    configs (`recipes.yaml`). Unknown keys anywhere raise :class:`ConfigError`.
    """
    path = resolve_config_path(name_or_path)
    where = str(path.name if path.parent == CONFIG_DIR else path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: top level must be a mapping")
    raw = dict(raw)
    profiles = raw.pop("profiles", {}) or {}
    if profile not in PROFILES:
        raise ConfigError(f"{where}: unknown profile '{profile}' (known: {', '.join(PROFILES)})")
    if profile not in profiles:
        raise ConfigError(f"{where}: profile '{profile}' is not defined in this file")
    if "profile" in raw:
        raise ConfigError(f"{where}: 'profile' is chosen by the caller, not written in the file")
    merged = _deep_merge(raw, _with_recipe(dict(profiles[profile] or {}), f"{where}: profile '{profile}'"))
    if overrides:
        merged = _deep_merge(merged, overrides)
    merged["profile"] = profile
    return _build(ExperimentConfig, merged, where)
