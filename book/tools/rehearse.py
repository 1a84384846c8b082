"""The rehearsal of the paper path: `python -m book.tools.rehearse` (`make rehearse`).

What a GPU user runs for the paper (`notebooks/use_gpu.py`), end to end at toy size, on a CPU, in a folder of its own
(default `_build/rehearse`; nothing is written to `data/`, `outputs/` or `chapters/` of the checkout):

1. the folder: links to the book's sources (`_toc.yml`, `_config.yml`, `book/`, `notebooks/`, ...), to the embedded
   data and to the offline JavaScript, and its own `data/`, `outputs/`, `chapters/` and `_build/`;
2. tiny REDS, Vimeo-90K, GOPRO and MFQEv2 trees in their real layouts under its `data/`, where the paper configs'
   own data paths (`data/REDS`, ...) find them (`data_scripts/make_tiny.py`, through the preparation scripts);
3. the paper plan's whole job graph (`python -m s2svr.experiments.plan --profile paper`, preflight included) at each
   config's ci sizes and budgets (`S2SVR_REHEARSAL=1`, `s2svr.experiments.rehearsal`), every restoration training
   under `torchrun --nproc_per_node 2` with the gloo backend, as on N GPUs;
4. every chapter executed in profile paper against those results (`python -m book.tools.run --root FOLDER`);
5. the book built with warnings as errors into `FOLDER/_build/html`, and every table of the executed chapters checked
   for a cell with nothing in it or a `nan` (:func:`unfilled`).

Steps are cached as in `make book` (a second run redoes only what changed); `--clean` starts from nothing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# what the rehearsal folder links to: the book's sources, and what the chapters read beside them
LINKED = ("_toc.yml", "_config.yml", "book", "notebooks", "s2svr", "data_scripts", "requirements.lock", "weights")
EMBEDDED = Path("data") / "embedded"
OFFLINE = Path("_build") / "offline_static"


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.resolve() == target.resolve():
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    link.symlink_to(target)


def workspace(root: Path) -> None:
    """The rehearsal folder: links to the checkout's sources, its embedded data and its offline JavaScript."""
    root.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        if (REPO / name).exists():
            _link(REPO / name, root / name)
    _link(REPO / EMBEDDED, root / EMBEDDED)
    _link(REPO / OFFLINE, root / OFFLINE)


class _Tables(HTMLParser):
    """The tables of an HTML output as `(header, rows)`: the last header row's cells, and each body row's data cells
    (`td`; the index is `th`)."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell, self._in_head = [], None, False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append(([], []))
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self.tables:
            (self.tables[-1][0] if self._in_head else self.tables[-1][1]).append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = (tag, [])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1].append(data)

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None and self.tables:
            kind, text = self._cell
            self._cell = None
            rows = self.tables[-1][0] if self._in_head else self.tables[-1][1]
            if rows and (self._in_head or kind == "td"):
                rows[-1].append("".join(text).strip())


def unfilled(executed_dir: Path) -> list[str]:
    """The tables of the executed chapters with a data cell reading `nan`, `None` or nothing, as
    'chapter: table N: ...' lines: a table the profile shows must be filled, the measured column as the paper's."""
    import nbformat
    problems = []
    for path in sorted(Path(executed_dir).glob("*.ipynb")):
        n = 0
        for cell in nbformat.read(str(path), as_version=4).cells:
            for out in cell.get("outputs", []):
                html = out.get("data", {}).get("text/html", "")
                if "<table" not in html:
                    continue
                parser = _Tables()
                parser.feed(html if isinstance(html, str) else "".join(html))
                for head, rows in parser.tables:
                    n += 1
                    width = max((len(r) for r in rows), default=0)
                    names = [""] * width  # a data column's name: the last header row naming it (right-aligned)
                    for h in head:
                        for j, text in enumerate(([""] * width + h)[-width:] if width else []):
                            names[j] = text or names[j]
                    holes = {}
                    for row in rows:
                        for j, text in enumerate(row):
                            if text in ("", "nan", "NaN", "None"):
                                holes.setdefault(names[j] if j < len(names) else str(j), set()).add(text or "empty")
                    if holes:
                        problems.append(f"{path.stem}: table {n}: " + "; ".join(
                            f"column {name!r}: {', '.join(sorted(v))}" for name, v in holes.items()))
    return problems


def _stamps(data: Path) -> dict:
    """{tree: its stamp} of the tiny trees under `data` (`data_scripts/make_tiny.py` writes `TINY.json`)."""
    return {p.parent.name: p.read_text() for p in sorted(data.glob("*/TINY.json"))}


def _step(title: str, cmd: list, cwd: Path, env: dict) -> float:
    print(f"\n== rehearse: {title}\n   $ {' '.join(map(str, cmd))}", flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True)
    seconds = time.perf_counter() - t0
    print(f"== rehearse: {title}: {seconds:.0f} s", flush=True)
    return seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m book.tools.rehearse", description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=REPO / "_build" / "rehearse", help="the rehearsal's folder")
    ap.add_argument("--nproc", type=int, default=2, help="processes of each restoration training (torchrun)")
    ap.add_argument("--workers", type=int, default=2, help="jobs of the plan at a time")
    ap.add_argument("--clean", action="store_true", help="remove the folder first (no cached step)")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    if args.clean and root.exists():
        shutil.rmtree(root)
    py = sys.executable
    env = dict(os.environ, S2SVR_REHEARSAL="1", PYTHONPATH=str(REPO))
    t0 = time.perf_counter()
    try:
        times = {"embedded data, offline JavaScript": _step(
            "embedded data and offline JavaScript (no-ops when present)",
            ["bash", "-c", f"{py} data_scripts/build_embedded.py && {py} -m book.tools.offline {OFFLINE}"], REPO, env)}
        workspace(root)
        before = _stamps(root / "data")
        times["tiny trees"] = _step("tiny dataset trees", [py, "data_scripts/make_tiny.py", "--root", root / "data"],
                                    REPO, env)
        if before and _stamps(root / "data") != before and (root / "outputs").exists():
            # the plan's cache keys name a dataset by its path, not its contents: results on the old trees are stale
            print("rehearse: the trees changed, the plan's earlier results are removed", flush=True)
            shutil.rmtree(root / "outputs")
        times["plan"] = _step("the paper plan at ci sizes", [py, "-m", "s2svr.experiments.plan", "--profile", "paper",
                                                             "--nproc", str(args.nproc), "--workers",
                                                             str(args.workers)], root, env)
        times["chapters"] = _step("every chapter in profile paper", [py, "-m", "book.tools.run", "--profile", "paper",
                                                                     "--root", root], REPO, env)
        times["book"] = _step("the book, warnings as errors", [
            "bash", "-c", f"{Path(py).parent / 'jupyter-book'} build {root} -W --keep-going --quiet && "
                          f"{py} -m book.tools.offline --place-fonts {root / '_build' / 'html'}"], REPO, env)
    except subprocess.CalledProcessError as e:
        print(f"rehearse: FAILED (exit {e.returncode}) at: {' '.join(map(str, e.cmd))}", file=sys.stderr)
        return 1
    problems = unfilled(root / "_build" / "executed" / "paper")
    for line in problems:
        print(f"rehearse: {line}", file=sys.stderr)
    total = time.perf_counter() - t0
    print("\nrehearse: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()) + f"; {total:.0f} s in all")
    if problems:
        print(f"rehearse: FAILED, {len(problems)} unfilled table(s)", file=sys.stderr)
        return 1
    print(f"rehearse: passed; the book is {root / '_build' / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
