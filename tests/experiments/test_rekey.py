"""`python -m s2svr.experiments.rekey`: shipped weights and finished runs carried over a change of the key rule."""
import json
import shutil

from s2svr.experiments import rekey
from s2svr.experiments.jobs import key
from s2svr.experiments.plan import jobs
from s2svr.reference import MANIFEST, weights_dir


def test_the_legacy_rule_is_another_rule_and_keys_are_plain_hashes():
    plan = jobs("cpu")
    for name in ("flow/teacher", "sr/s2svr"):
        assert rekey.legacy_key(plan[name]) != key(plan[name])
    # every field is hashed, at its default too: a default changed is a job changed
    j = plan["sr/s2svr"]
    assert key(j.with_overrides(model={"head_init": "identity"})) != key(j)


def test_rekey_rewrites_the_keys_of_matching_entries_only(tmp_path):
    plan = jobs("cpu")
    shutil.copy(weights_dir() / MANIFEST, tmp_path / MANIFEST)
    doc = json.loads((tmp_path / MANIFEST).read_text())
    names = list(doc["entries"])[:3]
    for name in names:  # a manifest written under the old rule
        doc["entries"][name]["key"] = rekey.legacy_key(plan[name])
    doc["entries"][names[2]]["key"] = "0123456789ab"  # neither rule: stale, left alone
    (tmp_path / MANIFEST).write_text(json.dumps(doc))
    before = {n: dict(e) for n, e in doc["entries"].items()}

    changed, problems = rekey.rekey_manifest(plan, dest=tmp_path)

    after = json.loads((tmp_path / MANIFEST).read_text())["entries"]
    assert set(changed) == set(names[:2])
    assert all(after[n]["key"] == key(plan[n]) for n in names[:2])
    assert after[names[2]]["key"] == "0123456789ab" and len(problems) == 1 and names[2] in problems[0]
    for n, e in before.items():  # nothing but the key moves: files, digests, metrics stay
        assert {k: v for k, v in after[n].items() if k != "key"} == {k: v for k, v in e.items() if k != "key"}
    assert rekey.rekey_manifest(plan, dest=tmp_path)[0] == {}  # a second run has nothing to do


def test_rekey_renames_runs_from_their_old_key_without_clobbering(tmp_path):
    plan = jobs("cpu")
    a, b = plan["sr/single_frame"], plan["sr/s2svr"]
    for j in (a, b):
        d = tmp_path / f"sr_reds4-{j.label}-{rekey.legacy_key(j)}"
        d.mkdir()
        (d / "result.json").write_text(json.dumps({"checkpoint": str(d / "train" / "last.pt")}))
    (tmp_path / f"sr_reds4-{b.label}-{key(b)}").mkdir()  # b already trained anew: the old run stays aside

    moved = rekey.rekey_runs([a, b], tmp_path)

    assert [new.name for _, new in moved] == [f"sr_reds4-{a.label}-{key(a)}"]
    assert not moved[0][0].exists()
    # the record points into the renamed folder
    assert json.loads((moved[0][1] / "result.json").read_text())["checkpoint"] == str(moved[0][1] / "train" / "last.pt")
