"""Build machinery of the book (not part of the method, not part of the `s2svr` package). From the repository root:

- `python -m book.tools.run`: jupytext -> papermill execution of every chapter listed in `_toc.yml`, with a cache;
- `python -m book.tools.offline`: MathJax, RequireJS and the Jupyter widget manager, packed from npm so that
  the built pages load nothing from a CDN;
- `book.tools.toc`: which chapters the book has, read from `_toc.yml`;
- `python -m book.tools.colab`: copies of the executed chapters for the "launch in Colab" buttons.
"""
