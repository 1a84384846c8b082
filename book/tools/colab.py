"""Copies of the executed chapters for the "launch in Colab" buttons: `python -m book.tools.colab OUT`.

Colab opens `chapters/<name>.ipynb` from the branch named in `_config.yml` (`repository.branch`), which
.github/workflows/pages.yml fills with the output of this module. Colab has no `s2svr`, so each copy starts
with one extra cell that, in Colab only, clones the repository, installs the package and builds the embedded
dataset. The chapters themselves never install anything.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

SETUP = '''\
# In Colab only: fetch the book's repository, install `s2svr` and build the embedded dataset.
import os, sys
if "google.colab" in sys.modules and not os.path.isdir("{repo_dir}"):
    !git clone -q --depth 1 {url} {repo_dir}
    %pip install -q -e {repo_dir}
    %cd {repo_dir}
    if os.path.isfile("data_scripts/build_embedded.py"):
        !python data_scripts/build_embedded.py --quiet
'''


def setup_cell(url: str) -> nbformat.NotebookNode:
    repo_dir = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    cell = nbformat.v4.new_code_cell(SETUP.format(url=url, repo_dir=repo_dir))
    cell.metadata["tags"] = ["colab-setup"]
    return cell


def export(root: Path, out: Path) -> list[Path]:
    """Write `out/chapters/<name>.ipynb` for every executed chapter, each with the Colab setup cell first."""
    root, out = Path(root), Path(out)
    url = yaml.safe_load((root / "_config.yml").read_text())["repository"]["url"]
    written = []
    for page in sorted((root / "chapters").glob("*.ipynb")):
        nb = nbformat.read(page, as_version=4)
        nb.cells.insert(0, setup_cell(url))
        dest = out / "chapters" / page.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest)
        written.append(dest)
    return written


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m book.tools.colab OUT_DIR", file=sys.stderr)
        return 2
    written = export(Path.cwd(), Path(argv[0]))
    print(f"{len(written)} notebooks for Colab in {argv[0]}/chapters")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
