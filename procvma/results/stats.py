# SPDX-License-Identifier: GPL-2.0-or-later
"""Statistics shared by compare, gate and report: medians, a rank test
and an interval for the ratio of two medians.

Latency samples are skewed and few, so we compare medians and judge a
difference with the Mann-Whitney U test, which assumes no distribution.
With very few samples even a perfect separation cannot reach the
significance level; then we say "too few samples" instead of printing a
p-value that could never mean anything.

How large the change is comes as a ratio of medians with a 95% confidence
interval from scipy's bootstrap (percentile method, fixed seed: the same
files always give the same interval).  A bootstrap of a handful of values
is overconfident -- one value resampled gives an interval of width zero --
so below MIN_SAMPLES a side no interval is given at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

# Modules are imported where they are used: the benchmark's own table
# takes its medians from here, and `procvma --help` loads that table.

ALPHA = 0.05
CONFIDENCE = 1 - ALPHA

# Resamples of the bootstrap, and its seed.
BOOTSTRAP_RESAMPLES = 9999
BOOTSTRAP_SEED = 20260609

SIGNIFICANT = "significant"
NOT_SIGNIFICANT = "not significant"
TOO_FEW = "too few samples"


def _clean(values: Sequence[float]) -> np.ndarray:
    import numpy as np

    a = np.asarray(values, dtype=float)
    return a[~np.isnan(a)]


def known_values(values: Sequence[float]) -> list:
    return [float(v) for v in values if v is not None and not math.isnan(v)]


def median(values: Sequence[float]) -> float:
    """Median of the values that are known (not None or NaN), the mean of
    the two middle values for an even count, as the reference harness
    computes it; NaN for no values."""
    import statistics

    known = known_values(values)
    return statistics.median(known) if known else math.nan


def ratio(num: float, den: float) -> float:
    """num / den, with inf for a zero denominator and NaN when either side
    is unknown or both are zero."""
    if math.isnan(num) or math.isnan(den):
        return math.nan
    if den == 0:
        return math.inf if num > 0 else math.nan
    return num / den


def spread(values: Sequence[float], floor: float = 0.0) -> float:
    """How many times the largest known value is the smallest (taken as at
    least floor, below which values are noise): 1 for a single value, NaN
    for none or all zero, inf when the smallest is 0 and the largest is
    not."""
    known = known_values(values)
    if not known:
        return math.nan
    return ratio(max(known), max(min(known), floor))


def min_pvalue(n1: int, n2: int, alternative: str = "two-sided") -> float:
    """Smallest p-value the exact Mann-Whitney test can give for samples of
    n1 and n2 values: the probability of the one most extreme ranking (or of
    either of the two, for a two-sided test)."""
    if n1 < 1 or n2 < 1:
        return 1.0
    tails = 2 if alternative == "two-sided" else 1
    return min(1.0, tails / math.comb(n1 + n2, n1))


@dataclass(frozen=True)
class Significance:
    pvalue: Optional[float]   # None when the samples cannot decide
    verdict: str              # SIGNIFICANT | NOT_SIGNIFICANT | TOO_FEW

    @property
    def significant(self) -> bool:
        return self.verdict == SIGNIFICANT

    def pvalue_text(self) -> str:
        return "-" if self.pvalue is None else f"{self.pvalue:.3g}"


def mann_whitney(a: Sequence[float], b: Sequence[float],
                 alternative: str = "two-sided",
                 alpha: float = ALPHA) -> Significance:
    """Is b shifted against a?  alternative is scipy's: "two-sided", or
    "greater" to ask whether b tends to be larger than a.

    Too few samples means that no outcome could fall below alpha, so the
    test cannot tell a real difference from chance."""
    from scipy.stats import mannwhitneyu

    x, y = _clean(a), _clean(b)
    if min_pvalue(x.size, y.size, alternative) >= alpha:
        return Significance(None, TOO_FEW)
    # scipy's "greater" asks whether its first argument is larger.
    p = float(mannwhitneyu(y, x, alternative=alternative).pvalue)
    if math.isnan(p):
        return Significance(None, TOO_FEW)
    return Significance(p, SIGNIFICANT if p < alpha else NOT_SIGNIFICANT)


def _fewest(alpha: float, alternative: str) -> int:
    """Fewest samples a side with which the exact rank test can reach
    alpha at all."""
    n = 1
    while min_pvalue(n, n, alternative) >= alpha:
        n += 1
    return n


# Fewer samples than this on either side decide nothing: no ranking of them
# is unlikely enough to tell a difference from chance at 95% (3 against 3:
# the most extreme ranking has p = 0.1), and a bootstrap of so few values
# gives intervals far narrower than the truth.
MIN_SAMPLES = _fewest(ALPHA, "two-sided")


def enough(n_a: int, n_b: int) -> bool:
    return min(n_a, n_b) >= MIN_SAMPLES


def ratio_interval(a: Sequence[float], b: Sequence[float],
                   confidence: float = CONFIDENCE) -> tuple:
    """(low, high): the confidence interval of median(b) / median(a),
    or (nan, nan) with fewer than MIN_SAMPLES values on either side.
    Percentile bootstrap: the BCa method needs a spread in its jackknife
    that identical samples (a floor of 0.007 ms, say) do not have."""
    import numpy as np
    from scipy.stats import bootstrap

    x, y = _clean(a), _clean(b)
    if not enough(x.size, y.size):
        return math.nan, math.nan

    def median_ratio(x, y, axis=-1):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.median(y, axis=axis) / np.median(x, axis=axis)

    with np.errstate(divide="ignore", invalid="ignore"):
        ci = bootstrap((x, y), median_ratio, paired=False, vectorized=True,
                       confidence_level=confidence, method="percentile",
                       n_resamples=BOOTSTRAP_RESAMPLES,
                       rng=np.random.default_rng(BOOTSTRAP_SEED)
                       ).confidence_interval
    return float(ci.low), float(ci.high)


# ---- samples an optional stop chose: the sequential method -----------------

def from_auto_run(commands: Sequence[str]) -> bool:
    """Whether any of the command lines that wrote some rows was a
    --nsamples auto run, which stopped when its samples decided: a
    fixed-n test on them is no longer valid; the confidence sequence is."""
    import shlex

    for command in commands:
        try:
            words = shlex.split(str(command))
        except ValueError:
            words = str(command).split()
        if any(w == "--nsamples=auto" for w in words) or any(
                w == "--nsamples" and nxt == "auto"
                for w, nxt in zip(words, words[1:])):
            return True
    return False


def sequential_ratio(a, b, seeds_a=None, seeds_b=None):
    """median(b) / median(a) judged by the always-valid method of
    procvma/results/sequential.py: a sequential.Comparison (estimate, low, high,
    whether it decides).  Rows are taken in the order measured; sides
    whose samples came in rounds of one run (the same seeds, in the same
    order) are paired round by round, others are not."""
    from procvma.results import sequential

    a, b = list(a), list(b)
    if seeds_a is not None and seeds_b is not None and \
            sequential.paired_by(seeds_a, seeds_b):
        return sequential.compare_paired(b, a)
    return sequential.compare_unpaired(b, a)
