"""The chapter runner (book.tools.run) on a throw-away book: caching, parameters, failure reports."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from book.tools.run import ChapterError, main, parameters_for, run
from book.tools.toc import chapters

pytestmark = [pytest.mark.book]

CHAPTER = '''\
# %% [markdown]
# # A tiny chapter

# %% tags=["parameters"]
profile = "cpu"
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %%
print(f"profile={profile} seed={seed} output_dir={output_dir}")
{body}
'''


def write_toc(root: Path, *names: str) -> None:
    """A `_toc.yml` of one part holding `chapters/NAME` for each name, in that order."""
    entries = "".join(f"      - file: chapters/{n}\n" for n in names)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nparts:\n  - caption: Part\n    chapters:\n"
                                   + entries)


def make_book(root: Path, body: str = "x = 1", name: str = "tiny") -> Path:
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    (root / "book").mkdir(exist_ok=True)
    (root / "book" / "intro.md").write_text("# Intro\n")
    write_toc(root, name)
    src = root / "notebooks" / f"{name}.py"
    src.write_text(CHAPTER.replace("{body}", body))
    return src


def test_parameters_per_profile():
    p = parameters_for("ci")
    assert p == {"profile": "ci", "device": "cpu", "seed": 0, "data_root": "data/embedded", "output_dir": "outputs"}
    with pytest.raises(ValueError, match="unknown profile"):
        parameters_for("gpu")


def test_toc_entry_without_source_is_an_error(tmp_path):
    make_book(tmp_path)
    (tmp_path / "notebooks" / "tiny.py").unlink()
    with pytest.raises(FileNotFoundError, match="notebooks/tiny.py"):
        chapters(tmp_path)


def test_execute_then_cache_then_reexecute_on_change(tmp_path):
    src = make_book(tmp_path)
    logs = []
    first = run(tmp_path, "ci", log=logs.append)
    assert [r.cached for r in first] == [False]
    executed = tmp_path / "_build" / "executed" / "ci" / "tiny.ipynb"
    page = tmp_path / "chapters" / "tiny.ipynb"
    assert executed.is_file() and page.read_bytes() == executed.read_bytes()
    nb = json.loads(page.read_text())
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "profile=ci seed=0 output_dir=outputs" in text, "the parameters were not injected"
    assert json.loads((executed.parent / "tiny.run.json").read_text())["parameters"]["profile"] == "ci"

    assert [r.cached for r in run(tmp_path, "ci", log=logs.append)] == [True]  # nothing changed
    assert "cached" in logs[-1]
    assert [r.cached for r in run(tmp_path, "cpu", log=logs.append)] == [False]  # other parameters
    assert [r.cached for r in run(tmp_path, "ci", log=logs.append)] == [True]  # each profile keeps its run
    (tmp_path / "s2svr").mkdir()
    (tmp_path / "s2svr" / "mod.py").write_text("A = 1\n")  # the package changed
    assert [r.cached for r in run(tmp_path, "ci", log=logs.append)] == [False]
    src.write_text(src.read_text() + "\ny = 2\n")  # the source changed
    assert [r.cached for r in run(tmp_path, "ci", log=logs.append)] == [False]


def test_failing_cell_names_notebook_line_and_keeps_report(tmp_path, capsys):
    make_book(tmp_path, body='assert 1 + 1 == 3, "arithmetic is broken"')
    with pytest.raises(ChapterError) as err:
        run(tmp_path, "ci", log=lambda *_: None)
    msg = str(err.value)
    assert "\n" not in msg
    assert "tiny" in msg and "notebooks/tiny.py:13" in msg, msg
    assert "AssertionError: arithmetic is broken" in msg, msg
    report = tmp_path / "_build" / "executed" / "ci" / "tiny.ipynb"
    assert report.is_file() and "_build/executed/ci/tiny.ipynb" in msg
    assert "arithmetic is broken" in report.read_text()  # the partially executed notebook, with the error
    assert not (tmp_path / "chapters" / "tiny.ipynb").exists(), "a failed chapter must not be published"
    assert not (report.parent / "tiny.run.json").exists()
    # the command line: exit 1 with the one-line message on stderr
    assert main(["--profile", "ci", "--root", str(tmp_path)]) == 1
    assert "FAILED tiny" in capsys.readouterr().err


def test_missing_parameter_is_an_error(tmp_path):
    src = make_book(tmp_path)
    src.write_text(src.read_text().replace('data_root = "data/embedded"\n', ""))
    with pytest.raises(ChapterError, match="does not define data_root"):
        run(tmp_path, "ci", log=lambda *_: None)


def test_only_unknown_chapter(tmp_path):
    make_book(tmp_path)
    with pytest.raises(ChapterError, match="not a chapter"):
        run(tmp_path, "ci", only="nope")


def test_colab_copies_start_with_a_setup_cell(tmp_path):
    from book.tools.colab import export

    make_book(tmp_path)
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/someone/s2svr-book\n")
    run(tmp_path, "ci", log=lambda *_: None)
    (out,) = export(tmp_path, tmp_path / "colab")
    nb = json.loads(out.read_text())
    first = "".join(nb["cells"][0]["source"])
    assert "google.colab" in first and "git clone -q --depth 1 https://github.com/someone/s2svr-book" in first
    assert len(nb["cells"]) == len(json.loads((tmp_path / "chapters" / "tiny.ipynb").read_text())["cells"]) + 1
    from IPython.core.inputtransformer2 import TransformerManager

    compile(TransformerManager().transform_cell(first), "<colab setup cell>", "exec")  # valid IPython


def test_two_chapters_run_at_once_and_report_in_toc_order(tmp_path):
    # each chapter waits until the other one has started: this passes only if both kernels run at the same time
    body = textwrap.dedent('''\
        import time
        from pathlib import Path
        me, other = "{me}", "{other}"
        Path(f"{me}.here").touch()
        t0 = time.time()
        while not Path(f"{other}.here").exists():
            assert time.time() - t0 < 90, "the other chapter never started"
            time.sleep(0.1)
        ''')
    for me, other in (("a", "b"), ("b", "a")):
        make_book(tmp_path, body=body.replace("{me}", me).replace("{other}", other), name=me)
    write_toc(tmp_path, "a", "b")
    results = run(tmp_path, "ci", log=lambda *_: None, jobs=2)
    assert [(r.name, r.cached) for r in results] == [("a", False), ("b", False)]


def test_a_failure_is_reported_not_the_chapters_it_cancelled(tmp_path):
    for name, body in (("a", 'raise ValueError("a broke")'), ("b", "x = 1"), ("c", "x = 2")):
        make_book(tmp_path, body=body, name=name)
    write_toc(tmp_path, "a", "b", "c")
    with pytest.raises(ChapterError, match="FAILED a: .*ValueError: a broke"):  # not concurrent's CancelledError
        run(tmp_path, "ci", log=lambda *_: None, jobs=1)


def test_every_kernel_starts_in_the_books_root_and_the_runner_keeps_its_own_folder(tmp_path, monkeypatch):
    # the rehearsal executes the chapters of _build/rehearse from the checkout, two at a time: a kernel started in
    # the caller's folder would read the checkout's outputs/ instead of the book's
    import os
    import threading
    book, elsewhere = tmp_path / "book", tmp_path / "elsewhere"
    elsewhere.mkdir()
    names = ["a", "b", "c", "d"]
    for name in names:
        make_book(book, body=f'import os, time; time.sleep({0.2 * names.index(name)}); '
                             f'open("{name}.cwd", "w").write(os.getcwd())', name=name)
    write_toc(book, *names)
    monkeypatch.chdir(elsewhere)
    seen, stop = set(), threading.Event()

    def watch():  # the runner process's working directory while the chapters run
        while not stop.is_set():
            seen.add(os.path.realpath(os.getcwd()))
            stop.wait(0.005)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run(book, "ci", log=lambda *_: None, jobs=2)
    finally:
        stop.set()
        watcher.join()
    # papermill's `cwd=` held the process in the book's folder for each whole chapter (one thread's exit moved the
    # other's kernel out of it); the process never enters it now. (Papermill's own file writes may still step into
    # a folder it remembered from earlier calls, the caller's: harmless with absolute paths, so not asserted.)
    assert str(book.resolve()) not in seen
    assert {(book / f"{n}.cwd").read_text() for n in names} == {str(book.resolve())}
    assert not list(elsewhere.iterdir())
