# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma gate: a CI verdict on median mmap()/munmap() latency.

Two checks, either or both, each on the ratio of two medians and its 95%
confidence interval (procvma/results/stats.py):

 * regression: CUR against a reference run REF.  A configuration passes
   when the whole interval of CUR/REF lies within --max-regression, fails
   when the whole interval lies past it, and is inconclusive when the
   interval straddles it: the gate never passes a regression it cannot
   rule out.

 * --require 'mmap/vma>=10': inside CUR alone, for each configuration
   measured in both designs, the ratio of the designs' medians.  Absolute
   latencies move from machine to machine; this ratio is what the per-VMA
   reading design is for, and it should hold anywhere.  It holds when the
   interval's far end does.

Too few samples to decide (fewer than stats.MIN_SAMPLES a side) is
inconclusive too.  Exit 0: all checks pass.  Exit 1: a check failed.
Exit 2: bad input.  Exit 3: inconclusive, unless --allow-inconclusive.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Sequence, Tuple

from procvma import vocab
from procvma.results.fmt import fmt_change_ci, fmt_ci, fmt_ms, fmt_pct, fmt_ratio
from procvma.results import schema, stats
from procvma.results.compare import (
    METRIC_LABELS, BadInput, auto_rows, config_groups, config_table, describe, varying
)

# Statuses of a check.
OK = "ok"
FAIL = "FAIL"
INCONCLUSIVE = "inconclusive"

# Past this many samples a side, "about N would decide" says nothing useful.
MOST_SAMPLES = 1000

if TYPE_CHECKING:
    import pandas as pd


def parse_percent(text: str) -> float:
    """'25%' or '25' -> 0.25."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*%?\s*", text)
    if not m:
        raise ValueError(f"not a percentage: {text!r} (expected e.g. 25%)")
    return float(m.group(1)) / 100


def samples_to_decide(n: int, ratio: float, ci: Tuple[float, float],
                      bound: float):
    """About how many samples a side would move an interval that straddles
    bound off it, if the samples spread as these do: the interval narrows
    as 1/sqrt(n) around the ratio (on a log scale, where it is about
    symmetric).  None when the ratio sits on the bound."""
    lo, hi = ci
    if not (lo > 0 and math.isfinite(hi) and ratio > 0):
        return None     # an interval not yet bounded: no scale to go by
    est = math.log(ratio)
    half = max(math.log(hi) - est, est - math.log(lo))
    dist = abs(est - math.log(bound))
    if dist == 0 or not math.isfinite(half):
        return None
    return max(stats.MIN_SAMPLES, n + 1, math.ceil(n * (half / dist) ** 2))


def undecided(n_a: int, n_b: int) -> str:
    return (f"too few samples ({n_a} and {n_b}): at least "
            f"{stats.MIN_SAMPLES} a side are needed to decide")


@dataclass(frozen=True)
class GateRow:
    config: Dict
    metric: str
    n_ref: int
    n_cur: int
    median_ref: float
    median_cur: float
    ratio: float                # median_cur / median_ref
    ci: Tuple[float, float]
    bound: float                # 1 + max_regression
    status: str
    sequential: bool = False    # ci is the confidence sequence (auto rows)

    @property
    def change(self) -> float:
        return self.ratio - 1

    def reason(self) -> str:
        figures = (f"{METRIC_LABELS[self.metric]} median "
                   f"{fmt_ms(self.median_ref)} -> {fmt_ms(self.median_cur)}"
                   f" ms ({fmt_pct(self.change)}, 95% "
                   f"{'confidence sequence' if self.sequential else 'CI'} "
                   f"{fmt_change_ci(self.ci)})")
        allowed = fmt_pct(self.bound - 1)
        if self.status == FAIL:
            return f"{figures}: slower by more than {allowed}"
        if self.status == OK:
            return figures
        if not stats.enough(self.n_ref, self.n_cur):
            return f"{METRIC_LABELS[self.metric]}: " + undecided(
                self.n_ref, self.n_cur)
        n = samples_to_decide(max(self.n_ref, self.n_cur), self.ratio,
                              self.ci, self.bound)
        more = ("more samples would decide" if n is None or n > MOST_SAMPLES
                else f"about {n} samples a side would decide")
        return f"{figures}: cannot rule out {allowed}; {more}"


def gate_frames(ref: pd.DataFrame, cur: pd.DataFrame, metric: str,
                max_regression: float) -> List[GateRow]:
    """One row per configuration present in both REF and CUR."""
    groups_ref, groups_cur = config_groups(ref), config_groups(cur)
    bound = 1 + max_regression
    rows = []
    for config in sorted(groups_ref.keys() & groups_cur.keys(), key=str):
        vr = groups_ref[config][metric].dropna()
        vc = groups_cur[config][metric].dropna()
        ratio = stats.ratio(stats.median(vc), stats.median(vr))
        auto = auto_rows(groups_ref[config], groups_cur[config])
        if auto:
            # An optional stop chose how many samples there are: only the
            # confidence sequence is valid at it.
            seq = stats.sequential_ratio(vr, vc)
            lo, hi = ci = seq.low, seq.high
        else:
            lo, hi = ci = stats.ratio_interval(vr, vc)
        if math.isnan(lo) or math.isnan(hi) or math.isnan(ratio):
            status = INCONCLUSIVE
        elif hi <= bound:
            status = OK
        elif lo > bound:
            status = FAIL
        else:
            status = INCONCLUSIVE
        rows.append(GateRow(dict(zip(schema.CONFIG_KEY, config)), metric,
                            len(vr), len(vc), stats.median(vr),
                            stats.median(vc), ratio, ci, bound, status, auto))
    return rows


# --require ------------------------------------------------------------------

DESIGNS = tuple(vocab.LOCK)
_COMPARATORS = {">=": operator.ge, ">": operator.gt,
                "<=": operator.le, "<": operator.lt}
_REQUIRE_RE = re.compile(
    r"\s*(\w+)\s*/\s*(\w+)\s*(>=|<=|>|<)\s*"
    r"([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)\s*")

# A requirement compares designs within one configuration of everything else.
REQUIRE_KEY = [c for c in schema.CONFIG_KEY if c != "lock"]


@dataclass(frozen=True)
class Requirement:
    num: str        # design (lock) in the numerator
    den: str        # design in the denominator
    op: str
    bound: float

    def __str__(self):
        return f"{self.num}/{self.den}{self.op}{self.bound:g}"

    def holds(self, value: float) -> bool:
        return not math.isnan(value) and _COMPARATORS[self.op](value,
                                                               self.bound)

    def far_end(self, ci: Tuple[float, float]) -> float:
        """The end of the interval on the failing side of the bound: the
        low end for a lower bound (>=, >), the high end for an upper one."""
        return ci[0] if self.op in (">=", ">") else ci[1]


def parse_requirement(text: str) -> Requirement:
    """'mmap/vma>=10' -> Requirement; ValueError names what is wrong."""
    m = _REQUIRE_RE.fullmatch(text)
    if not m:
        raise ValueError(f"bad --require {text!r}: expected DESIGN/DESIGN"
                         f"(>=|>|<=|<)NUMBER, e.g. 'mmap/vma>=10'")
    num, den, op, bound = m.groups()
    for design in (num, den):
        if design not in DESIGNS:
            raise ValueError(f"bad --require {text!r}: unknown design "
                             f"{design!r} (one of {', '.join(DESIGNS)})")
    if num == den:
        raise ValueError(f"bad --require {text!r}: compares {num!r} with "
                         f"itself")
    return Requirement(num, den, op, float(bound))


@dataclass(frozen=True)
class RequireRow:
    requirement: Requirement
    config: Dict            # values of REQUIRE_KEY
    n_num: int
    n_den: int
    median_num: float
    median_den: float
    ratio: float
    ci: Tuple[float, float]
    status: str
    sequential: bool = False    # ci is the confidence sequence (auto rows)

    def reason(self, metric) -> str:
        if self.status == INCONCLUSIVE and not stats.enough(self.n_num,
                                                            self.n_den):
            return f"{self.requirement}: " + undecided(self.n_num, self.n_den)
        if self.status == INCONCLUSIVE:
            return (f"{self.requirement}: {METRIC_LABELS[metric]} ratio "
                    f"{fmt_ratio(self.ratio)}, 95% confidence sequence "
                    f"{fmt_ci(self.ci)}: the samples do not decide")
        return (f"{self.requirement}: {METRIC_LABELS[metric]} ratio "
                f"{fmt_ratio(self.ratio)}, 95% CI {fmt_ci(self.ci)}")


def check_requirement(cur: pd.DataFrame, req: Requirement,
                      metric: str) -> List[RequireRow]:
    """One row per configuration of CUR measured under both designs."""
    rows = []
    for group, df in config_groups(cur, REQUIRE_KEY).items():
        num = df.loc[df["lock"] == req.num, metric].dropna()
        den = df.loc[df["lock"] == req.den, metric].dropna()
        if num.empty or den.empty:
            continue
        ratio = stats.ratio(stats.median(num), stats.median(den))
        auto = auto_rows(df)
        if auto:
            # A --nsamples auto run: the confidence sequence, its rounds
            # paired when the designs' seeds say they ran in rounds.
            keep = df[metric].notna()
            seeds = [df.loc[(df["lock"] == d) & keep, "seed"].tolist()
                     for d in (req.den, req.num)] if "seed" in df else ()
            seq = stats.sequential_ratio(den, num, *seeds)
            ci = (seq.low, seq.high)
            near_end = ci[1] if req.op in (">=", ">") else ci[0]
            status = (OK if req.holds(req.far_end(ci)) else
                      FAIL if not req.holds(near_end) else INCONCLUSIVE)
        else:
            ci = stats.ratio_interval(den, num)
            status = (INCONCLUSIVE if not stats.enough(len(num), len(den))
                      else OK if req.holds(req.far_end(ci)) else FAIL)
        rows.append(RequireRow(req, dict(zip(REQUIRE_KEY, group)), len(num),
                               len(den), stats.median(num),
                               stats.median(den), ratio, ci, status, auto))
    return rows


# The command ----------------------------------------------------------------

def render_gate(rows: Sequence[GateRow]) -> str:
    return config_table(
        [r.config for r in rows],
        ["metric", "n_ref", "n_cur", "median_ref", "median_cur", "change",
         "95% CI", "status"],
        [[METRIC_LABELS[r.metric], r.n_ref, r.n_cur, fmt_ms(r.median_ref),
          fmt_ms(r.median_cur), fmt_pct(r.change), fmt_change_ci(r.ci),
          r.status] for r in rows])


def render_require(rows: Sequence[RequireRow], metric: str) -> str:
    return config_table(
        [r.config for r in rows],
        ["metric", f"n_{rows[0].requirement.num}",
         f"n_{rows[0].requirement.den}", "median_num", "median_den",
         "ratio", "95% CI", "status"],
        [[METRIC_LABELS[metric], r.n_num, r.n_den, fmt_ms(r.median_num),
          fmt_ms(r.median_den), fmt_ratio(r.ratio), fmt_ci(r.ci), r.status]
         for r in rows])


def where(config: Dict, rows_configs: Sequence[Dict]) -> str:
    """How a summary line names a configuration: by what varies."""
    vary = varying(rows_configs)
    return describe({k: config[k] for k in vary}) or "all samples"


def _percent(ctx, param, value):
    try:
        return parse_percent(value)
    except ValueError as e:
        raise BadInput(f"--max-regression: {e}") from None


def _requirements(ctx, param, values):
    try:
        return [parse_requirement(v) for v in values]
    except ValueError as e:
        raise BadInput(str(e)) from None
