# SPDX-License-Identifier: GPL-2.0-or-later
"""--nsamples auto: after each round (one sample of every configuration
of the run), do the samples so far decide?  Then the run stops.

A run's configurations fall into groups: the designs of one
configuration of everything else (--lock both, a sweep point measured
under several) pair each design with the baseline (--baseline), compared
through the ratio baseline/design of their medians; a configuration
measured alone (one --lock design, the kernel backend) is a single,
whose median is what is estimated.  A pair
decides when the 95% confidence sequence of its ratio (sequential.py)
lies wholly on one side of 1 and is narrower than the estimate
+-precision, or lies within 1 +-precision (no change larger than that);
a single when its median's sequence is narrower than the median
+-precision.  The run stops when every
group (every design-against-baseline pair) has decided, or after
--max-samples rounds.

With --require ('mmap/vma>=10'), the groups are the requirements instead,
one per configuration measured in both its designs, and one decides when
the confidence sequence of its ratio lies wholly on one side of the
bound: the rule by which procvma gate --require then judges the run,
so that the run stops as soon as the gate can decide, however long the
noise makes that take (up to --max-samples).
"""

from __future__ import annotations

import math
import time
from typing import List, Sequence

from procvma.results import sequential

METRIC = "opavg_ms"


def requirement_groups(points: Sequence, requirements) -> List[tuple]:
    """(numerator's point, denominator's point, requirement) for each
    requirement and each configuration measured in both its designs."""
    out = []
    for members in _by_rest(points):
        locks = {p.params.get("lock"): p for p in members}
        out += [(locks[r.num], locks[r.den], r) for r in requirements
                if r.num in locks and r.den in locks]
    return out


def _by_rest(points):
    """The points in groups of one configuration of everything but the
    design."""
    by_rest = {}
    for point in points:
        rest = tuple(sorted((k, repr(v)) for k, v in point.params.items()
                            if k not in ("lock", "seed")))
        by_rest.setdefault(rest, []).append(point)
    return list(by_rest.values())


def groups_of(points: Sequence, baseline=None) -> List[tuple]:
    """The run's points (rounds.Point) as pairs (baseline point, other
    design's point) of the same configuration otherwise, one per other
    design, and singles: a configuration measured in one design, or in
    several without the baseline."""
    out = []
    for members in _by_rest(points):
        locks = {p.params.get("lock"): p for p in members}
        base = locks.get(baseline)
        if base is not None and len(locks) == len(members) > 1:
            out.extend((base, p) for p in members if p is not base)
        else:
            out.extend((p,) for p in members)
    return out


def judge_requirement(num: Sequence[float], den: Sequence[float], req):
    """(status, estimate, low, high): a requirement on the ratio num/den
    of two designs measured in rounds, judged by its confidence sequence
    as procvma gate judges it: gate.OK, gate.FAIL or gate.INCONCLUSIVE."""
    from procvma.results.gate import classify

    est, lo, hi = sequential.ratio_cs_paired(num, den)
    return classify((lo, hi), req.holds), est, lo, hi


def _values(point):
    return [r[METRIC] for r in point.rows]


def _pct(precision):
    return f"+-{precision * 100:g}%"


class AutoStop:
    """The stopping rule, called after each round with the run's points:
    True once every group has decided."""

    def __init__(self, points, precision=sequential.PRECISION,
                 max_rounds=None, baseline=None, requirements=()):
        self.groups = (requirement_groups(points, requirements)
                       if requirements else groups_of(points, baseline))
        self.precision = precision
        self.max_rounds = max_rounds
        self.start = time.monotonic()
        self.rounds = 0
        self.decided = False

    def state(self, group):
        """(decided, text) for one group as its samples stand."""
        if len(group) == 3:
            return self._requirement_state(*group)
        if len(group) == 2:
            a, b = group
            c = sequential.compare_paired(_values(a), _values(b),
                                          self.precision)
            return c.stops, self._pair_text(c, a.params.get("lock"),
                                            b.params.get("lock"))
        m, lo, hi, ok = sequential.median_precise(_values(group[0]),
                                                  self.precision)
        ms = "-" if math.isnan(m) else f"{m:.3f}"
        interval = "unbounded yet" if math.isinf(lo) or math.isinf(hi) \
            else f"{lo:.3f}..{hi:.3f} ms"
        return ok, (f"median opavg {ms} ms (95% confidence sequence "
                    f"{interval}, {'narrower' if ok else 'wider'} than "
                    f"{_pct(self.precision)})")

    def _requirement_state(self, num, den, req):
        from procvma.results.gate import FAIL, OK

        status, est, lo, hi = judge_requirement(_values(num), _values(den),
                                                req)
        verdict = {OK: "holds", FAIL: "fails"}.get(status, "undecided")
        if math.isnan(est):
            return False, f"{req}: no rounds with both designs"
        return status in (OK, FAIL), (
            f"{req} {verdict}: median opavg ratio {est:#.3g}x, 95% "
            f"confidence sequence {sequential.fmt_interval(lo, hi)}")

    def _pair_text(self, c, base, other):
        if math.isnan(c.estimate):
            return f"{base}/{other}: no rounds with both designs"
        if c.low > 1:
            verdict = f"--lock {other} faster"
        elif c.high < 1:
            verdict = f"--lock {base} faster"
        elif c.verdict == sequential.EQUIVALENT:
            verdict = f"no change beyond {_pct(self.precision)}"
        else:
            verdict = "no clear change"
        near = sequential.within(c.estimate, c.low, c.high, self.precision)
        return (f"{verdict}: {base}/{other} median opavg ratio {c.estimate:#.3g}x, "
                f"95% confidence sequence "
                f"{sequential.fmt_interval(c.low, c.high)} "
                f"({'narrower' if near else 'wider'} than "
                f"{_pct(self.precision)})")

    def __call__(self, points) -> bool:
        self.rounds += 1
        self.decided = all(self.state(g)[0] for g in self.groups)
        return self.decided

    def lines(self, why: str) -> List[str]:
        """Why the run stopped (why: "decided", "max" or "interrupted"),
        after how many samples and seconds, and where each group stands:
        one line for one group, a line more for each of several."""
        points = {id(p): p for g in self.groups for p in g[:2]}
        n = sum(len(p.rows) for p in points.values())
        took = f"{n} sample{'s' * (n != 1)}, {time.monotonic() - self.start:.0f} s"
        rounds = f"{self.rounds} round{'s' * (self.rounds != 1)}"
        head = {"decided": f"stopped after {rounds} ({took}): decided",
                "max": f"reached --max-samples {self.max_rounds} ({took})",
                "interrupted": f"interrupted after {rounds} ({took})",
                }[why]
        states = [self.state(g)[1] for g in self.groups]
        if len(states) == 1:
            return [f"--nsamples auto: {head}: {states[0]}"]
        return [f"--nsamples auto: {head}"] + [
            f"  {_label(g)}: {s}" for g, s in zip(self.groups, states)]


def _label(group):
    """How a line names a group: its points' progress tags."""
    return " against ".join(p.tag or str(p.params.get("lock", ""))
                            for p in group[:2])
