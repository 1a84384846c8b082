"""Verdicts on the paper's claims, computed from measured numbers: `notebooks/report.py`.

A claim's *outcome* is computed from measurements, never typed: `HOLDS`, `FAILS`, `TIES` (the measured effect
is within the noise of the measurement) or `None` (not testable here). :func:`verdict` turns an outcome into
the word the report prints; :class:`ClaimBook` collects the claims of a page and draws the table "the claims
at a glance", each row linking to the section that holds its evidence.

Noise rules (:func:`compare`, :func:`paired_comparison`): a difference counts only when it exceeds the noise
of its measurement. For a paired per-clip comparison the noise is twice the standard error of the per-clip
differences (about a 95 % interval), and never less than `min_db` (0.01 dB, the rounding of the tables and
the tolerance within which fp16 weights must reproduce a score).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

HOLDS, FAILS, TIES = "holds", "fails", "ties"
MIN_DB = 0.01

# The words of the report, one per outcome; `CI_VERDICT` replaces every profile-dependent one in profile ci.
VERDICTS = {HOLDS: "reproduced", FAILS: "not reproduced at this scale", TIES: "within noise at this scale",
            None: "not testable here"}
CI_VERDICT = "not meaningful in profile ci"


def outcome_of(holds: Optional[bool]) -> Optional[str]:
    """`HOLDS` / `FAILS` from a computed boolean (a count within 5 %, a causality check); None stays None."""
    if holds is None:
        return None
    return HOLDS if bool(holds) else FAILS


def compare(diff: float, noise: float = MIN_DB) -> str:
    """Outcome of "A is larger than B" from `diff` = A - B and the noise of the measurement (>= 0):
    `HOLDS` if diff > noise, `FAILS` if diff < -noise, `TIES` otherwise."""
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if diff > noise:
        return HOLDS
    if diff < -noise:
        return FAILS
    return TIES


def combine(outcomes: Iterable[Optional[str]]) -> Optional[str]:
    """Outcome of a claim made of several (e.g. "beats every other method"): `FAILS` if any part fails, else
    `TIES` if any ties, else `HOLDS`; None if a part is not testable (or there are no parts)."""
    outcomes = list(outcomes)
    if not outcomes or any(o is None for o in outcomes):
        return None
    if FAILS in outcomes:
        return FAILS
    return TIES if TIES in outcomes else HOLDS


def paired_comparison(result_a: Mapping, result_b: Mapping, key: str = "psnr", min_db: float = MIN_DB) -> dict:
    """Run A minus run B, clip by clip, on the same test clips (plan results with `per_sequence[name][key]`).

    Returns {'diff' (mean of the per-clip differences, dB), 'per_sequence', 'wins' (clips where A is ahead),
    'sequences', 'spread' (sample standard deviation of the per-clip differences; 0 for one clip), 'stderr',
    'noise' (max(min_db, 2 stderr)), 'lo', 'hi' (diff -/+ noise), 'outcome', 'holds'}.

    `outcome`: `HOLDS` when A is ahead by more than the noise *and* on a majority of the clips (a guard
    against one lucky clip), `FAILS` when A is behind by more than the noise, `TIES` otherwise.
    """
    names = list(result_a["per_sequence"])
    if sorted(names) != sorted(result_b["per_sequence"]):
        raise ValueError("the two results were scored on different test sequences")
    if not names:
        raise ValueError("no test sequences to compare")
    per = {n: float(result_a["per_sequence"][n][key]) - float(result_b["per_sequence"][n][key]) for n in names}
    values = list(per.values())
    n = len(values)
    diff = sum(values) / n
    spread = math.sqrt(sum((v - diff) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    stderr = spread / math.sqrt(n)
    noise = max(min_db, 2 * stderr)
    wins = sum(v > 0 for v in values)
    out = compare(diff, noise)
    if out == HOLDS and not wins > n / 2:
        out = TIES
    return {"diff": diff, "per_sequence": per, "wins": wins, "sequences": n, "spread": spread, "stderr": stderr,
            "noise": noise, "lo": diff - noise, "hi": diff + noise, "outcome": out, "holds": out == HOLDS}


def paired_text(d: Mapping, unit: str = "dB") -> str:
    """'+0.123 dB ± 0.045 (ahead on 3/4 clips, per-clip spread 0.040)' from :func:`paired_comparison`."""
    return (f"{d['diff']:+.3f} {unit} ± {d['noise']:.3f} (ahead on {d['wins']}/{d['sequences']} clips, "
            f"per-clip spread {d['spread']:.3f})")


def verdict(outcome: Optional[str], profile: str, any_profile: bool = False) -> str:
    """The report's word for an outcome. In profile ci every verdict that depends on trained models is
    `CI_VERDICT`; `any_profile`: the measurement does not depend on the profile (e.g. counting the paper
    configs' parameters), so it stands even in ci."""
    if outcome not in VERDICTS:
        raise ValueError(f"unknown outcome {outcome!r}; one of {list(VERDICTS)}")
    if outcome is not None and profile == "ci" and not any_profile:
        return CI_VERDICT
    return VERDICTS[outcome]


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and what was measured about it. `section`: the MyST label of its evidence."""
    name: str
    paper: str
    public_code: str
    measured: str
    outcome: Optional[str]
    verdict: str
    section: str
    detail: str = ""


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


@dataclass
class ClaimBook:
    """The claims of a page, in the order they were measured."""
    profile: str
    claims: list = field(default_factory=list)

    def add(self, name: str, paper: str, public_code: str, measured: str, outcome: Optional[str], *,
            section: str, detail: str = "", any_profile: bool = False) -> Claim:
        """Record a claim; `measured` is the short figure for the table, `detail` the rest of the evidence."""
        c = Claim(name, paper, public_code, measured, outcome, verdict(outcome, self.profile, any_profile),
                  section, detail)
        self.claims.append(c)
        return c

    def markdown(self, claim: Claim) -> str:
        """The line a section prints under its evidence: '**claim**: verdict. measured; detail'."""
        rest = f" {claim.detail}" if claim.detail else ""
        return f"**{claim.name}**: {claim.verdict}. {claim.measured}.{rest}"

    def counts(self) -> dict:
        """{verdict: number of claims}, in the order the verdicts first appear."""
        out: dict = {}
        for c in self.claims:
            out[c.verdict] = out.get(c.verdict, 0) + 1
        return out

    def counts_text(self) -> str:
        return ", ".join(f"{n} claim{'s' if n > 1 else ''} {v}" for v, n in self.counts().items())

    def by_verdict(self) -> dict:
        """{verdict: [claim names]}."""
        out: dict = {}
        for c in self.claims:
            out.setdefault(c.verdict, []).append(c.name)
        return out

    def summary(self) -> str:
        """'**Reproduced**: a; b. **Not reproduced at this scale**: c.' (Markdown)."""
        return " ".join(f"**{v[0].upper() + v[1:]}**: " + "; ".join(names) + "."
                        for v, names in self.by_verdict().items())

    def glance(self) -> str:
        """The claims as a MyST Markdown table, claim | paper | measured | verdict, each claim a link
        ({ref} role) to the section labelled `claim.section`."""
        rows = ["| claim | paper | measured here | verdict |", "| --- | --- | --- | --- |"]
        for c in self.claims:
            link = "{ref}" + f"`{_cell(c.name)} <{c.section}>`"
            rows.append(f"| {link} | {_cell(c.paper)} | {_cell(c.measured)} | **{_cell(c.verdict)}** |")
        return "\n".join(rows)

    def table(self):
        """Every field of every claim, as a DataFrame (the full table, public code included)."""
        import pandas as pd
        return pd.DataFrame([{"claim": c.name, "paper": c.paper, "public code": c.public_code,
                              "measured here": c.measured + (f" {c.detail}" if c.detail else ""),
                              "verdict": c.verdict} for c in self.claims])
