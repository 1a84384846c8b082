"""What the chapters show: tables, figures and viewers built from the package and from the plan's results.

One concept per module:

- `s2svr.report.figures`: matplotlib rows and grids, JPEG encoding, kernel-free image sliders, box diagrams;
- `s2svr.report.flow_figures`: Fig. 1 rows (flows and HQ warps), a flow cache, the distillation verdict, the
  paired comparison of two flows;
- `s2svr.report.runs`: plan results by method, their configs, saved frames and models;
- `s2svr.report.run_setup`: what a task's runs train, beside the paper profile;
- `s2svr.report.scores`: measured tables beside the paper's (Tables 1-3), verdicts, paired differences;
- `s2svr.report.per_frame`: per-frame PSNR of the saved restorations and its plot;
- `s2svr.report.comparison`: the comparison figures of Figs. 4-6 and their sliders;
- `s2svr.report.segments`: Table 5's sequence-length ablation;
- `s2svr.report.saliency`: Fig. 7's feature saliency and its sharpness;
- `s2svr.report.cost`: GPU hours and memory of the paper's runs, from FLOPs and saved activations counted on CPU;
- `s2svr.report.verdicts`: the report's verdicts, computed from measured numbers with noise rules, and its
  table of claims.

This package starts each chapter (:func:`start_chapter`) and shows the package's own code under an equation
(:func:`show_source`, whole or an excerpt). The book's build tooling is not here: it lives in `book/tools/`.
"""
from __future__ import annotations

import time

CI_NOTICE = "profile ci: numbers are not meaningful (tiny sizes, smoke test)"


def start_chapter(profile: str, seed: int = 0, threads: int = 1, notice: str = CI_NOTICE) -> float:
    """What every executed chapter does first: seed Python/NumPy/torch, use `threads` torch threads (on a shared
    2-core machine one thread is faster than two), say that profile `ci` numbers mean nothing. Returns the
    start time (`time.perf_counter()`) for the chapter's closing timing line."""
    import torch

    from ..utils import seed_everything
    seed_everything(seed)
    torch.set_num_threads(threads)
    if profile == "ci":
        print(notice)
    return time.perf_counter()


def source_of(obj, start: str | None = None, stop: str | None = None) -> str:
    """The source of a function, class or method of `s2svr`, headed by the file and line it comes from.

    With `start` (and `stop`), only an excerpt: from the first line that contains `start` to the first line after
    it that contains `stop` (to the end without one), headed by its own first line. A text that is not found is
    an error, so a chapter's excerpt cannot silently drift from the code."""
    import inspect
    import textwrap
    from pathlib import Path
    obj = inspect.unwrap(obj)  # a decorated function (`@torch.no_grad()`): its own code, not the decorator's
    lines, first = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj)).resolve()
    pkg = Path(__file__).resolve().parents[1]
    where = path.relative_to(pkg.parent) if path.is_relative_to(pkg.parent) else path
    if start is not None:
        name = getattr(obj, "__qualname__", repr(obj))
        i = next((k for k, ln in enumerate(lines) if start in ln), None)
        if i is None:
            raise ValueError(f"{start!r} is not in the source of {name}")
        j = len(lines) - 1 if stop is None else next((k for k in range(i + 1, len(lines)) if stop in lines[k]), None)
        if j is None:
            raise ValueError(f"{stop!r} does not follow {start!r} in the source of {name}")
        lines, first = lines[i:j + 1], first + i
        where = f"{where}, from {name}"
    return f"# {where}, line {first}\n" + textwrap.dedent("".join(lines)).rstrip() + "\n"


def show_source(*objs, start: str | None = None, stop: str | None = None) -> None:
    """Display the code of `objs` (see :func:`source_of`) as Python code: the lines of `s2svr` that implement
    the equation a chapter has just explained, right below it; `start` / `stop`: an excerpt of each."""
    from IPython.display import Markdown, display
    display(Markdown("\n".join(f"```python\n{source_of(o, start, stop)}```" for o in objs)))
