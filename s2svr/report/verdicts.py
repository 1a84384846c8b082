"""Verdicts on the paper's claims, computed from measured numbers: `notebooks/report.py` and every chapter that
judges a claim.

A claim's *outcome* is computed from measurements, never typed: `HOLDS`, `FAILS`, `TIES` (the interval of the
measured effect contains 0: inconclusive), `DESIGN` (holds by construction, a check of the book's own layout:
parameter counts chosen to match, causality, constant memory) or `None` (not testable here). :func:`verdict`
turns an outcome into the word the book prints; :class:`ClaimBook` collects the claims of a page and draws the
table "the claims at a glance", each row linking to the section that holds its evidence.

The statistical rule (:func:`paired_comparison`): two runs are compared clip by clip on the same test clips.
Clips cut from one shot are not independent, so they are averaged into one *unit* (:func:`unit_of`), and the
interval of the mean difference is the t interval at the units' degrees of freedom (95 %, two-sided), widened by
the spread over training seeds when each run was trained with several. A claim "A beats B" holds when the whole
interval is above 0, fails when it is below 0, and is inconclusive otherwise. The interval is never narrower than
`min_db` (0.01 dB, the rounding of the tables and the tolerance within which fp16 weights reproduce a score).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence

HOLDS, FAILS, TIES, DESIGN = "holds", "fails", "ties", "design"
MIN_DB = 0.01
LEVEL = 0.95  # two-sided level of every interval

# The words of the book, one per outcome; `CI_VERDICT` replaces every profile-dependent one in profile ci.
VERDICTS = {HOLDS: "reproduced", FAILS: "not reproduced", TIES: "inconclusive", DESIGN: "design check",
            None: "not testable here"}
CI_VERDICT = "not meaningful in profile ci"


def t_quantile(df: int, level: float = LEVEL) -> float:
    """The two-sided `level` quantile of Student's t with `df` degrees of freedom (inf for df < 1)."""
    if df < 1:
        return math.inf
    from scipy.stats import t
    return float(t.ppf(0.5 + level / 2, df))


def unit_of(name: str) -> str:
    """The independent unit a test clip belongs to: its source shot for the embedded dataset's clips (bikes
    clips of one shot are one unit), else the clip itself. `name`: 'task/clip' as in `per_sequence`."""
    task, _, clip = name.rpartition("/")
    try:
        from ..data.embedded_recipe import recipe, sources_of
        rec = recipe()
        for split in ("test", "train"):
            for c in rec.get(task, {}).get(split, []):
                if c["name"] == clip:
                    return "+".join(sorted(sources_of(task, c)))
    except (ImportError, KeyError, TypeError):
        pass
    return name


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


def design_check(holds: bool) -> str:
    """The outcome of a check that holds by construction when the code is right (`DESIGN`), or `FAILS` (a bug)."""
    return DESIGN if bool(holds) else FAILS


def combine(outcomes: Iterable[Optional[str]]) -> Optional[str]:
    """Outcome of a claim made of several (e.g. "beats every other method"): `FAILS` if any part fails, else
    `TIES` if any ties, else `HOLDS`; None if a part is not testable (or there are no parts)."""
    outcomes = list(outcomes)
    if not outcomes or any(o is None for o in outcomes):
        return None
    if FAILS in outcomes:
        return FAILS
    return TIES if TIES in outcomes else HOLDS


def paired_comparison(result_a, result_b, key: str = "psnr", min_db: float = MIN_DB, units=unit_of) -> dict:
    """Run A minus run B, clip by clip on the same test clips, as an interval (the module's rule).

    `result_a`, `result_b`: a plan result with `per_sequence[name][key]`, or a list of them, one per training seed
    (paired by position: seed k of A against seed k of B). `units`: clip name -> independent unit.

    Returns {'diff' (mean difference, dB), 'per_sequence' (mean over seeds), 'per_unit', 'wins' (clips where A is
    ahead), 'sequences', 'units', 'seeds', 'spread' (sd over units), 'seed_spread' (sd over seeds of the mean
    difference; 0 for one seed), 'stderr', 'df', 't', 'noise' (half-width of the interval), 'lo', 'hi',
    'outcome', 'holds'}.
    """
    runs_a = list(result_a) if isinstance(result_a, (list, tuple)) else [result_a]
    runs_b = list(result_b) if isinstance(result_b, (list, tuple)) else [result_b]
    if len(runs_a) != len(runs_b) or not runs_a:
        raise ValueError(f"paired seeds: {len(runs_a)} runs of A, {len(runs_b)} of B")
    names = sorted(runs_a[0]["per_sequence"])
    for r in runs_a + runs_b:
        if sorted(r["per_sequence"]) != names:
            raise ValueError("the runs were scored on different test sequences")
    if not names:
        raise ValueError("no test sequences to compare")
    # d[s][clip]: seed s's difference on that clip
    d = [{n: float(a["per_sequence"][n][key]) - float(b["per_sequence"][n][key]) for n in names}
         for a, b in zip(runs_a, runs_b)]
    per = {n: sum(ds[n] for ds in d) / len(d) for n in names}
    groups: dict = {}
    for n in names:
        groups.setdefault(units(n) if units else n, []).append(n)
    per_unit = {u: sum(per[n] for n in ns) / len(ns) for u, ns in groups.items()}
    u_vals = list(per_unit.values())
    n_u, n_s = len(u_vals), len(d)
    diff = sum(u_vals) / n_u
    spread = _sd(u_vals)
    seed_means = [sum(sum(ds[n] for n in ns) / len(ns) for ns in groups.values()) / n_u for ds in d]
    seed_spread = _sd(seed_means)
    var = (spread ** 2 / n_u if n_u > 1 else 0.0) + (seed_spread ** 2 / n_s if n_s > 1 else 0.0)
    dfs = [k - 1 for k in (n_u, n_s) if k > 1]
    df = min(dfs) if dfs else 0  # the smaller of the two: a conservative t for the sum of the two variances
    t = t_quantile(df)
    stderr = math.sqrt(var)
    noise = max(min_db, t * stderr) if df >= 1 else math.inf
    lo, hi = diff - noise, diff + noise
    out = HOLDS if lo > 0 else FAILS if hi < 0 else TIES
    return {"diff": diff, "per_sequence": per, "per_unit": per_unit, "wins": sum(v > 0 for v in per.values()),
            "sequences": len(names), "units": n_u, "seeds": n_s, "spread": spread, "seed_spread": seed_spread,
            "stderr": stderr, "df": df, "t": t, "noise": noise, "lo": lo, "hi": hi, "outcome": out,
            "holds": out == HOLDS}


def _sd(values: Sequence[float]) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    m = sum(values) / n
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))


def paired_text(d: Mapping, unit: str = "dB") -> str:
    """'+0.123 dB, 95 % interval [+0.02, +0.22] (3 clips in 2 independent units, 3 seeds; ahead on 3/3 clips)'."""
    interval = ("no interval: one unit and one seed" if math.isinf(d["noise"])
                else f"95 % interval [{d['lo']:+.3f}, {d['hi']:+.3f}]")
    seeds = f", {d['seeds']} seeds" if d.get("seeds", 1) > 1 else ", one seed"
    return (f"{d['diff']:+.3f} {unit}, {interval} ({d['sequences']} clips in {d['units']} independent "
            f"unit{'s' if d['units'] > 1 else ''}{seeds}; ahead on {d['wins']}/{d['sequences']} clips)")


def verdict(outcome: Optional[str], profile: str, any_profile: bool = False) -> str:
    """The book's word for an outcome. In profile ci every verdict that depends on trained models is
    `CI_VERDICT`; `any_profile`: the measurement does not depend on the profile (e.g. counting the paper
    configs' parameters), so it stands even in ci."""
    if outcome not in VERDICTS:
        raise ValueError(f"unknown outcome {outcome!r}; one of {list(VERDICTS)}")
    if outcome is not None and outcome != DESIGN and profile == "ci" and not any_profile:
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
        def table(claims):
            rows = ["| claim | paper | measured here | verdict |", "| --- | --- | --- | --- |"]
            for c in claims:
                link = "{ref}" + f"`{_cell(c.name)} <{c.section}>`"
                rows.append(f"| {link} | {_cell(c.paper)} | {_cell(c.measured)} | **{_cell(c.verdict)}** |")
            return rows

        design = [c for c in self.claims if c.outcome == DESIGN]
        rows = table([c for c in self.claims if c.outcome != DESIGN])
        if design:  # apart from the empirical claims: they hold by construction of this book's code
            rows += ["", "Design checks (they hold by construction when the code is right; not evidence for the "
                     "paper):", ""] + table(design)
        return "\n".join(rows)

    def table(self):
        """Every field of every claim, as a DataFrame (the full table, public code included)."""
        import pandas as pd
        return pd.DataFrame([{"claim": c.name, "paper": c.paper, "public code": c.public_code,
                              "measured here": c.measured + (f" {c.detail}" if c.detail else ""),
                              "verdict": c.verdict} for c in self.claims])
