"""The shipped reference weights: a pre-filled cache of the experiment plan (profile cpu).

`weights/manifest.json` (see `s2svr.reference`) lists, for every model of the plan, its file (an fp16
safetensors checkpoint, `s2svr.train.checkpoint` format), the experiment cache key of the job that made it
(`s2svr.experiments.jobs.key`: the hash of its resolved config and of its dependencies'), the file's sha256,
the git commit, steps, wall time, the machine, its final metrics and its training log (CSV, beside it), and for a
flow net that runs otherwise than it trained, how it is used (`use`: the teacher's zoom in use, `FlowJob.use_zoom`;
not part of its key).

- The runner looks a job up here before training it (:func:`shipped`): a flow stage is adopted as it is, a
  restoration network with the scores its entry recorded (its restored frames are made when a chapter first
  asks for them), so the book builds without training.
- A restorer whose flow net stayed frozen does not repeat it: its file lacks the `flow.*` weights and names
  the flow entry's sha256 (`flow_ref`); `load_restorer` puts them back.
- `python -m s2svr.experiments.weights export --profile cpu` writes the folder from a finished plan run
  (`make weights` trains the plan from scratch first); `check` verifies every digest and config hash.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import time
from pathlib import Path

from ..reference import MANIFEST, ReferenceError, git_commit, manifest, sha256_file, shipped_entry, weights_dir
from ..utils import write_text_atomic
from .jobs import key

FORMAT = "s2svr-weights-v1"


class WeightsError(RuntimeError):
    """A shipped entry is missing, stale or corrupted; the message names it and `make weights`."""


def shipped(job) -> dict | None:
    """The manifest entry made by exactly this job (same cache key), with `path` set; None if there is none."""
    try:
        return shipped_entry(key(job))
    except ReferenceError as e:
        raise WeightsError(str(e)) from None


def stale_entries(profile: str = "cpu") -> list[str]:
    """Names of manifest entries whose config hash no longer matches the plan's job of that name."""
    from .plan import jobs
    plan = jobs(profile)
    return [name for name, e in manifest().items() if e.get("profile") == profile
            and (name not in plan or key(plan[name]) != e.get("key"))]


def _machine() -> str:
    import os

    import torch
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    return f"{platform.machine()}, {os.cpu_count()} cores, {dev}, torch {torch.__version__}, 1 thread per job"


def _file_name(name: str) -> str:
    return name.replace("/", "-").replace("+", "_")


def _release_state(state: dict, flow_ref: dict | None) -> dict:
    """The release form of a checkpoint: fp16 floating weights, no training state; a frozen flow by reference."""
    import torch
    model = {k: (v.half() if v.is_floating_point() else v) for k, v in state["model"].items()
             if not (flow_ref and k.startswith("flow."))}
    out = {k: v for k, v in state.items() if k not in ("model", "optimizer", "scheduler", "rng")}
    out.update(model=model, weights_only=True)
    if flow_ref:
        out["flow_ref"] = flow_ref
    assert all(t.dtype != torch.float32 for t in model.values() if t.is_floating_point())
    return out


def _with_use(entry: dict, job) -> dict:
    """`entry` with its flow job's use recorded beside the weights (`use`, only where it has one)."""
    entry.pop("use", None)
    if getattr(job, "use", None):
        entry["use"] = job.use
    return entry


def _intact(entry: dict) -> bool:
    """A manifest entry's file (if it has one) is there and matches its sha256."""
    if not entry.get("file"):
        return True
    path = weights_dir() / entry["file"]
    return path.is_file() and sha256_file(path) == entry.get("sha256")


def _last_row(csv_path) -> dict:
    import csv
    rows = list(csv.DictReader(open(csv_path, newline="")))
    return {k: float(v) for k, v in rows[-1].items()} if rows else {}


def heldout_metrics(job, path, use: dict | None = None) -> dict | None:
    """A flow stage's final metrics on the embedded flow set's `heldout` pairs: motion types that no training
    scene has and that chose nothing of the recipe (the test pairs did). At the zoom of its recorded use, as its
    evaluation curve ran; its own frames (HQ for the teacher, LQ for the students). None off the embedded
    dataset, where there is no such split."""
    from ..configs import load_config
    from ..data.flow_pairs import load_flow_pairs
    from ..train.flow import stage_frames
    from ..train.flow_evaluate import evaluate_flow
    from ..train.loading import load_flow_net
    cfg = load_config(job.config, job.profile, overrides=json.loads(job.overrides) or None)
    if cfg.data.dataset != "embedded":
        return None
    pairs = load_flow_pairs(cfg, "heldout", video=False)
    net = load_flow_net(path, zoom=(use or {}).get("zoom"))
    m = evaluate_flow(net, pairs, stage_frames(job.stage, job.frames))
    return {k: float(v) for k, v in m.items() if isinstance(v, (int, float))} | {"pairs": len(pairs)}


def export(profile: str = "cpu", output_dir="outputs", dest=None, names=None) -> Path:
    """Write every finished job of the plan (or `names`) under `output_dir` into `dest` (default `weights/`)."""
    from ..train.checkpoint import load_checkpoint, save_checkpoint
    from .plan import jobs, root
    from .runner import cached
    dest = Path(dest) if dest is not None else weights_dir()
    dest.mkdir(parents=True, exist_ok=True)
    plan = jobs(profile)
    names = list(plan) if names is None else list(names)
    entries, by_key = {}, {}
    old = manifest()
    for name in names:  # the plan lists flow stages before the restorers that use them
        job = plan[name]
        res = cached(job, root(profile, output_dir))
        if res is None:
            raise WeightsError(f"{name}: not trained under {root(profile, output_dir)}; run the plan first (make weights)")
        # adopted from the shipped weights (`make weights KEEP=1`), or already exported from an earlier run of the
        # same job (same key, intact file): kept as it is, with its own provenance, its file not rewritten
        prev = old.get(res["shipped"] if res.get("shipped") else name, {})
        if prev.get("key") == key(job) and _intact(prev):
            entry = _with_use(dict(prev), job)
            for f in [entry.get(k) for k in ("file", "log", "val_log", "eval_log")]:
                if f and (dest / f).resolve() != (weights_dir() / f).resolve():
                    shutil.copyfile(weights_dir() / f, dest / f)
            if job.kind == "flow" and "heldout" not in entry:  # shipped before the field existed
                entry["heldout"] = heldout_metrics(job, dest / entry["file"], entry.get("use"))
            entries[name] = entry
            by_key[entry["key"]] = name
            continue
        entry = {"profile": profile, "key": key(job), "kind": job.kind,
                 "commit": res["spec"].get("commit") or git_commit(), "machine": _machine(),
                 "config": res["spec"]["resolved"]["config"]}
        ckpt = res.get("checkpoint")
        flow_ref = None
        if job.kind == "flow":
            entry.update(steps=res.get("steps"), seconds=res["seconds"])
            entry = _with_use(entry, job)
        else:
            entry.update(steps=res["steps"], seconds=res["train_seconds"], metrics=res["mean"], arch=job.arch)
            # the per-clip scores too: the verdicts pair them clip by clip, and a run that keeps no restored
            # frames (a seed's) is then read from here instead of evaluated again (`runner._adopt_scores`)
            entry.update(per_sequence=res["per_sequence"], convention=res["convention"],
                         parameters=res.get("parameters"))
            val = res.get("validation")
            if val:  # on the held-out training shots (data.val_clips): the score and the neighbour gain
                entry["validation"] = {k: val.get(k) for k in ("mean", "h264", "neighbour_gain", "neighbour_wins",
                                                                "neighbour_windows")}
            t = res["spec"]["resolved"]["config"]["train"]
            if job.flow is not None and t["flow_freeze_iters"] >= t["iters"] and key(job.flow) in by_key:
                flow_ref = {"name": by_key[key(job.flow)], "sha256": entries[by_key[key(job.flow)]]["sha256"]}
        if ckpt:
            state = load_checkpoint(ckpt)
            fname = _file_name(name) + ".safetensors"
            save_checkpoint(dest / fname, _release_state(state, flow_ref))
            entry.update(file=fname, sha256=sha256_file(dest / fname))
            if flow_ref:
                entry["flow_ref"] = flow_ref
        log = res.get("log") or (str(Path(ckpt).parent / "log.csv") if ckpt else None)
        if log and Path(log).is_file():
            lname = _file_name(name) + "_log.csv"
            shutil.copyfile(log, dest / lname)
            entry["log"] = lname
        val = Path(ckpt).parent / "val.csv" if ckpt and job.kind == "restore" else None
        if val is not None and val.is_file():  # a restorer's validation PSNR against steps
            shutil.copyfile(val, dest / (_file_name(name) + "_val.csv"))
            entry["val_log"] = _file_name(name) + "_val.csv"
        if res.get("eval_log") and Path(res["eval_log"]).is_file():  # a flow stage's EPE-against-iterations curve
            shutil.copyfile(res["eval_log"], dest / (_file_name(name) + "_eval.csv"))
            entry["eval_log"] = _file_name(name) + "_eval.csv"
            entry["metrics"] = _last_row(res["eval_log"])  # its final test EPE, fb_pass, ... (fp32)
        if job.kind == "flow" and entry.get("file"):  # the same on the pairs that chose nothing (fp16, as shipped)
            entry["heldout"] = heldout_metrics(job, dest / entry["file"], entry.get("use"))
        entries[name] = entry
        by_key[entry["key"]] = name
    doc = {"format": FORMAT, "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "entries": entries}
    write_text_atomic(dest / MANIFEST, json.dumps(doc, indent=1))
    return dest / MANIFEST


def check(profile: str = "cpu") -> list[str]:
    """Problems with the shipped weights: missing files, wrong digests, stale config hashes (empty = all good)."""
    problems = []
    entries = manifest()
    for name, e in entries.items():
        if "file" not in e:
            continue
        p = weights_dir() / e["file"]
        if not p.is_file():
            problems.append(f"{name}: {e['file']} is missing")
        elif sha256_file(p) != e["sha256"]:
            problems.append(f"{name}: {e['file']} does not match its sha256 (corrupted or replaced)")
        ref = e.get("flow_ref")
        if ref and entries.get(ref["name"], {}).get("sha256") != ref["sha256"]:
            problems.append(f"{name}: its flow net '{ref['name']}' is not the one it was trained with")
    problems += [f"{name}: stale, its config changed since it was trained; run `make weights`"
                 for name in stale_entries(profile)]
    problems += [f"{name}: its recorded use {e.get('use') or {}} is not the plan's {use} (its evaluation curve ran "
                 "at the recorded one); run `make weights`" for name, e, use in _uses(profile)
                 if (e.get("use") or {}) != use]
    return problems


def _uses(profile: str):
    """(name, entry, the plan job's use) of every flow entry of `profile` that is a job of the plan."""
    from .plan import jobs
    plan = jobs(profile)
    return [(name, e, plan[name].use) for name, e in manifest().items()
            if e.get("profile") == profile and e.get("kind") == "flow" and name in plan]


def cost(profile: str = "cpu") -> dict:
    """What the shipped plan cost to train: {kind: core-hours} from the manifest's `seconds` (one core per job),
    'total', and 'wall_2_jobs' (total / 2: `make weights` runs two jobs at a time; a lower bound, dependencies
    can leave a core idle), plus 'entries' and 'bytes' (the weights files)."""
    entries = [e for e in manifest().values() if e.get("profile") == profile]
    out = {}
    for e in entries:
        out[e["kind"]] = out.get(e["kind"], 0.0) + float(e.get("seconds") or 0.0) / 3600
    out["total"] = sum(out.values())
    out["wall_2_jobs"] = out["total"] / 2
    out["entries"] = len(entries)
    out["bytes"] = sum((weights_dir() / e["file"]).stat().st_size for e in entries if e.get("file"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m s2svr.experiments.weights", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write weights/ from a finished plan run")
    e.add_argument("--profile", default="cpu")
    e.add_argument("--output-dir", default="outputs")
    e.add_argument("--dest", default=None)
    e.add_argument("--only", nargs="*", help="these jobs of the plan (default: all); see plan --list")
    c = sub.add_parser("check", help="verify digests and config hashes of weights/")
    c.add_argument("--profile", default="cpu")
    s = sub.add_parser("cost", help="what the shipped plan cost to train (core-hours from the manifest)")
    s.add_argument("--profile", default="cpu")
    args = ap.parse_args(argv)
    if args.command == "cost":
        c_ = cost(args.profile)
        kinds = ", ".join(f"{k} {v:.1f}" for k, v in c_.items() if k not in ("total", "wall_2_jobs", "entries", "bytes"))
        print(f"{c_['entries']} entries, {c_['bytes'] / 2**20:.0f} MB: {kinds} core-hours; {c_['total']:.1f} in all, "
              f">= {c_['wall_2_jobs']:.1f} h of wall time at two jobs at a time")
        return 0
    if args.command == "export":
        print(export(args.profile, args.output_dir, args.dest, names=args.only))
        return 0
    problems = check(args.profile)
    print("\n".join(problems) if problems else f"{len(manifest())} entries: digests and config hashes match")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
