"""The rehearsal's plan (`S2SVR_REHEARSAL=1`): the paper plan's jobs, dependencies and data at the ci sizes of
each config, derived from the YAML, not typed."""
from __future__ import annotations

import dataclasses

from s2svr.configs import load_config
from s2svr.experiments.jobs import key
from s2svr.experiments.plan import jobs
from s2svr.experiments.rehearsal import ENV, ci_sizes


def _deps(job) -> list:
    return [(f.name, getattr(job, f.name).label) for f in dataclasses.fields(job)
            if f.name in ("teacher", "flow", "init") and getattr(job, f.name) is not None]


def test_the_rehearsal_is_the_paper_plan_at_ci_sizes_on_the_paper_data(monkeypatch):
    paper = jobs("paper")
    monkeypatch.setenv(ENV, "1")
    rehearsal = jobs("paper")
    assert list(rehearsal) == list(paper)                                  # the same jobs ...
    assert all(_deps(rehearsal[n]) == _deps(paper[n]) for n in paper)      # ... on the same dependencies
    assert rehearsal["sr_vimeo/s2svr"].init is rehearsal["sr/s2svr"]       # Vimeo fine-tuned from the REDS model
    for name, job in rehearsal.items():
        if job.kind != "restore":
            continue
        cfg, ci, full = job.cfg(), load_config(job.config, "ci"), paper[name].cfg()
        assert (cfg.data.dataset, cfg.data.root) == (full.data.dataset, full.data.root), name  # the paper's data
        assert cfg.data == dataclasses.replace(ci.data, dataset=full.data.dataset, root=full.data.root,
                                               test_frames=full.data.test_frames), name   # whole test clips
        assert cfg.model == dataclasses.replace(ci.model, arch=job.arch), name                    # ci's sizes
        assert cfg.train == ci.train and cfg.flow.budget == ci.flow.budget, name                 # and budgets
        assert key(job) != key(paper[name])
    # a job's own overrides still apply on top: the DIS control keeps its classical flow
    assert rehearsal["sr/s2svr+dis"].cfg().flow.net.type == "dis"


def test_the_switch_touches_profile_paper_only(monkeypatch):
    cpu, ci = jobs("cpu"), jobs("ci")
    monkeypatch.setenv(ENV, "1")
    assert jobs("cpu") == cpu and jobs("ci") == ci


def test_the_sizes_come_from_each_configs_ci_profile():
    for name in ("sr_reds4", "sr_vimeo", "deblur_gopro", "vqe_mfqe"):
        sizes = ci_sizes(name)
        ci = load_config(name, "ci")
        assert not {"dataset", "root", "test_frames"} & set(sizes["data"])
        assert load_config(name, "paper", overrides=sizes).model == ci.model
        assert load_config(name, "paper", overrides=sizes).data.dataset == load_config(name, "paper").data.dataset


def test_a_paper_chapter_takes_its_ci_budget_in_the_rehearsal(monkeypatch):
    from s2svr.configs.chapters import chapter_budget
    paper, ci = chapter_budget("motion", "paper"), chapter_budget("motion", "ci")
    assert paper != ci
    monkeypatch.setenv(ENV, "1")
    assert chapter_budget("motion", "paper") == ci and chapter_budget("motion", "cpu") != ci
