"""s2svr.configs.chapters: every chapter budget names a chapter that exists and gives every profile."""
from pathlib import Path

import pytest

from s2svr.configs.chapters import _budgets, chapter_budget
from s2svr.configs.schema import PROFILES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("chapter", sorted(_budgets()))
def test_budgets_name_existing_chapters_and_every_profile(chapter):
    assert (ROOT / "notebooks" / f"{chapter}.py").is_file()
    values = [vars(chapter_budget(chapter, p)) for p in PROFILES]
    assert all(v.keys() == values[0].keys() for v in values)


def test_lists_become_tuples_and_unknown_names_fail():
    assert chapter_budget("degradations", "ci").qps == (37,)
    with pytest.raises(KeyError, match="no chapter 'nope'"):
        chapter_budget("nope", "ci")
    with pytest.raises(ValueError, match="unknown profile"):
        chapter_budget("warping", "gpu")
