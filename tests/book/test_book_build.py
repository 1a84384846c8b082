"""The book builds (every chapter executed in profile ci, jupyter-book -W) and its pages load nothing from a CDN."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from book.tools.toc import chapters, toc_files

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.book, pytest.mark.slow]

# Hosts that would make a page depend on the network.
CDN = re.compile(r"cdn\.jsdelivr|unpkg\.com|cdnjs|cloudflare|googleapis|gstatic|mathjax\.org|polyfill\.io")
# Attributes through which a page loads something by itself (links to other sites are fine).
LOADING = re.compile(r"<(?:script|img|iframe)\b[^>]*\bsrc=[\"']([^\"']+)|"
                     r"<link\b[^>]*\brel=[\"'](?:stylesheet|preload|modulepreload)[\"'][^>]*\bhref=[\"']([^\"']+)|"
                     r"<link\b[^>]*\bhref=[\"']([^\"']+)[\"'][^>]*\brel=[\"'](?:stylesheet|preload|modulepreload)")


def test_every_toc_page_is_built(built_book: Path):
    for entry in toc_files(ROOT):
        assert (built_book / f"{entry}.html").is_file(), f"{entry} is in _toc.yml but was not built"
    for chapter in chapters(ROOT):
        assert chapter.page.is_file(), f"{chapter.page} (executed copy of {chapter.source}) missing"


def test_no_page_loads_from_a_cdn(built_book: Path):
    pages = sorted(built_book.rglob("*.html"))
    assert pages
    offenders = []
    for page in pages:
        for match in LOADING.finditer(page.read_text(errors="replace")):
            url = next(g for g in match.groups() if g)
            if CDN.search(url) or re.match(r"(https?:)?//", url):
                offenders.append(f"{page.relative_to(built_book)}: {url}")
    assert not offenders, "pages load files from the network:\n" + "\n".join(offenders)


def test_offline_assets_are_served_from_static(built_book: Path):
    static = built_book / "_static"
    for rel in ("mathjax/tex-chtml.js", "requirejs/require.js", "html-manager/embed-amd.js", "widgets-offline.js"):
        assert (static / rel).is_file(), f"_static/{rel} missing from the built book"
    page = (built_book / "chapters" / "warping.html").read_text()
    assert "_static/mathjax/tex-chtml.js" in page
    assert "_static/html-manager/embed-amd.js" in page
    assert "application/vnd.jupyter.widget-state+json" in page, "the widget state was not saved into the page"
