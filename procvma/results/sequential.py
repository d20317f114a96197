# SPDX-License-Identifier: GPL-2.0-or-later
"""Always-valid confidence sequences for medians and ratios of medians,
so that a run may look at its samples after every round and stop when
they decide, without the false positives that looking often breeds.

A fixed-n interval (the bootstrap of stats.py, the Mann-Whitney test)
holds at 95% for one n chosen in advance.  Checked after every new
sample and believed the first time it excludes "no change", it is wrong
far more often than 5% (tests/test_sequential.py replays that).  A
confidence sequence holds at every n at once: the chance that it ever,
at any n, misses the true median is at most alpha, so it stays valid
whenever the run stops, for whatever reason.

The method is Howard & Ramdas, "Sequential estimation of quantiles with
applications to A/B-testing and best-arm identification" (Bernoulli 28(3),
2022), for the median (p = 1/2) and one fixed quantile: after t samples,
the count of samples at most the true median m, minus t/2, is a sum of
t independent centred Bernoulli(1/2) steps.  Those steps are
sub-Gaussian with variance 1/4 (Hoeffding's lemma; for p = 1/2 that is
their variance), so a normal mixture of exponential supermartingales
(Robbins' mixture; Howard, Ramdas, McAuliffe & Sekhon, "Time-uniform,
nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49(2),
2021, section 3.2) with Ville's inequality gives a boundary u(t) that
the count crosses at any t with probability at most alpha:

    |#{X_i <= m} - t/2| < u(t) = sqrt((t/4 + rho) log((t/4 + rho) / (rho alpha^2)))

for all t, with probability 1 - alpha.  The median then lies between
two order statistics of the samples so far (median_cs), and because the
event holds at all t together, the intervals of successive t may be
intersected.  rho sets the sample count at which the boundary is
tightest; it is fixed in advance (PLANNED_SAMPLES), never fitted to data.

Two designs measured in rounds (one sample of each per round, the same
op stream in both: procvma's interleaved runs) are compared through the
per-round ratios: the median of log(a_k / b_k) is the log of the ratio of
the designs' medians when one design's samples are the other's times a
factor, and the round's shared conditions (the machine's speed that
minute, the op stream) cancel out of each ratio.  Two sides that were
not measured in rounds (two results files) get an interval for each
median at alpha/2 and the ratio of the ends (ratio_cs_unpaired): a union
bound, wider, but valid as well.

The samples are taken as continuous (no two alike), as opavg, a mean over
thousands of calls, is.  numpy only.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

ALPHA = 0.05
# The boundary is tightest near this many samples: where the runs we
# expect to decide (1 s samples, a decision within a minute) stop.
PLANNED_SAMPLES = 20
# --precision's default: the interval narrower than the estimate +-10%.
PRECISION = 0.10

# Verdicts of a comparison.
DECIDED = "decided"         # wholly on one side of 1 and narrow enough
DIFFERENT = "different"     # wholly on one side of 1, not yet narrow
EQUIVALENT = "equivalent"   # contains 1, and within +-precision of it
UNDECIDED = "undecided"


def _boundary(t: float, alpha: float, rho: float) -> float:
    v = t / 4 + rho
    return math.sqrt(v * math.log(v / (rho * alpha * alpha)))


@functools.lru_cache(maxsize=None)
def mixture_rho(alpha: float, planned: int = PLANNED_SAMPLES) -> float:
    """The mixture's rho that makes u(planned) smallest, by golden
    section on log rho (u is unimodal in it)."""
    lo, hi = math.log(1e-3), math.log(1e3)
    g = (math.sqrt(5) - 1) / 2
    for _ in range(100):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if _boundary(planned, alpha, math.exp(a)) < \
                _boundary(planned, alpha, math.exp(b)):
            hi = b
        else:
            lo = a
    return math.exp((lo + hi) / 2)


def boundary(t: int, alpha: float = ALPHA,
             planned: int = PLANNED_SAMPLES) -> float:
    """u(t): how far from t/2 the count below the median may stray, at
    every t at once, with probability 1 - alpha."""
    return _boundary(t, alpha, mixture_rho(alpha, planned))


@functools.lru_cache(maxsize=None)
def fewest_bounded(alpha: float = ALPHA,
                   planned: int = PLANNED_SAMPLES) -> int:
    """The fewest samples with which a median's sequence has both ends:
    10 at 95%, 11 at 97.5% (each side of an unpaired ratio)."""
    t = 1
    while math.floor(t / 2 - boundary(t, alpha, planned)) + 1 < 1:
        t += 1
    return t


def median_cs(values: Sequence[float], alpha: float = ALPHA,
              planned: int = PLANNED_SAMPLES) -> Tuple[float, float]:
    """(low, high): the confidence sequence for the median of the
    distribution values are drawn from, after all of them, in the order
    given (the order they were measured), intersected over every prefix.
    -inf / inf where the samples do not yet bound a side; NaN values are
    skipped."""
    import bisect

    rho = mixture_rho(alpha, planned)
    seen, lo, hi = [], -math.inf, math.inf
    for x in values:
        if x != x:
            continue
        bisect.insort(seen, float(x))
        t = len(seen)
        u = _boundary(t, alpha, rho)
        # The true median m has fewer than t/2 + u samples at or below it
        # and more than t/2 - u: it lies in [X(k_lo), X(k_hi)).
        k_lo = math.floor(t / 2 - u) + 1
        k_hi = math.ceil(t / 2 + u)
        if k_lo >= 1:
            lo = max(lo, seen[k_lo - 1])
        if k_hi <= t:
            hi = min(hi, seen[k_hi - 1])
    return lo, hi


def _log(v):
    return math.log(v) if v > 0 else (-math.inf if v == 0 else math.nan)


def ratio_cs_paired(a: Sequence[float], b: Sequence[float],
                    alpha: float = ALPHA) -> Tuple[float, float, float]:
    """(estimate, low, high) for the ratio a/b of two designs measured in
    rounds: a[k] and b[k] measured together (round k).  The estimate is
    the median of the per-round ratios; the interval its confidence
    sequence.  Rounds missing either side are skipped."""
    import numpy as np

    d = [_log(x) - _log(y) for x, y in zip(a, b)
         if x == x and y == y and x > 0 and y > 0]
    if not d:
        return math.nan, math.nan, math.nan
    lo, hi = median_cs(d, alpha)
    return (float(math.exp(np.median(d))), math.exp(lo) if lo > -math.inf
            else 0.0, math.exp(hi) if hi < math.inf else math.inf)


def ratio_cs_unpaired(a: Sequence[float], b: Sequence[float],
                      alpha: float = ALPHA) -> Tuple[float, float, float]:
    """(estimate, low, high) for median(a) / median(b), each side in the
    order measured, its median's sequence at alpha/2."""
    import numpy as np

    xa = [float(x) for x in a if x == x]
    xb = [float(x) for x in b if x == x]
    if not xa or not xb:
        return math.nan, math.nan, math.nan
    alo, ahi = median_cs(xa, alpha / 2)
    blo, bhi = median_cs(xb, alpha / 2)
    ma, mb = float(np.median(xa)), float(np.median(xb))

    def div(x, y):
        if y <= 0:
            return math.inf if x > 0 else math.nan
        return x / y

    est = div(ma, mb)
    low = max(0.0, div(max(alo, 0.0), bhi)) if bhi < math.inf else 0.0
    high = div(ahi, blo) if blo > 0 else math.inf
    return est, low, high


def within(est: float, lo: float, hi: float, precision: float) -> bool:
    """Whether [lo, hi] is narrower than est +-precision: its width at
    most 2 * precision * est.  (A sequence's ends sit unevenly around the
    estimate, the order statistics of a skewed sample.)"""
    return (math.isfinite(lo) and math.isfinite(hi) and est > 0
            and hi - lo <= 2 * precision * est)


def near_one(lo: float, hi: float, precision: float) -> bool:
    """Whether [lo, hi] lies within 1 +-precision: no change larger."""
    return lo >= 1 - precision and hi <= 1 + precision


@dataclass(frozen=True)
class Comparison:
    """Where a ratio a/b of medians stands."""
    estimate: float
    low: float
    high: float
    verdict: str        # DECIDED | DIFFERENT | EQUIVALENT | UNDECIDED
    precision: float

    @property
    def significant(self) -> bool:
        """The interval lies wholly on one side of 1."""
        return self.verdict in (DECIDED, DIFFERENT)

    @property
    def stops(self) -> bool:
        return self.verdict in (DECIDED, EQUIVALENT)


def judge(est: float, lo: float, hi: float,
          precision: float = PRECISION) -> Comparison:
    if any(map(math.isnan, (est, lo, hi))):
        verdict = UNDECIDED
    elif lo > 1 or hi < 1:
        verdict = DECIDED if within(est, lo, hi, precision) else DIFFERENT
    elif near_one(lo, hi, precision):
        verdict = EQUIVALENT
    else:
        verdict = UNDECIDED
    return Comparison(est, lo, hi, verdict, precision)


def compare_paired(a, b, precision=PRECISION, alpha=ALPHA) -> Comparison:
    return judge(*ratio_cs_paired(a, b, alpha), precision)


def compare_unpaired(a, b, precision=PRECISION, alpha=ALPHA) -> Comparison:
    return judge(*ratio_cs_unpaired(a, b, alpha), precision)


def median_precise(values, precision=PRECISION, alpha=ALPHA
                   ) -> Tuple[float, float, float, bool]:
    """(median, low, high, whether [low, high] is within +-precision of
    the median): one design's stopping rule."""
    import numpy as np

    xs = [float(x) for x in values if x == x]
    if not xs:
        return math.nan, -math.inf, math.inf, False
    lo, hi = median_cs(xs, alpha)
    m = float(np.median(xs))
    return m, lo, hi, within(m, lo, hi, precision)


def paired_by(keys_a: Sequence, keys_b: Sequence) -> Optional[bool]:
    """Whether two sides read from a file were measured in rounds: the
    same keys (the samples' seeds), in the same order, none repeated."""
    ka, kb = list(keys_a), list(keys_b)
    return bool(ka) and ka == kb and len(set(ka)) == len(ka)


def fmt_interval(lo: float, hi: float) -> str:
    def one(v):
        if math.isinf(v):
            return "inf"
        return f"{v:#.3g}".rstrip(".") if v < 1000 else f"{v:.0f}"
    return f"{one(lo)}x..{one(hi)}x"
