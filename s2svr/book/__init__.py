"""Build machinery of the book (not part of the method): execute the chapters, fetch offline JS assets.

- `s2svr.book.run`: jupytext -> papermill execution of every chapter listed in `_toc.yml`, with a cache.
- `s2svr.book.offline`: MathJax, RequireJS and the Jupyter widget manager, packed from npm so that the
  built pages load nothing from a CDN.
- `s2svr.book.toc`: which chapters the book has, read from `_toc.yml`.
- `s2svr.book.colab`: copies of the executed chapters for the "launch in Colab" buttons.
- `s2svr.book.plan`: every experiment the chapters show, trained once and cached by config.
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
