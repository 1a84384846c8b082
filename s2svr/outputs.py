"""Output paths that never destroy data: refusal rules, temporary names, stale leftovers, SIGTERM.

Explained in the chapter `notebooks/use_restore.py`. Every writer of the package (video files,
PNG folders, YUV files, checkpoints, evaluation reports) writes under a temporary sibling
`.NAME.partial-PID<suffix>` and renames it at the end, so a failure never leaves a half-written file under the
final name. A run killed by SIGKILL cannot clean up: its leftovers carry its process id, and the next run on
the same output removes those whose process is gone (:func:`remove_stale_partials`).

The command line refuses, with one line, an output that already exists (unless `--overwrite`), an output that
is also one of the command's inputs (always), and an output whose folder cannot be written
(:func:`check_output`). SIGTERM is turned into the same clean stop as Ctrl-C (:func:`sigterm_as_interrupt`).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path
from typing import Iterable



class OutputError(ValueError):
    """An output path that would destroy data or cannot be written; one line `<path>: <problem>`."""

    def __init__(self, path, problem):
        self.path, self.problem = Path(path), " ".join(str(problem).split())
        super().__init__(f"{self.path}: {self.problem}")


def partial_name(path, tag: str = "") -> Path:
    """Temporary sibling of `path` owned by this process: `.STEM.partial-PID<tag><suffix>` (the suffix is kept
    so format detection by suffix still works)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.partial-{os.getpid()}{tag}{path.suffix}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove(p: Path) -> None:
    """Remove a file or folder this package created (a temporary one), if it exists."""
    p = Path(p)
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    elif p.exists() or p.is_symlink():
        p.unlink(missing_ok=True)


def remove_stale_partials(path) -> list[Path]:
    """Remove the temporary siblings of `path` (`.STEM.partial-PID*`) left by killed runs; returns them.

    Only names of this exact pattern whose process no longer exists are touched."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return []
    prefix = f".{path.stem}.partial-"
    gone = []
    for p in parent.iterdir():
        if not p.name.startswith(prefix):
            continue
        m = re.match(r"(\d+)", p.name[len(prefix):])
        if m and not _alive(int(m.group(1))):
            remove(p)
            gone.append(p)
    return gone


def same_path(a, b) -> bool:
    """Whether `a` and `b` name the same file or folder (through links and `..`), existing or not."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_writable_ancestor(path, start, create: str, write: str) -> None:
    """The nearest existing folder among `start` and its parents must be a writable folder, or `path` cannot be
    created there: OutputError 'cannot <create>: X is a file' / 'cannot <write>: folder X is not writable'."""
    start = Path(start)
    for p in (start, *start.resolve().parents):
        if p.exists():
            if not p.is_dir():
                raise OutputError(path, f"cannot {create}: {p} is a file, not a folder")
            if not os.access(p, os.W_OK | os.X_OK):
                raise OutputError(path, f"cannot {write}: folder {p} is not writable")
            return


def check_output(path, reads: Iterable = (), overwrite: bool = False, option: str = "output") -> Path:
    """Refuse (with :class:`OutputError`) an output that would destroy data or cannot be written.

    Args:
        reads: the files and folders the command reads (input, checkpoint, config): never an output.
        overwrite: allow replacing an existing output (`--overwrite`).
        option: how the output is named on the command line, for the message.
    """
    path = Path(path)
    for r in reads:
        if r is not None and same_path(path, r):
            raise OutputError(path, f"the {option} is also read by this command ({r}); choose another {option}")
        if r is not None and path.is_dir() and Path(r).resolve().is_relative_to(path.resolve()):
            raise OutputError(path, f"the {option} folder holds {r}, which this command reads; choose another {option}")
    check_writable_ancestor(path, path.resolve().parent, f"write the {option}", f"write the {option}")
    if path.exists() and not overwrite:
        what = "folder" if path.is_dir() else "file"
        raise OutputError(path, f"the {option} {what} exists; pass --overwrite to replace it, or choose another {option}")
    return path


def sigterm_as_interrupt() -> None:
    """Handle SIGTERM like Ctrl-C (KeyboardInterrupt), so writers remove their temporary files on the way out."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")
    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. inside a notebook worker): leave the default
        pass
