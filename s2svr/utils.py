"""Small shared helpers: seeding, devices, parameter counts."""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch. On CPU, runs with the same seed are bit-for-bit repeatable.

    On CUDA they are not fully: `grid_sample`'s backward (used by every warp) accumulates with atomics.
    """
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    if deterministic and torch.cuda.is_available():
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def count_parameters(module: torch.nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def resolve_device(device: str | None = None) -> torch.device:
    """'auto'/None -> cuda if available else cpu."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# ----- peak resident memory (Linux /proc; bench.py and the chapters that measure memory) -----------------------

def proc_status_kb(key: str) -> int | None:
    """A field of `/proc/self/status` in kB (`VmRSS`: resident now, `VmHWM`: peak), None where there is none."""
    import re
    from pathlib import Path
    status = Path("/proc/self/status")
    m = re.search(rf"^{key}:\s+(\d+) kB", status.read_text(), re.M) if status.exists() else None
    return int(m.group(1)) if m else None


def reset_peak_rss() -> bool:
    """Re-arm the kernel's peak-RSS counter (`VmHWM` := `VmRSS`); False where /proc/self/clear_refs is unavailable."""
    from pathlib import Path
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_of(cmd, env=None) -> tuple:
    """Run `cmd` in a fresh process: (its peak RSS in MB from `os.wait4`, seconds, return code)."""
    import subprocess
    import tempfile
    import time
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        return usage.ru_maxrss / 1024, time.perf_counter() - t0, os.waitstatus_to_exitcode(status)


def write_text_atomic(path, text: str) -> None:
    """Write `text` to `path` whole or not at all: into `path`.tmp, then renamed over it (readers never see half)."""
    from pathlib import Path
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def make_once(path, make) -> None:
    """Call `make()`, which creates the file `path`, unless `path` exists: under a lock beside it (`path`.lock,
    removed afterwards), so that processes asking for the same file at once wait for one of them to make it."""
    from pathlib import Path
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "w") as lock:
        lock_file(lock)
        if not path.is_file():
            make()
    lock_path.unlink(missing_ok=True)


def lock_file(f) -> None:
    """Take an exclusive lock on the open file `f` (POSIX `flock`), waiting while another process holds it; released
    when `f` is closed. Where there are no POSIX locks (Windows) it returns at once: two processes may then do the
    same work, and each still writes its files whole."""
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(f, fcntl.LOCK_EX)
