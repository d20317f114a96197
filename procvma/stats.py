# SPDX-License-Identifier: GPL-2.0-or-later
"""Statistics shared by compare and gate: medians and a rank test.

Latency samples are skewed and few, so we compare medians and judge a
difference with the Mann-Whitney U test, which assumes no distribution.
With very few samples even a perfect separation cannot reach the
significance level; then we say "too few samples" instead of printing a
p-value that could never mean anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from scipy.stats import mannwhitneyu

ALPHA = 0.05

SIGNIFICANT = "significant"
NOT_SIGNIFICANT = "not significant"
TOO_FEW = "too few samples"


def _clean(values: Sequence[float]) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    return a[~np.isnan(a)]


def median(values: Sequence[float]) -> float:
    """Median, the mean of the two middle values for an even count (as the
    reference harness computes it); NaN for no values."""
    a = _clean(values)
    return float(np.median(a)) if a.size else math.nan


def ratio(num: float, den: float) -> float:
    """num / den, with inf for a zero denominator and NaN when either side
    is unknown or both are zero."""
    if math.isnan(num) or math.isnan(den):
        return math.nan
    if den == 0:
        return math.inf if num > 0 else math.nan
    return num / den


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
    x, y = _clean(a), _clean(b)
    if min_pvalue(x.size, y.size, alternative) >= alpha:
        return Significance(None, TOO_FEW)
    # scipy's "greater" asks whether its first argument is larger.
    p = float(mannwhitneyu(y, x, alternative=alternative).pvalue)
    if math.isnan(p):
        return Significance(None, TOO_FEW)
    return Significance(p, SIGNIFICANT if p < alpha else NOT_SIGNIFICANT)
