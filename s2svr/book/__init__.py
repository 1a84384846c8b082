"""Build machinery of the book (not part of the method): execute the chapters, fetch offline JS assets.

- `s2svr.book.run`: jupytext -> papermill execution of every chapter listed in `_toc.yml`, with a cache.
- `s2svr.book.offline`: MathJax, RequireJS and the Jupyter widget manager, packed from npm so that the
  built pages load nothing from a CDN.
- `s2svr.book.toc`: which chapters the book has, read from `_toc.yml`.
- `s2svr.book.colab`: copies of the executed chapters for the "launch in Colab" buttons.
"""
