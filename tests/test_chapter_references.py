"""Docstrings cite chapters by file (`notebooks/attention.py`, `book/use_train.md`): every cited file exists."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITED = re.compile(r"\b((?:notebooks/\w+\.py)|(?:book/\w+\.md))\b")


def test_every_cited_chapter_exists():
    cited = {}
    for src in sorted((ROOT / "s2svr").rglob("*.py")):
        for ref in CITED.findall(src.read_text()):
            cited.setdefault(ref, []).append(str(src.relative_to(ROOT)))
    assert cited, "no chapter citations found"
    missing = {ref: where for ref, where in cited.items() if not (ROOT / ref).is_file()}
    assert not missing, f"docstrings cite chapters that do not exist: {missing}"
