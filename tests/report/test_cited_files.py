"""No page points readers to a file they do not have: every Markdown file a chapter, a book page or a
docstring of `s2svr` names in backticks (`something.md`) exists in the repository."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CITED = re.compile(r"`([A-Za-z0-9_][A-Za-z0-9_./-]*\.md)`")


def _sources():
    yield from sorted((ROOT / "notebooks").glob("*.py"))
    yield from sorted((ROOT / "book").glob("*.md"))
    yield from sorted(p for p in (ROOT / "s2svr").rglob("*.py") if "__pycache__" not in p.parts)


def test_every_cited_markdown_file_exists():
    missing = [f"{src.relative_to(ROOT)} cites {name}" for src in _sources()
               for name in CITED.findall(src.read_text(encoding="utf-8"))
               if not (ROOT / name).is_file()]
    assert not missing, "files cited but not in the repository: " + "; ".join(missing)


def test_design_notes_are_not_cited():
    # the project's design notes are not part of the repository: pages give the facts or a public link
    offenders = [str(src.relative_to(ROOT)) for src in _sources() if "DESIGN.md" in src.read_text(encoding="utf-8")]
    assert not offenders, offenders
