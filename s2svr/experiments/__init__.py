"""The experiments of the book: job types, the runner and its cache, the plan, and the paper's own numbers.

- `s2svr.experiments.jobs`: `FlowJob` (a stage of Algorithm 1) and `RestoreJob` (train + evaluate), identified
  by the hash of their resolved config (`key`);
- `s2svr.experiments.runner`: `run(jobs, root)` runs what is not cached, each job in a subprocess
  (`s2svr.experiments.worker`, which calls the trainers as Python functions);
- `s2svr.experiments.plan`: every experiment the chapters show, by name (`results(profile, names)`);
- `s2svr.experiments.paper`: the numbers the paper reports (Tables 1-5, parameter counts), as data.
"""
from .jobs import CACHE_VERSION, ExperimentError, FlowJob, RestoreJob, key
from .runner import cached, job_dir, run

__all__ = ["CACHE_VERSION", "ExperimentError", "FlowJob", "RestoreJob", "cached", "job_dir", "key", "run"]
