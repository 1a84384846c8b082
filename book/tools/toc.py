"""Which pages `_toc.yml` lists, and which of them are executable chapters.

An executable chapter is a toc entry `chapters/<name>`: its source is the jupytext file
`notebooks/<name>.py`, and `chapters/<name>.ipynb` is the executed copy written by `book.tools.run`
(build output, git-ignored). Every other entry (`book/...`) is a prose page kept in git.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

CHAPTERS_DIR = "chapters"  # build output: executed notebooks that the book renders
SOURCES_DIR = "notebooks"  # jupytext percent sources, the only thing a chapter author edits


@dataclass(frozen=True)
class Chapter:
    name: str
    source: Path  # notebooks/<name>.py
    page: Path  # chapters/<name>.ipynb, what jupyter-book renders


def toc_files(root: Path) -> list[str]:
    """Every `file:` entry of `_toc.yml`, in reading order (root first)."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text())
    out: list[str] = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                out.append(str(node["file"]))
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(toc)
    return [str(Path(f).with_suffix("")) if Path(f).suffix in {".md", ".ipynb"} else f for f in out]


def chapters(root: Path) -> list[Chapter]:
    """The executable chapters of the book, in toc order. A `chapters/X` entry without
    `notebooks/X.py` is an error that names both paths."""
    root = Path(root)
    found = []
    for entry in toc_files(root):
        parts = Path(entry).parts
        if len(parts) != 2 or parts[0] != CHAPTERS_DIR:
            continue
        name = parts[1]
        source = root / SOURCES_DIR / f"{name}.py"
        if not source.is_file():
            raise FileNotFoundError(f"_toc.yml lists {entry} but its source {source.relative_to(root)} does not exist")
        found.append(Chapter(name=name, source=source, page=root / CHAPTERS_DIR / f"{name}.ipynb"))
    return found
