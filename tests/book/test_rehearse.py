"""The rehearsal's own checks (book/tools/rehearse.py); `make rehearse` itself runs in .ci/run, after `make test`."""
from __future__ import annotations

import nbformat
import pandas as pd

from book.tools.rehearse import LINKED, unfilled, workspace


def _notebook(path, *tables):
    nb = nbformat.v4.new_notebook()
    for t in tables:
        cell = nbformat.v4.new_code_cell("display(t)")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": t.to_html(),
                                                                      "text/plain": str(t)})]
        nb.cells.append(cell)
    nbformat.write(nb, str(path))


def test_a_table_with_a_hole_is_named(tmp_path):
    full = pd.DataFrame({"paper: REDS4": ["31.96 / 0.8988"], "measured: reds test": ["22.61 / 0.3115"]},
                        index=["S2SVR (Ours)"])
    _notebook(tmp_path / "exp_sr.ipynb", full)
    assert unfilled(tmp_path) == []
    holes = pd.DataFrame({"paper: REDS4": ["31.96 / 0.8988", "31.42 / 0.8909"], "measured": [float("nan"), "x"],
                          "measured: Vimeo-90K-T": ["", ""]}, index=pd.Index(["S2SVR (Ours)", "BasicVSR"],
                                                                             name="method"))  # a 2nd header row
    _notebook(tmp_path / "exp_vqe.ipynb", full, holes)
    _notebook(tmp_path / "exp_deblur.ipynb", holes.style)  # a Styler's table, as the chapters display some
    assert unfilled(tmp_path) == [
        "exp_deblur: table 1: column 'measured': nan; column 'measured: Vimeo-90K-T': empty",
        "exp_vqe: table 2: column 'measured': NaN; column 'measured: Vimeo-90K-T': empty"]


def test_the_rehearsal_folder_links_the_sources_and_nothing_of_the_checkouts_outputs(tmp_path):
    workspace(tmp_path / "r")
    linked = {p.name for p in (tmp_path / "r").iterdir() if p.is_symlink()}
    assert {"_toc.yml", "_config.yml", "book", "notebooks"} <= linked <= set(LINKED)
    assert (tmp_path / "r" / "data" / "embedded").is_symlink()        # the chapters' embedded data, read only
    assert not (tmp_path / "r" / "outputs").exists() and not (tmp_path / "r" / "chapters").exists()
