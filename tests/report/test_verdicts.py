"""s2svr.report.verdicts: outcomes computed from numbers, noise rules, paired per-clip comparisons."""
import math

import pytest

from s2svr.report.verdicts import (CI_VERDICT, FAILS, HOLDS, TIES, ClaimBook, combine, compare, outcome_of,
                                   paired_comparison, verdict)


def _result(per_clip, key="psnr"):
    per = {f"sr/clip_{i}": {key: v} for i, v in enumerate(per_clip)}
    return {"per_sequence": per, "mean": {key: sum(per_clip) / len(per_clip)}}


def test_compare_holds_fails_and_ties_within_noise():
    assert compare(0.2, 0.05) == HOLDS
    assert compare(-0.2, 0.05) == FAILS
    assert compare(0.04, 0.05) == TIES and compare(-0.05, 0.05) == TIES  # the edge is noise
    with pytest.raises(ValueError):
        compare(0.1, -1.0)


def test_paired_comparison_a_claim_that_holds():
    a = _result([30.5, 31.4, 29.6, 30.2])
    b = _result([30.0, 31.0, 29.0, 29.9])  # A ahead on every clip by 0.3-0.6 dB
    d = paired_comparison(a, b)
    assert d["outcome"] == HOLDS and d["holds"]
    assert d["wins"] == 4 and d["sequences"] == 4
    assert math.isclose(d["diff"], 0.45, abs_tol=1e-9)
    diffs = [0.5, 0.4, 0.6, 0.3]
    spread = math.sqrt(sum((x - 0.45) ** 2 for x in diffs) / 3)
    assert math.isclose(d["spread"], spread) and math.isclose(d["stderr"], spread / 2)
    assert math.isclose(d["noise"], max(0.01, 2 * spread / 2))
    assert d["lo"] > 0  # the interval excludes zero


def test_paired_comparison_a_claim_that_does_not_hold():
    d = paired_comparison(_result([29.0, 30.0, 28.0]), _result([29.5, 30.4, 28.6]))
    assert d["outcome"] == FAILS and not d["holds"] and d["wins"] == 0 and d["hi"] < 0


def test_paired_comparison_ties_when_the_spread_swamps_the_mean():
    # mean +0.3 dB, but the clips disagree by +-1 dB: within noise, neither holds nor fails
    d = paired_comparison(_result([31.0, 29.0, 30.5, 30.7]), _result([30.0, 30.0, 30.0, 30.0]))
    assert math.isclose(d["diff"], 0.3, abs_tol=1e-9) and d["noise"] > abs(d["diff"]) and d["wins"] == 3
    assert d["outcome"] == TIES and not d["holds"]


def test_paired_comparison_one_lucky_clip_is_not_a_win():
    # mean above the noise, but carried by 3 clips of 7: A is behind on the majority
    d = paired_comparison(_result([31.0] * 3 + [29.99] * 4), _result([30.0] * 7))
    assert d["diff"] > d["noise"] and d["wins"] == 3
    assert d["outcome"] == TIES


def test_paired_comparison_minimum_noise_and_mismatched_clips():
    same = _result([30.0, 31.0])
    d = paired_comparison(_result([30.005, 31.005]), same)
    assert d["spread"] == pytest.approx(0.0, abs=1e-12) and d["noise"] == 0.01 and d["outcome"] == TIES
    with pytest.raises(ValueError, match="different test sequences"):
        paired_comparison(_result([30.0]), same)


def test_combine_and_outcome_of():
    assert combine([HOLDS, HOLDS]) == HOLDS
    assert combine([HOLDS, TIES]) == TIES
    assert combine([TIES, FAILS, HOLDS]) == FAILS
    assert combine([HOLDS, None]) is None and combine([]) is None
    assert outcome_of(True) == HOLDS and outcome_of(False) == FAILS and outcome_of(None) is None


def test_verdict_words_and_profile_ci():
    assert verdict(HOLDS, "cpu") == "reproduced"
    assert verdict(FAILS, "cpu") == "not reproduced at this scale"
    assert verdict(TIES, "cpu") == "within noise at this scale"
    assert verdict(None, "ci") == "not testable here"  # untestable whatever the profile
    assert verdict(HOLDS, "ci") == CI_VERDICT and verdict(FAILS, "ci") == CI_VERDICT
    assert verdict(HOLDS, "ci", any_profile=True) == "reproduced"
    with pytest.raises(ValueError):
        verdict("maybe", "cpu")


def test_claim_book_table_links_counts_and_summary():
    book = ClaimBook("cpu")
    d = paired_comparison(_result([29.0, 30.0]), _result([29.5, 30.5]))
    book.add("S2SVR beats single frame", "+0.5 dB", "-", f"{d['diff']:+.3f} dB", d["outcome"],
             section="report-tasks")
    book.add("model size | SR", "13.4 M", "12.0 M", "13.39 M", outcome_of(True), section="report-size")
    book.add("RAFT", "Table 4", "-", "not available", None, section="report-table4")
    assert [c.verdict for c in book.claims] == ["not reproduced at this scale", "reproduced", "not testable here"]
    assert book.counts() == {"not reproduced at this scale": 1, "reproduced": 1, "not testable here": 1}
    glance = book.glance().splitlines()
    assert glance[0] == "| claim | paper | measured here | verdict |" and len(glance) == 2 + 3
    assert "{ref}`S2SVR beats single frame <report-tasks>`" in glance[2]
    assert "model size \\| SR" in glance[3]  # a pipe in a cell is escaped, the table keeps 4 columns
    assert "-0.500 dB" in glance[2] and "**not reproduced at this scale**" in glance[2]
    assert book.summary().startswith("**Not reproduced at this scale**: S2SVR beats single frame.")
    assert list(book.table().columns) == ["claim", "paper", "public code", "measured here", "verdict"]
    assert book.markdown(book.claims[1]) == "**model size | SR**: reproduced. 13.39 M."
