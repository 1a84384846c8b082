"""Execute the book's chapters: `python -m book.tools.run --profile cpu|ci|paper [--only NAME] [--force]`.

For every `chapters/<name>` entry of `_toc.yml` (see `book.tools.toc`), in toc order:
1. read the jupytext source `notebooks/<name>.py` (it must have a cell tagged `parameters`);
2. execute it with papermill, injecting `profile`, `device`, `seed`, `data_root` and `output_dir` (the same
   `outputs` for every profile, as in the chapters' own parameter cells: each chapter writes under
   `<output_dir>/<profile>/`), with the repository root as working directory, into `_build/executed/<profile>/<name>.ipynb`;
3. on success, record the run in `_build/executed/<profile>/<name>.run.json` and publish the notebook as
   `chapters/<name>.ipynb`, the copy jupyter-book renders (`execute_notebooks: off`).

Each profile keeps its own executed copies, so switching between `make book-ci` and `make book` re-executes
nothing that is still up to date.

Cache: a chapter is skipped when the hash of its source, its parameters, and the sources of `s2svr`,
`data_scripts`, the restorer study's shipped CSVs (`weights/study/`) and `requirements.lock` equals the hash of
its last successful run. A failing cell stops the
run with one line naming the notebook, the source line and the error; the partially executed notebook stays
in `_build/executed/<profile>/<name>.ipynb` as the execution report and the stale published copy is removed.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import sys
import threading
import time
from concurrent.futures import CancelledError, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .toc import CHAPTERS_DIR, Chapter, chapters

PROFILES = ("ci", "cpu", "paper")
EXECUTED_DIR = Path("_build") / "executed"
REQUIRED_PARAMETERS = ("profile", "device", "seed", "data_root", "output_dir")
# Everything a chapter's outputs may depend on besides its own source and parameters.
HASHED_TREES = (("s2svr", "*.py"), ("s2svr", "*.yaml"), ("data_scripts", "*.py"), ("weights/study", "*.csv"))
HASHED_FILES = ("requirements.lock",)
CACHE_VERSION = "1"  # bump to invalidate every cached chapter


class ChapterError(RuntimeError):
    """A chapter failed; `str()` is the one-line message printed by the runner."""


@dataclass
class Result:
    name: str
    seconds: float
    cached: bool


def parameters_for(profile: str, device: str = "cpu", seed: int = 0, data_root: str = "data/embedded",
                   output_dir: str = "outputs") -> dict:
    """The values papermill injects into every chapter for one profile (the defaults of the chapters'
    parameter cells, so that a chapter opened by hand reads the same runs)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {PROFILES}")
    return {"profile": profile, "device": device, "seed": int(seed), "data_root": data_root,
            "output_dir": output_dir}


def inputs_hash(root: Path) -> str:
    """sha256 over the package sources, data scripts and pinned requirements (paths and contents)."""
    h = hashlib.sha256()
    files = [p for d, pattern in HASHED_TREES for p in sorted((root / d).rglob(pattern))
             if "__pycache__" not in p.parts]
    files += [root / f for f in HASHED_FILES if (root / f).is_file()]
    for p in files:
        h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def chapter_hash(chapter: Chapter, parameters: dict, inputs: str) -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    h.update(chapter.source.read_bytes())
    h.update(json.dumps(parameters, sort_keys=True).encode())
    h.update(inputs.encode())
    return h.hexdigest()


def _parameters_cell(nb, source: Path):
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ChapterError(f"{source}: needs exactly one cell tagged 'parameters', found {len(cells)}")
    assigned = {t.id for node in ast.parse(cells[0].source).body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    missing = [p for p in REQUIRED_PARAMETERS if p not in assigned]
    if missing:
        raise ChapterError(f"{source}: the parameters cell does not define {', '.join(missing)}")
    return cells[0]


def _source_line(source: Path, cell_source: str) -> int | None:
    """1-based line of `source` where the failing cell's code starts (jupytext keeps code verbatim)."""
    text = source.read_text()
    first = next((ln for ln in cell_source.splitlines() if ln.strip()), None)
    if first is None:
        return None
    pos = text.find(cell_source.strip()) if cell_source.strip() in text else text.find(first)
    return text.count("\n", 0, pos) + 1 if pos >= 0 else None


def _line_in_cell(traceback: list[str], exec_count) -> int | None:
    """Line of the failing statement inside the cell, from IPython's `Cell In[N], line K` frames."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(traceback or []))
    hits = re.findall(rf"Cell In\[{exec_count}\], line (\d+)", text)
    return int(hits[-1]) if hits else None


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def execute(chapter: Chapter, parameters: dict, root: Path, executed_dir: Path,
            timeout: float | None = None) -> None:
    """Execute one chapter into `executed_dir/<name>.ipynb`; raise `ChapterError` on failure."""
    import jupytext
    import papermill
    from papermill.exceptions import PapermillExecutionError

    src = _relative(chapter.source, root)
    nb = jupytext.read(chapter.source)
    _parameters_cell(nb, Path(src))
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    out = executed_dir / f"{chapter.name}.ipynb"
    report = _relative(out, root)
    try:
        # The kernel starts in `root` (nbclient's `resources` path), not by papermill's `cwd=`: that changes the
        # working directory of this whole process for the chapter's duration, and with two chapters executed by two
        # threads at once, one thread's return to the caller's folder would start the other's kernel there (the
        # rehearsal runs from the checkout into _build/rehearse: a chapter then missed the rehearsal's results).
        papermill.execute_notebook(nb, str(out), parameters=parameters, kernel_name="python3",
                                   resources={"metadata": {"path": str(root)}},
                                   progress_bar=False, log_output=False, execution_timeout=timeout)
    except PapermillExecutionError as e:
        line = _source_line(chapter.source, e.source or "")
        offset = _line_in_cell(e.traceback, e.exec_count)
        if line is not None and offset is not None:
            line += offset - 1
        where = f"{src}:{line}" if line else src
        evalue = " ".join(str(e.evalue).split())
        raise ChapterError(f"FAILED {chapter.name}: cell In [{e.exec_count}] at {where} raised "
                           f"{e.ename}: {evalue[:300]} (execution report: {report})") from None
    except Exception as e:  # dead kernel, timeout, unreadable notebook
        msg = " ".join(str(e).split())
        raise ChapterError(f"FAILED {chapter.name} ({src}): {type(e).__name__}: {msg[:300]} "
                           f"(execution report, if any: {report})") from None
    # Readers see which profile produced the numbers, folded away under the defaults.
    import nbformat

    executed = nbformat.read(str(out), as_version=4)
    for cell in executed.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "hide-input" not in tags:
            tags.append("hide-input")
    nbformat.write(executed, str(out))


def _publish(executed: Path, page: Path) -> None:
    """Copy the executed notebook to the page jupyter-book renders, leaving its mtime alone if unchanged
    (Sphinx re-reads a page whose mtime moved)."""
    if not (page.is_file() and page.read_bytes() == executed.read_bytes()):
        shutil.copyfile(executed, page)


def run(root: Path, profile: str, only: str | None = None, force: bool = False, device: str = "cpu",
        seed: int = 0, timeout: float | None = None, log=print, jobs: int = 1) -> list[Result]:
    """Execute (or reuse) every chapter, `jobs` at a time; return per-chapter timings in the toc's order. Raises
    `ChapterError` on failure (the first one; chapters not yet started are not started)."""
    root = Path(root).resolve()
    todo = chapters(root)
    if only is not None:
        names = [c.name for c in todo]
        if only not in names:
            raise ChapterError(f"--only {only}: not a chapter of _toc.yml (chapters: {', '.join(names) or 'none'})")
        todo = [c for c in todo if c.name == only]
    else:  # executed copies of chapters no longer in the toc would be stale build output
        keep = {c.page.name for c in todo}
        for stale in (root / CHAPTERS_DIR).glob("*.ipynb"):
            if stale.name not in keep:
                stale.unlink()
    parameters = parameters_for(profile, device=device, seed=seed)
    executed_dir = root / EXECUTED_DIR / profile
    executed_dir.mkdir(parents=True, exist_ok=True)
    (root / CHAPTERS_DIR).mkdir(exist_ok=True)
    os.environ.setdefault("PYTHONHASHSEED", "0")  # inherited by the kernels
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    inputs = inputs_hash(root)
    lock = threading.Lock()
    results: dict = {}

    def one(i: int, chapter: Chapter) -> None:
        digest = chapter_hash(chapter, parameters, inputs)
        record = executed_dir / f"{chapter.name}.run.json"
        executed = executed_dir / f"{chapter.name}.ipynb"
        prefix = f"[{i}/{len(todo)}] {chapter.name:<28}"
        previous = json.loads(record.read_text()) if record.is_file() else {}
        if not force and previous.get("hash") == digest and executed.is_file():
            _publish(executed, chapter.page)
            results[chapter.name] = Result(chapter.name, 0.0, True)
            with lock:
                log(f"{prefix} cached (source, parameters and package unchanged; "
                    f"last run {previous.get('seconds', 0):.1f} s)")
            return
        record.unlink(missing_ok=True)
        chapter.page.unlink(missing_ok=True)
        t0 = time.perf_counter()
        execute(chapter, parameters, root, executed_dir, timeout=timeout)
        seconds = time.perf_counter() - t0
        record.write_text(json.dumps({"hash": digest, "parameters": parameters, "seconds": round(seconds, 2),
                                      "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=1))
        _publish(executed, chapter.page)
        results[chapter.name] = Result(chapter.name, seconds, False)
        with lock:
            log(f"{prefix} executed in {seconds:.1f} s")

    # Chapters are independent (what two of them share, a flow bank or Table 5's scores, is computed under a file
    # lock), and each kernel uses one torch thread: `jobs` kernels at a time keep `jobs` cores busy.
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        order = sorted(enumerate(todo, 1), key=lambda ic: -_expected_seconds(ic[1], executed_dir))
        futures = [pool.submit(one, i, c) for i, c in order]  # the longest first: no long chapter left for last
        errors = []
        for f in futures:
            try:
                f.result()
            except CancelledError:  # not started: an earlier chapter failed
                continue
            except ChapterError as e:
                errors.append(e)
                for g in futures:  # chapters not started yet are not started
                    g.cancel()
    if errors:
        raise errors[0]
    return [results[c.name] for c in todo]


def _expected_seconds(chapter: Chapter, executed_dir: Path) -> float:
    """How long `chapter` should take: its last run's seconds in this profile, else a guess from its length (a
    chapter's source lines track its work well enough to start the long ones first)."""
    record = executed_dir / f"{chapter.name}.run.json"
    try:
        return float(json.loads(record.read_text())["seconds"])
    except (OSError, ValueError, KeyError):
        return len(chapter.source.read_text().splitlines()) / 10


def default_jobs() -> int:
    """Chapters executed at a time: `S2SVR_CHAPTER_JOBS`, else one per core, at most 2 (each kernel: 1 thread)."""
    env = os.environ.get("S2SVR_CHAPTER_JOBS")
    return max(1, int(env)) if env else max(1, min(2, os.cpu_count() or 1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m book.tools.run", description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=PROFILES, default="cpu")
    ap.add_argument("--only", metavar="NAME", help="execute only chapters/NAME")
    ap.add_argument("--force", action="store_true", help="ignore the cache")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=None, help="seconds per cell")
    ap.add_argument("--root", type=Path, default=Path.cwd(), help="the book's root (holds _toc.yml)")
    ap.add_argument("--jobs", type=int, default=None,
                    help="chapters executed at a time (default: S2SVR_CHAPTER_JOBS, else min(2, cores))")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    print(f"executing the book's chapters, profile {args.profile}")
    try:
        results = run(args.root, args.profile, only=args.only, force=args.force, device=args.device,
                      seed=args.seed, timeout=args.timeout, jobs=args.jobs or default_jobs())
    except (ChapterError, FileNotFoundError) as e:
        print(str(e), file=sys.stderr)
        return 1
    n_run = sum(not r.cached for r in results)
    print(f"{len(results)} chapters ({n_run} executed, {len(results) - n_run} cached) "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
