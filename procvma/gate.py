# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma gate: a CI verdict on median mmap()/munmap() latency.

Two checks, either or both:

 * regression: CUR against a reference run REF.  A configuration fails
   when its median got worse by more than --max-regression *and* a
   one-sided Mann-Whitney U test says CUR is really slower -- a threshold
   alone fails on noise, a test alone fails on harmless differences.

 * --require 'mmap/vma>=10': inside CUR alone, for each configuration
   measured in both designs, the ratio of the designs' medians.  Absolute
   latencies move from machine to machine; this ratio is what the per-VMA
   reading design is for, and it should hold anywhere.

Exit 0: all checks pass.  Exit 1: a check failed.  Exit 2: bad input.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import click
import pandas as pd

from procvma import schema, stats
from procvma.compare import (CONFIG_HEADINGS, BadInput, config_cells,
                             config_groups, describe, fmt_ms, fmt_ratio,
                             fmt_value, format_table)

GATE_METRICS = ("opavg_ms", "opmax_ms")

# Statuses of a regression row.
OK = "ok"
FAIL = "FAIL"
UNSURE = "unsure"   # worse than the threshold, but too few samples to tell


@dataclass(frozen=True)
class GateRow:
    config: Tuple
    metric: str
    n_ref: int
    n_cur: int
    median_ref: float
    median_cur: float
    change: float               # median_cur / median_ref - 1
    significance: stats.Significance
    status: str

    @property
    def note(self) -> str:
        if self.status == FAIL:
            return (f"slower by {fmt_pct(self.change)}, "
                    f"p={self.significance.pvalue_text()}")
        if self.status == UNSURE:
            return "over the threshold, but too few samples to tell"
        if self.change > 0 and self.significance.verdict != stats.SIGNIFICANT:
            return self.significance.verdict
        return ""


def fmt_pct(value: float) -> str:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "+inf%"
    return f"{value * 100:+.1f}%"


def parse_percent(text: str) -> float:
    """'25%' or '25' -> 0.25."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*%?\s*", text)
    if not m:
        raise ValueError(f"not a percentage: {text!r} (expected e.g. 25%)")
    return float(m.group(1)) / 100


def gate_frames(ref: pd.DataFrame, cur: pd.DataFrame, metric: str,
                max_regression: float,
                alpha: float = stats.ALPHA) -> List[GateRow]:
    """One row per configuration present in both REF and CUR."""
    groups_ref, groups_cur = config_groups(ref), config_groups(cur)
    rows = []
    for config in sorted(groups_ref.keys() & groups_cur.keys(), key=str):
        vr = groups_ref[config][metric].dropna()
        vc = groups_cur[config][metric].dropna()
        mr, mc = stats.median(vr), stats.median(vc)
        change = stats.ratio(mc, mr) - 1
        # One-sided: only "CUR is slower" can fail a gate.
        sig = stats.mann_whitney(vr, vc, alternative="greater", alpha=alpha)
        if math.isnan(change) or change <= max_regression:
            status = OK
        elif sig.significant:
            status = FAIL
        elif sig.verdict == stats.TOO_FEW:
            status = UNSURE
        else:
            status = OK
        rows.append(GateRow(config, metric, len(vr), len(vc), mr, mc,
                            change, sig, status))
    return rows


# --require ------------------------------------------------------------------

DESIGNS = ("mmap", "vma")
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
    group: Tuple            # values of REQUIRE_KEY
    median_num: float
    median_den: float
    ratio: float
    ok: bool


def check_requirement(cur: pd.DataFrame, req: Requirement,
                      metric: str) -> List[RequireRow]:
    """One row per configuration of CUR measured under both designs."""
    rows = []
    for group, df in cur.groupby(REQUIRE_KEY, sort=True, dropna=False):
        group = group if isinstance(group, tuple) else (group,)
        num = df.loc[df["lock"] == req.num, metric]
        den = df.loc[df["lock"] == req.den, metric]
        if num.dropna().empty or den.dropna().empty:
            continue
        mn, md = stats.median(num), stats.median(den)
        r = stats.ratio(mn, md)
        rows.append(RequireRow(req, group, mn, md, r, req.holds(r)))
    return rows


# The command ----------------------------------------------------------------

def render_gate(rows: Sequence[GateRow]) -> str:
    header = [CONFIG_HEADINGS[c] for c in schema.CONFIG_KEY] + [
        "metric", "n_ref", "n_cur", "median_ref", "median_cur", "change",
        "p", "status", "note"]
    return format_table(header, (
        config_cells(r.config) + [
            r.metric, r.n_ref, r.n_cur, fmt_ms(r.median_ref),
            fmt_ms(r.median_cur), fmt_pct(r.change),
            r.significance.pvalue_text(), r.status, r.note]
        for r in rows))


def render_require(rows: Sequence[RequireRow], metric: str) -> str:
    header = ["require"] + [CONFIG_HEADINGS[c] for c in REQUIRE_KEY] + [
        "metric", "median_num", "median_den", "ratio", "status"]
    return format_table(header, (
        [str(r.requirement)] + config_cells(r.group) + [
            metric, fmt_ms(r.median_num), fmt_ms(r.median_den),
            fmt_ratio(r.ratio), OK if r.ok else FAIL]
        for r in rows))


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


@click.command("gate")
@click.option("--reference", "reference", metavar="REF.csv",
              type=click.Path(dir_okay=False),
              help="Reference run to check CUR against.")
@click.option("--current", "current", metavar="CUR.csv", required=True,
              type=click.Path(dir_okay=False), help="The run being judged.")
@click.option("--metric", type=click.Choice(GATE_METRICS),
              default="opavg_ms", show_default=True,
              help="Per-sample figure whose median is gated.")
@click.option("--max-regression", "max_regression", default="25%",
              show_default=True, callback=_percent,
              help="Allowed slow-down of a configuration's median before a "
                   "significant one fails the gate.")
@click.option("--require", "requirements", multiple=True,
              metavar="'mmap/vma>=10'", callback=_requirements,
              help="Ratio of the two designs' medians inside CUR, for every "
                   "configuration measured in both; repeatable.")
def gate_cmd(reference, current, metric, max_regression, requirements):
    """Fail (exit 1) when median latency regressed or a design ratio broke.

    With --reference: for each configuration in both REF and CUR, fail when
    CUR's median METRIC is worse than REF's by more than --max-regression
    and a one-sided Mann-Whitney U test finds CUR slower (p < 0.05).

    With --require: fail when, in CUR, the ratio of the medians of two
    designs does not hold, e.g. 'mmap/vma>=10': the mmap-lock design at
    least 10 times slower than per-VMA reading.

    Exit 0 when every check passes, 1 when one fails, 2 on bad input.
    """
    from procvma.csvio import read_results

    if reference is None and not requirements:
        raise BadInput("nothing to check: give --reference REF.csv, "
                       "--require EXPR, or both")
    cur = read_results([current])
    failures = []

    if reference is not None:
        ref = read_results([reference])
        rows = gate_frames(ref, cur, metric, max_regression)
        if not rows:
            raise BadInput(f"{reference} and {current} have no "
                           f"configuration in common")
        click.echo(f"regression: {current} against {reference}, "
                   f"{metric} median may grow by at most "
                   f"{max_regression * 100:g}% (significant at p < "
                   f"{stats.ALPHA:g})\n")
        click.echo(render_gate(rows))
        click.echo()
        for r in rows:
            if r.status == FAIL:
                failures.append(f"{describe(r.config)}: {r.metric} median "
                                f"{fmt_ms(r.median_ref)} -> "
                                f"{fmt_ms(r.median_cur)} ms "
                                f"({fmt_pct(r.change)}, p="
                                f"{r.significance.pvalue_text()})")
            elif r.status == UNSURE:
                click.echo(f"warning: {describe(r.config)}: "
                           f"{fmt_pct(r.change)} but too few samples "
                           f"({r.n_ref} vs {r.n_cur}) to call it a "
                           f"regression", err=True)

    for req in requirements:
        rows = check_requirement(cur, req, metric)
        if not rows:
            failures.append(f"{req}: no configuration in {current} was "
                            f"measured with both lock={req.num} and "
                            f"lock={req.den}")
            continue
        click.echo(f"require {req} on {metric} medians in {current}\n")
        click.echo(render_require(rows, metric))
        click.echo()
        for r in rows:
            if not r.ok:
                where = " ".join(f"{k}={fmt_value(v)}" for k, v in
                                 zip(REQUIRE_KEY, r.group))
                failures.append(f"{req}: {where}: ratio is "
                                f"{fmt_ratio(r.ratio)}")

    if failures:
        click.echo(f"gate: FAIL ({len(failures)})")
        for f in failures:
            click.echo(f"  {f}")
        click.get_current_context().exit(1)
    click.echo("gate: PASS")
