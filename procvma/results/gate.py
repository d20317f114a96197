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
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from procvma import vocab
from procvma.results.fmt import fmt_change_ci, fmt_ci, fmt_ms, fmt_pct, fmt_ratio
from procvma.results import schema, stats
from procvma.results.compare import (
    METRIC_LABELS, BadInput, auto_rows, config_groups, config_table, describe, varying,
    wrap
)

# Statuses of a check.
OK = "ok"
FAIL = "FAIL"
INCONCLUSIVE = "inconclusive"

# The gate's verdicts, and the exit status of each.
PASS_VERDICT = "PASS"
ALLOWED_VERDICT = "PASS, inconclusive allowed"
FAIL_VERDICT = "FAIL"
INCONCLUSIVE_VERDICT = "INCONCLUSIVE"

# Past this many samples a side, "about N would decide" says nothing useful.
MOST_SAMPLES = 1000

if TYPE_CHECKING:
    import pandas as pd


def classify(ci: Tuple[float, float], holds, enough: bool = True) -> str:
    """The one verdict rule of every check: OK when the whole interval
    satisfies the check (both its ends do: every check is a bound on a
    ratio), FAIL when the whole interval violates it, INCONCLUSIVE when
    it spans the bound, is not known, or rests on too few samples."""
    lo, hi = ci
    if not enough or math.isnan(lo) or math.isnan(hi):
        return INCONCLUSIVE
    ends = holds(lo), holds(hi)
    return OK if all(ends) else FAIL if not any(ends) else INCONCLUSIVE


def samples_to_decide(n: int, ratio: float, ci: Tuple[float, float],
                      bound: float, sequential: bool = False):
    """About how many samples a side would move an interval that spans
    bound off it, if the samples spread as these do: the interval narrows
    as 1/sqrt(n) around the ratio (on a log scale, where it is about
    symmetric); no fewer than a side needs to decide anything.  None when
    the ratio sits on the bound, or the interval has no scale yet."""
    from procvma.results import sequential as seq

    fewest = seq.fewest_bounded(stats.ALPHA / 2) if sequential \
        else stats.MIN_SAMPLES
    lo, hi = ci
    if not (lo > 0 and math.isfinite(hi) and ratio > 0):
        return fewest if n < fewest else None
    est = math.log(ratio)
    half = max(math.log(hi) - est, est - math.log(lo))
    dist = abs(est - math.log(bound))
    if dist == 0 or not math.isfinite(half):
        return None
    return max(fewest, n + 1, math.ceil(n * (half / dist) ** 2))


def undecided(n_a: int, n_b: int) -> str:
    return (f"too few samples ({n_a} and {n_b}): at least "
            f"{stats.MIN_SAMPLES} a side are needed to decide")


def would_decide(needed) -> str:
    return ("more samples would decide" if needed is None or needed > MOST_SAMPLES
            else f"about {needed} samples a side would decide")


def interval_name(sequential: bool) -> str:
    return "confidence sequence" if sequential else "CI"


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

    def needed(self):
        """About how many samples a side would decide (inconclusive rows)."""
        return samples_to_decide(max(self.n_ref, self.n_cur), self.ratio,
                                 self.ci, self.bound, self.sequential)

    def reason(self) -> str:
        figures = (f"{METRIC_LABELS[self.metric]} median "
                   f"{fmt_ms(self.median_ref)} -> {fmt_ms(self.median_cur)}"
                   f" ms ({fmt_pct(self.change)}, 95% "
                   f"{interval_name(self.sequential)} "
                   f"{fmt_change_ci(self.ci)})")
        allowed = fmt_pct(self.bound - 1)
        if self.status == FAIL:
            return f"{figures}: slower by more than {allowed}"
        if self.status == OK:
            return figures
        if not self.sequential and not stats.enough(self.n_ref, self.n_cur):
            return f"{METRIC_LABELS[self.metric]}: " + undecided(
                self.n_ref, self.n_cur)
        return (f"{figures}: cannot rule out {allowed}; "
                f"{would_decide(self.needed())}")


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
            ci = seq.low, seq.high
        else:
            ci = stats.ratio_interval(vr, vc)
        status = classify(ci, lambda v: v <= bound,
                          auto or stats.enough(len(vr), len(vc)))
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

    def needed(self):
        """About how many samples a side would decide (inconclusive rows)."""
        return samples_to_decide(max(self.n_num, self.n_den), self.ratio,
                                 self.ci, self.requirement.bound,
                                 self.sequential)

    def reason(self, metric) -> str:
        if self.status == INCONCLUSIVE and not self.sequential and \
                not stats.enough(self.n_num, self.n_den):
            return f"{self.requirement}: " + undecided(self.n_num, self.n_den)
        text = (f"{self.requirement}: {METRIC_LABELS[metric]} ratio "
                f"{fmt_ratio(self.ratio)}, 95% "
                f"{interval_name(self.sequential)} {fmt_ci(self.ci)}")
        if self.status == INCONCLUSIVE:
            return (f"{text}: spans {self.requirement.bound:g}; "
                    f"{would_decide(self.needed())}")
        return text


def requirement_values(df: pd.DataFrame, req: Requirement, metric: str):
    """(numerator's values, denominator's, their seeds or ()) of one
    configuration's rows, each in the order measured."""
    num = df.loc[df["lock"] == req.num, metric].dropna()
    den = df.loc[df["lock"] == req.den, metric].dropna()
    keep = df[metric].notna()
    seeds = tuple(df.loc[(df["lock"] == d) & keep, "seed"].tolist()
                  for d in (req.den, req.num)) if "seed" in df else ()
    return num, den, seeds


def check_requirement(cur: pd.DataFrame, req: Requirement,
                      metric: str) -> List[RequireRow]:
    """One row per configuration of CUR measured under both designs."""
    rows = []
    for group, df in config_groups(cur, REQUIRE_KEY).items():
        num, den, seeds = requirement_values(df, req, metric)
        if num.empty or den.empty:
            continue
        ratio = stats.ratio(stats.median(num), stats.median(den))
        auto = auto_rows(df)
        if auto:
            # A --nsamples auto run: the confidence sequence, its rounds
            # paired when the designs' seeds say they ran in rounds.
            seq = stats.sequential_ratio(den, num, *seeds)
            ci = (seq.low, seq.high)
        else:
            ci = stats.ratio_interval(den, num)
        status = classify(ci, req.holds,
                          auto or stats.enough(len(num), len(den)))
        rows.append(RequireRow(req, dict(zip(REQUIRE_KEY, group)), len(num),
                               len(den), stats.median(num),
                               stats.median(den), ratio, ci, status, auto))
    return rows


# The whole gate: compute, then render as text or JSON ----------------------

def interval_header(rows) -> str:
    """A table's interval column: CI, or CS for a confidence sequence."""
    return "95% CS" if any(r.sequential for r in rows) else "95% CI"


def render_gate(rows: Sequence[GateRow]) -> str:
    return config_table(
        [r.config for r in rows],
        ["metric", "n_ref", "n_cur", "median_ref", "median_cur", "change",
         interval_header(rows), "status"],
        [[METRIC_LABELS[r.metric], r.n_ref, r.n_cur, fmt_ms(r.median_ref),
          fmt_ms(r.median_cur), fmt_pct(r.change), fmt_change_ci(r.ci),
          r.status] for r in rows])


def render_require(rows: Sequence[RequireRow], metric: str) -> str:
    return config_table(
        [r.config for r in rows],
        ["metric", f"n_{rows[0].requirement.num}",
         f"n_{rows[0].requirement.den}", "median_num", "median_den",
         "ratio", interval_header(rows), "status"],
        [[METRIC_LABELS[metric], r.n_num, r.n_den, fmt_ms(r.median_num),
          fmt_ms(r.median_den), fmt_ratio(r.ratio), fmt_ci(r.ci), r.status]
         for r in rows])


def where(config: Dict, rows_configs: Sequence[Dict]) -> str:
    """How a summary line names a configuration: by what varies."""
    vary = varying(rows_configs)
    return describe({k: config[k] for k in vary}) or "all samples"


@dataclass
class Check:
    """One check's part of the verdict: what it says (heading lines), its
    table, and its rows with the summary line of each."""
    kind: str                       # "regression" | "require"
    heading: List[str]
    table: str
    rows: list                      # GateRow | RequireRow
    lines: List[str]                # one per row: where, then why
    requirement: Optional[Requirement] = None


@dataclass
class GateResult:
    """Everything the gate found: its checks, the failed and undecided
    lines, the verdict and its exit status (0 pass, 1 fail, 3
    inconclusive), and for an undecided gate, what would decide it."""
    metric: str
    max_regression: Optional[float]
    sides: List[str]                # "CUR: file: N samples, ..." lines
    checks: List[Check]
    failures: List[str]
    unsure: List[str]
    verdict: str
    exit_status: int
    advice: str = ""


def evaluate(reference: Optional[str], current: str, metric: str,
             max_regression: float, requirements: Sequence[Requirement],
             allow_inconclusive: bool = False, include_hangs: bool = False,
             inconclusive_status: int = 3) -> GateResult:
    """Read the files and run every check; BadInput on input that cannot
    be judged."""
    from procvma.results import machines
    from procvma.results.compare import Side, no_common_config
    from procvma.results.csvio import read_results

    if reference is None and not requirements:
        raise BadInput("nothing to check: give --reference REF.csv, "
                       "--require EXPR, or both")
    cur = Side.of("CUR", current, read_results([current]), include_hangs)
    ref = None if reference is None else Side.of(
        "REF", reference, read_results([reference]), include_hangs)
    # A verdict is about one machine: a side pooled over two would judge
    # neither, and which of its machines to keep is not ours to choose.
    for side in (ref, cur):
        why = side and machines.one_machine(side.what, side.all_rows)
        if why:
            raise BadInput(why)
    label = METRIC_LABELS[metric]
    checks, failures = [], []
    if ref is not None:
        rows = gate_frames(ref.rows, cur.rows, metric, max_regression)
        if not rows:
            raise BadInput(no_common_config(reference, ref.rows, current,
                                            cur.rows))
        configs = [r.config for r in rows]
        checks.append(Check("regression", [
            f"regression: the {label} median may grow by at most "
            f"{max_regression * 100:g}%: a check passes when the whole "
            f"{stats.CONFIDENCE:.0%} interval of CUR/REF is within that, "
            f"fails when it is all past it."], render_gate(rows), rows,
            [f"{where(r.config, configs)}: {r.reason()}" for r in rows]))
    for req in requirements:
        rows = check_requirement(cur.rows, req, metric)
        if not rows:
            failures.append(f"{req}: no configuration in {current} was "
                            f"measured with both lock={req.num} and "
                            f"lock={req.den}")
            continue
        configs = [r.config for r in rows]
        checks.append(Check("require", [
            f"require {req} on {label} medians: holds when the ratio's whole "
            f"{stats.CONFIDENCE:.0%} interval does, fails when none of it "
            f"does."], render_require(rows, metric), rows,
            [f"{where(r.config, configs)}: {r.reason(metric)}" for r in rows],
            req))
    unsure, needed = [], []
    for check in checks:
        for r, line in zip(check.rows, check.lines):
            if r.status == FAIL:
                failures.append(line)
            elif r.status == INCONCLUSIVE:
                unsure.append(line)
                needed.append(r.needed())
    advice = ""
    if failures:
        verdict, status = FAIL_VERDICT, 1
    elif unsure and allow_inconclusive:
        verdict, status = ALLOWED_VERDICT, 0
    elif unsure:
        verdict, status = INCONCLUSIVE_VERDICT, inconclusive_status
        most = None if None in needed else max(needed)
        advice = (f"measure again: {would_decide(most)}, or pass "
                  f"--allow-inconclusive")
    else:
        verdict, status = PASS_VERDICT, 0
    return GateResult(metric, None if ref is None else max_regression,
                      [s.describe() for s in (ref, cur) if s is not None],
                      checks, failures, unsure, verdict, status, advice)


def render_text(result: GateResult) -> str:
    """The gate's report as a person reads it."""
    out = [wrap(line) for line in result.sides]
    for check in result.checks:
        out += [wrap(line, indent="") for line in check.heading]
        out += [check.table, ""]
    listed = result.failures + result.unsure if result.failures \
        else result.unsure
    count = len(result.failures) if result.failures else len(result.unsure)
    out.append(f"gate: {result.verdict}" + (f" ({count})" if count else ""))
    out += [wrap(f"  {line}", indent="    ") for line in listed]
    if result.advice:
        out.append(wrap(f"  {result.advice}", indent="    "))
    return "\n".join(out)


def _number(v):
    """A figure for JSON: None for NaN or an unbounded end."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return v
    return v if math.isfinite(v) else None


def _plain(v):
    """A configuration value as JSON holds it."""
    if hasattr(v, "item"):
        v = v.item()
    return _number(v) if isinstance(v, float) else v


def to_json(result: GateResult) -> Dict:
    """The same figures and verdict as render_text, as one document."""
    checks = []
    for check in result.checks:
        for r, line in zip(check.rows, check.lines):
            item = {"check": check.kind,
                    "config": {k: _plain(v) for k, v in r.config.items()},
                    "metric": METRIC_LABELS[result.metric],
                    "interval": interval_name(r.sequential),
                    "ratio": _number(r.ratio),
                    "low": _number(r.ci[0]), "high": _number(r.ci[1]),
                    "status": r.status, "reason": line}
            if check.kind == "regression":
                item.update(n_ref=r.n_ref, n_cur=r.n_cur,
                            median_ref_ms=_number(r.median_ref),
                            median_cur_ms=_number(r.median_cur),
                            bound=_number(r.bound))
            else:
                item.update(requirement=str(r.requirement), n_num=r.n_num,
                            n_den=r.n_den,
                            median_num_ms=_number(r.median_num),
                            median_den_ms=_number(r.median_den),
                            bound=_number(r.requirement.bound))
            checks.append(item)
    return {"verdict": result.verdict, "exit_status": result.exit_status,
            "metric": METRIC_LABELS[result.metric],
            "max_regression": _number(result.max_regression)
            if result.max_regression is not None else None,
            "sides": result.sides, "checks": checks,
            "failures": result.failures, "inconclusive": result.unsure,
            "advice": result.advice}


def requirements_callback(ctx, param, values):
    try:
        return [parse_requirement(v) for v in values]
    except ValueError as e:
        raise BadInput(str(e)) from None
