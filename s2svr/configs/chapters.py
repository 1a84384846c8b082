"""The chapters' own sizes and budgets per profile (`chapters.yaml`), beside the task configs.

    budget = chapter_budget("warping", profile)   # namespace: budget.size, budget.num_steps
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from types import SimpleNamespace

import yaml

from .schema import PROFILES

BUDGETS = Path(__file__).with_name("chapters.yaml")


def _tuples(v):
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


@functools.lru_cache(maxsize=None)
def _budgets() -> dict:
    return yaml.safe_load(BUDGETS.read_text())


def chapter_budget(chapter: str, profile: str) -> SimpleNamespace:
    """The values of `chapter` (a `notebooks/<chapter>.py` name) for `profile`; an unknown chapter or profile,
    or a value that does not give every profile, is an error naming it."""
    budgets = _budgets()
    if profile == "paper" and os.environ.get("S2SVR_REHEARSAL") == "1":
        profile = "ci"  # the rehearsal of the paper path: its chapters at ci sizes too (s2svr.experiments.rehearsal)
    if chapter not in budgets:
        raise KeyError(f"{BUDGETS.name}: no chapter {chapter!r} (chapters: {', '.join(budgets)})")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {PROFILES}")
    out = {}
    for name, by_profile in budgets[chapter].items():
        if set(by_profile) != set(PROFILES):
            raise ValueError(f"{BUDGETS.name}: {chapter}.{name} gives {sorted(by_profile)}, needs {sorted(PROFILES)}")
        out[name] = _tuples(by_profile[profile])
    return SimpleNamespace(**out)
