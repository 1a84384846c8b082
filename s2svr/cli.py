"""Command line: `s2svr params | ...` (more subcommands arrive with training, evaluation and restoration).

Errors on bad input are printed as one line `s2svr: error: ...` with exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys

from .configs import ConfigError, load_config


def _params(args) -> int:
    from .models import build_model, parameter_breakdown
    cfg = load_config(args.config, profile=args.profile)
    rows = parameter_breakdown(build_model(cfg.model))
    if args.json:
        print(json.dumps({"config": cfg.name, "profile": cfg.profile, "parameters": rows}, indent=2))
    else:
        print(f"{cfg.name} (profile {cfg.profile})")
        width = max(len(k) for k in rows)
        for k, v in rows.items():
            print(f"  {k:<{width}}  {v:>12,d}  ({v / 1e6:.2f} M)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="s2svr", description="S2SVR video restoration (ICML 2022), reproduced.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("params", help="parameters per component and in total")
    p.add_argument("config", help="packaged config name (sr_reds4, sr_vimeo, deblur_gopro, vqe_mfqe) or a YAML path")
    p.add_argument("--profile", default="paper", help="paper | cpu | ci (default: paper)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_params)
    return ap


class UserError(Exception):
    """An error caused by the user's input: reported as one line, no traceback."""


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, UserError, FileNotFoundError) as e:
        print(f"s2svr: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
