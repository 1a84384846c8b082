"""Shared fixture of the book tests: `make book-ci` once per test session (execute every chapter in profile ci,
fetch the offline JS, build with warnings as errors)."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"


def pytest_configure(config):
    config.addinivalue_line("markers", "book: builds the book (make book-ci) or tests it in a browser")


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Run `make book-ci` and return `_build/html`; fail with the build's own output if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(["make", "--no-print-directory", "book-ci"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        pytest.fail(f"make book-ci failed (exit {proc.returncode}):\n{tail}", pytrace=False)
    print(f"make book-ci took {time.perf_counter() - t0:.1f} s")
    return HTML
