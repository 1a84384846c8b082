"""s2svr.report.verdicts: outcomes computed from numbers, noise rules, paired per-clip comparisons."""
import math

import pytest

from s2svr.report.verdicts import (CI_VERDICT, DESIGN, FAILS, HOLDS, TIES, ClaimBook, combine, compare,
                                   design_check, outcome_of, paired_comparison, paired_text, verdict)


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
    b = _result([30.0, 31.0, 29.0, 29.9])  # A ahead on every clip by 0.3-0.6 dB, 4 independent clips
    d = paired_comparison(a, b)
    assert d["outcome"] == HOLDS and d["holds"]
    assert d["wins"] == 4 and d["sequences"] == 4 and d["units"] == 4 and d["df"] == 3
    assert math.isclose(d["diff"], 0.45, abs_tol=1e-9)
    diffs = [0.5, 0.4, 0.6, 0.3]
    spread = math.sqrt(sum((x - 0.45) ** 2 for x in diffs) / 3)
    assert math.isclose(d["spread"], spread) and math.isclose(d["stderr"], spread / 2)
    assert math.isclose(d["t"], 3.182446305284263)  # t(0.975, 3)
    assert math.isclose(d["noise"], 3.182446305284263 * spread / 2)
    assert d["lo"] > 0  # the interval excludes zero


def test_paired_comparison_a_claim_that_does_not_hold():
    d = paired_comparison(_result([29.0, 30.0, 28.0]), _result([29.5, 30.4, 28.6]))
    assert d["outcome"] == FAILS and not d["holds"] and d["wins"] == 0 and d["hi"] < 0


def test_three_clips_need_t_not_two_standard_errors():
    # +0.1 dB on 3 clips with a standard error of 0.04: outside +-2 SE, inside +-4.30 SE (t at 2 df)
    d = paired_comparison(_result([30.1 + 0.0693, 30.1 - 0.0693, 30.1]), _result([30.0, 30.0, 30.0]))
    assert math.isclose(d["stderr"], 0.04, rel_tol=1e-3) and d["diff"] > 2 * d["stderr"]
    assert math.isclose(d["t"], 4.302652729749462) and d["outcome"] == TIES


def test_paired_comparison_inconclusive_when_the_spread_swamps_the_mean():
    d = paired_comparison(_result([31.0, 29.0, 30.5, 30.7]), _result([30.0, 30.0, 30.0, 30.0]))
    assert math.isclose(d["diff"], 0.3, abs_tol=1e-9) and d["noise"] > abs(d["diff"]) and d["wins"] == 3
    assert d["outcome"] == TIES and not d["holds"] and verdict(d["outcome"], "cpu") == "inconclusive"


def test_clips_of_one_shot_are_one_unit():
    # the embedded deblurring test: bikes_076 and bikes_110 come from one shot of bikes.mp4, bikes_190 from another
    a = {"per_sequence": {"deblur/bikes_076": {"psnr": 31.0}, "deblur/bikes_110": {"psnr": 31.2},
                          "deblur/bikes_190": {"psnr": 30.0}}}
    b = {"per_sequence": {k: {"psnr": 30.0} for k in a["per_sequence"]}}
    d = paired_comparison(a, b)
    assert d["units"] == 2 and d["df"] == 1 and math.isclose(d["diff"], (1.1 + 0.0) / 2)
    assert d["per_unit"] == pytest.approx({"bikes:shot2": 1.1, "bikes:shot4": 0.0})
    assert d["outcome"] == TIES  # t(0.975, 1) = 12.7


def test_seeds_add_their_spread():
    a = [_result([30.5, 31.5, 29.5]), _result([30.3, 31.3, 29.3]), _result([30.7, 31.7, 29.7])]
    b = [_result([30.0, 31.0, 29.0])] * 3
    d = paired_comparison(a, b)  # every clip +0.5 on average, the seeds +-0.2 apart
    assert d["seeds"] == 3 and math.isclose(d["diff"], 0.5) and math.isclose(d["seed_spread"], 0.2)
    assert math.isclose(d["stderr"], 0.2 / math.sqrt(3)) and d["df"] == 2 and d["outcome"] == HOLDS
    one = paired_comparison(a[1], b[1])  # one seed, no clip spread: only the floor
    assert one["noise"] == 0.01 and one["seed_spread"] == 0.0
    with pytest.raises(ValueError, match="paired seeds"):
        paired_comparison(a, b[:2])


def test_one_unit_and_one_seed_has_no_interval():
    d = paired_comparison(_result([31.0]), _result([30.0]))
    assert math.isinf(d["noise"]) and d["outcome"] == TIES and "no interval" in paired_text(d)


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
    assert verdict(FAILS, "cpu") == "not reproduced"
    assert verdict(TIES, "cpu") == "inconclusive"
    assert verdict(design_check(True), "ci") == "design check" and design_check(False) == FAILS
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
    assert [c.verdict for c in book.claims] == ["not reproduced", "reproduced", "not testable here"]
    assert book.counts() == {"not reproduced": 1, "reproduced": 1, "not testable here": 1}
    glance = book.glance().splitlines()
    assert glance[0] == "| claim | paper | measured here | verdict |" and len(glance) == 2 + 3
    assert "{ref}`S2SVR beats single frame <report-tasks>`" in glance[2]
    assert "model size \\| SR" in glance[3]  # a pipe in a cell is escaped, the table keeps 4 columns
    assert "-0.500 dB" in glance[2] and "**not reproduced**" in glance[2]
    assert book.summary().startswith("**Not reproduced**: S2SVR beats single frame.")
    assert list(book.table().columns) == ["claim", "paper", "public code", "measured here", "verdict"]
    assert book.markdown(book.claims[1]) == "**model size | SR**: reproduced. 13.39 M."


def test_design_checks_are_tabled_apart():
    book = ClaimBook("cpu")
    book.add("beats single frame", "+0.5 dB", "-", "+0.1 dB", TIES, section="a")
    book.add("causal", "implied", "-", "yes", design_check(True), section="b")
    text = book.glance()
    assert text.index("beats single frame") < text.index("Design checks") < text.index("causal")
    assert "**design check**" in text
