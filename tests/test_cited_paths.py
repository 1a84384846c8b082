"""Docs that cannot drift: every repository path that a chapter, a book page, a docstring of `s2svr` or the
README names in backticks (`s2svr/flow/pwclite.py`, `notebooks/attention.py`, `weights/manifest.json`) exists."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP = ("s2svr", "notebooks", "book", "data_scripts", "tests", "weights", ".ci")
# a backticked path that starts with a top-level folder; a `:123` line suffix is dropped; a placeholder
# (<task>, NAME, *) is not a path
CITED = re.compile(r"`((?:" + "|".join(re.escape(t) for t in TOP) + r")/[A-Za-z0-9_./-]*)(?::\d+(?:-\d+)?)?`")


def _sources():
    yield ROOT / "README.md"
    yield from sorted((ROOT / "notebooks").glob("*.py"))
    yield from sorted((ROOT / "book").glob("*.md"))
    yield from sorted(p for p in (ROOT / "s2svr").rglob("*.py") if "__pycache__" not in p.parts)


def test_every_cited_repository_path_exists():
    missing = []
    for src in _sources():
        for path in CITED.findall(src.read_text(encoding="utf-8")):
            path = path.rstrip("/.")
            if not path or any(c in path for c in "<>*") or any(seg.isupper() for seg in re.split(r"[/.]", path)):
                continue  # a placeholder: notebooks/NAME.py
            if not (ROOT / path).exists():
                missing.append(f"{src.relative_to(ROOT)}: {path}")
    assert not missing, "paths cited but not in the repository:\n" + "\n".join(missing)


def test_every_page_that_names_a_profile_links_to_its_definition():
    """A chapter or page whose prose names a profile (`cpu`, `paper`, `ci`) links once to `book/intro.md`'s
    definition of the profiles (MyST label `profiles`)."""
    named = re.compile(r"\b(?:cpu|paper|ci)`?[- ]profile|\bprofile `?(?:cpu|paper|ci)\b")
    missing = []
    for src in [*sorted((ROOT / "notebooks").glob("*.py")), *sorted((ROOT / "book").glob("*.md"))]:
        text = src.read_text(encoding="utf-8")
        prose = "\n".join(ln for ln in text.splitlines() if ln.startswith("# ") or src.suffix == ".md")
        if named.search(prose) and "<profiles>" not in text and src.name != "intro.md":
            missing.append(str(src.relative_to(ROOT)))
    assert not missing, "pages that name a profile without linking to its definition: " + ", ".join(missing)
