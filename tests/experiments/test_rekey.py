"""`python -m s2svr.experiments.rekey`: shipped weights and finished runs carried over a change of the key rule."""
import json
import shutil

import pytest

from s2svr.experiments import rekey
from s2svr.experiments.jobs import key
from s2svr.experiments.plan import jobs
from s2svr.reference import MANIFEST, weights_dir

# The keys of the shipped weights under rule "2" (the flat flow section, the teacher's infer_zoom in its own key), as
# weights/manifest.json had them before the flow config had sections (CACHE_VERSION "3").
RULE2_KEYS = {
    "flow/teacher": "c41c64e64536", "flow/sr/student": "3f440e89cdbc", "flow/deblur/student": "5b80f7f9f19d",
    "flow/vqe/student": "2e369834a220", "flow/sr/student-nodistill": "7598b995b038",
    "flow/sr/supervised-hq": "df6eba0aa1aa", "flow/sr/supervised-lq": "45519d01d664",
    "flow/teacher-rawcost": "ef71ec51cc3a", "flow/teacher-paper": "2644f9e6dd1a", "sr/identity": "d0d26b51e110",
    "sr/single_frame": "23ea3303235b", "sr/basicvsr": "c1f0446081f0", "sr/s2svr": "c303158a3563",
    "deblur/identity": "2beb3cf51db2", "deblur/single_frame": "5e6b68243096", "deblur/basicvsr": "7a6692bff708",
    "deblur/s2svr": "f9c7305215a7", "vqe/identity": "6f61fe388219", "vqe/single_frame": "b3c91f499b82",
    "vqe/basicvsr": "654be7f9d1c3", "vqe/s2svr": "05a12aa18af1", "sr/s2svr+student-nodistill": "7ff5824be41b",
    "sr/s2svr+supervised-hq": "39ba2544998a", "sr/s2svr+dis": "bfda7ac2cf46"}


# The jobs of the plan that are still what was shipped then: the flow stages (the restorers' recipe has changed
# since, so their jobs have new identities under either rule).
UNCHANGED = [name for name in RULE2_KEYS if name.startswith("flow/")]


def test_rule_2_gives_back_the_key_of_every_shipped_entry():
    plan = jobs("cpu")
    assert set(UNCHANGED) <= set(json.loads((weights_dir() / MANIFEST).read_text())["entries"])
    assert {name: rekey.legacy_key(plan[name]) for name in UNCHANGED} == {n: RULE2_KEYS[n] for n in UNCHANGED}
    # the teacher's zoom in use was in its own key then, not in the key of what depends on it
    teacher = plan["flow/teacher"]
    assert rekey.legacy_key(teacher, own=False) != rekey.legacy_key(teacher)


def test_the_legacy_rule_is_another_rule_and_keys_are_plain_hashes():
    plan = jobs("cpu")
    for name in ("flow/teacher", "sr/s2svr"):
        assert rekey.legacy_key(plan[name]) != key(plan[name])
    # every field is hashed, at its default too: a default changed is a job changed
    j = plan["sr/s2svr"]
    assert key(j.with_overrides(model={"head_init": "identity"})) != key(j)
    # a config that the flat section of before cannot express has no rule-2 key
    odd = plan["flow/teacher"].with_overrides(flow={"stage1": {"after": 5, "loss": {"w_sm": 1.0}}})
    with pytest.raises(ValueError, match="no flat form"):
        rekey.legacy_key(odd)


def test_rekey_rewrites_the_keys_of_matching_entries_only(tmp_path):
    plan = jobs("cpu")
    shutil.copy(weights_dir() / MANIFEST, tmp_path / MANIFEST)
    doc = json.loads((tmp_path / MANIFEST).read_text())
    names = ["flow/teacher", "flow/sr/student", "sr/basicvsr"]
    for name, e in doc["entries"].items():  # a manifest of today ...
        e["key"] = key(plan[name])
    for name in names:  # ... where three entries were written under the old rule
        doc["entries"][name]["key"] = RULE2_KEYS[name]
        doc["entries"][name].pop("use", None)
    doc["entries"][names[2]]["key"] = "0123456789ab"  # neither rule: stale, left alone
    (tmp_path / MANIFEST).write_text(json.dumps(doc))
    before = {n: dict(e) for n, e in doc["entries"].items()}

    changed, problems = rekey.rekey_manifest(plan, dest=tmp_path)

    after = json.loads((tmp_path / MANIFEST).read_text())["entries"]
    assert set(changed) == set(names[:2])
    assert all(after[n]["key"] == key(plan[n]) for n in names[:2])
    assert after[names[2]]["key"] == "0123456789ab" and len(problems) == 1 and names[2] in problems[0]
    assert after["flow/teacher"]["use"] == {"zoom": 4}  # the zoom in use, now beside the weights
    for n, e in before.items():  # nothing but the key (and the teacher's use) moves: files, digests, metrics stay
        assert {k: v for k, v in after[n].items() if k not in ("key", "use")} == {k: v for k, v in e.items()
                                                                                if k not in ("key", "use")}
    assert rekey.rekey_manifest(plan, dest=tmp_path)[0] == {}  # a second run has nothing to do


def test_rekey_renames_runs_from_their_old_key_without_clobbering(tmp_path):
    plan = jobs("cpu")
    a, b = plan["sr/single_frame"], plan["sr/s2svr"]
    for j in (a, b, b.flow, b.flow.teacher):
        d = tmp_path / f"{j.config}-{j.label}-{rekey.legacy_key(j)}"
        d.mkdir()
        (d / "result.json").write_text(json.dumps({"checkpoint": str(d / "train" / "last.pt")}))
    (tmp_path / f"sr_reds4-{b.label}-{key(b)}").mkdir()  # b already trained anew: the old run stays aside

    moved = rekey.rekey_runs([a, b], tmp_path)

    # the flow stages a restorer started from move with it (a teacher's result records its use)
    names = {new.name for _, new in moved}
    assert names == {f"sr_reds4-{j.label}-{key(j)}" for j in (a, b.flow, b.flow.teacher)}
    assert all(not old.exists() for old, _ in moved)
    for _, new in moved:  # the record points into the renamed folder
        res = json.loads((new / "result.json").read_text())
        assert res["checkpoint"] == str(new / "train" / "last.pt")
        assert res.get("use") == ({"zoom": 4} if "teacher" in new.name else None)


def test_rekey_rewrites_the_study_tables_keys_and_nothing_else(tmp_path):
    from s2svr.experiments.study import ordered_jobs
    study = ordered_jobs(["sr"])
    job = study[0]
    text = ("task,factor,key\r\n" f"sr,base,{rekey.legacy_key(job)}\r\n" "sr,other,0123456789ab\r\n")
    (tmp_path / "sr.csv").write_bytes(text.encode())
    assert rekey.rekey_tables(study, tmp_path, dry_run=True) == {"sr.csv": 1}
    assert (tmp_path / "sr.csv").read_bytes().decode() == text
    assert rekey.rekey_tables(study, tmp_path) == {"sr.csv": 1}
    assert (tmp_path / "sr.csv").read_bytes().decode() == text.replace(rekey.legacy_key(job), key(job))
