# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma compare A.csv B.csv: has anything changed between two runs?

For every configuration measured in both files, the medians of the
per-sample opavg and opmax, their ratio B/A, and whether the difference is
significant (Mann-Whitney U) -- two runs always differ a little, and the
question a reader has is whether this difference is more than noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, List, Sequence, Tuple

import click
import pandas as pd

from procvma import schema, stats

COMPARE_METRICS = ("opavg_ms", "opmax_ms")

# Short headings for the configuration columns in tables.
CONFIG_HEADINGS = {
    "backend": "backend",
    "lock": "lock",
    "procfile": "procfile",
    "nbusycpus": "cpus",
    "nbusytasks": "tasks",
    "busyduration": "busy_ms",
}


class BadInput(click.ClickException):
    """Input that cannot be judged: a one-line error and exit 2, like a
    usage error but without click's usage banner."""
    exit_code = 2


@dataclass(frozen=True)
class CompareRow:
    config: Tuple               # values of schema.CONFIG_KEY, in order
    metric: str
    n_a: int
    n_b: int
    median_a: float
    median_b: float
    ratio: float                # median_b / median_a
    significance: stats.Significance

    @property
    def verdict(self) -> str:
        s = self.significance
        if not s.significant:
            return s.verdict
        return f"{s.verdict}: B {'slower' if self.ratio > 1 else 'faster'}"


def config_groups(df: pd.DataFrame) -> dict:
    """Rows of df by configuration: {config tuple: DataFrame}."""
    return {key if isinstance(key, tuple) else (key,): rows
            for key, rows in df.groupby(schema.CONFIG_KEY, sort=True,
                                        dropna=False)}


def compare_frames(a: pd.DataFrame, b: pd.DataFrame,
                   metrics: Sequence[str] = COMPARE_METRICS
                   ) -> List[CompareRow]:
    """One row per (configuration present in both, metric), in
    configuration order."""
    groups_a, groups_b = config_groups(a), config_groups(b)
    out = []
    for config in sorted(groups_a.keys() & groups_b.keys(), key=str):
        ra, rb = groups_a[config], groups_b[config]
        for metric in metrics:
            va, vb = ra[metric].dropna(), rb[metric].dropna()
            ma, mb = stats.median(va), stats.median(vb)
            out.append(CompareRow(config, metric, len(va), len(vb), ma, mb,
                                  stats.ratio(mb, ma),
                                  stats.mann_whitney(va, vb)))
    return out


def only_in(a: pd.DataFrame, b: pd.DataFrame) -> List[Tuple]:
    """Configurations of a that b lacks."""
    return sorted(config_groups(a).keys() - config_groups(b).keys(), key=str)


def fmt_ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def fmt_ratio(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


def fmt_value(v) -> str:
    """A configuration value as a user typed it: 2.0 -> '2'."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def config_cells(config: Tuple) -> List[str]:
    return [fmt_value(v) for v in config]


def format_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Plain columns: text left-aligned, numbers right-aligned."""
    rows = [list(map(str, r)) for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows))
              for i, h in enumerate(header)]

    def numeric(cell):
        try:
            float(cell.rstrip("x%"))
            return True
        except ValueError:
            return cell == "-"

    def line(cells, is_header=False):
        out = []
        for cell, w, col in zip(cells, widths, range(len(widths))):
            right = (not is_header and numeric(cell)) or \
                (is_header and rows and all(numeric(r[col]) for r in rows))
            out.append(cell.rjust(w) if right else cell.ljust(w))
        return "  ".join(out).rstrip()

    return "\n".join([line(header, True)] + [line(r) for r in rows])


def render(rows: Sequence[CompareRow]) -> str:
    header = [CONFIG_HEADINGS[c] for c in schema.CONFIG_KEY] + [
        "metric", "n_A", "n_B", "median_A", "median_B", "B/A", "p",
        "verdict"]
    return format_table(header, (
        config_cells(r.config) + [
            r.metric, r.n_a, r.n_b, fmt_ms(r.median_a), fmt_ms(r.median_b),
            fmt_ratio(r.ratio), r.significance.pvalue_text(), r.verdict]
        for r in rows))


def describe(config: Tuple) -> str:
    return " ".join(f"{k}={fmt_value(v)}"
                    for k, v in zip(schema.CONFIG_KEY, config))


@click.command("compare")
@click.argument("a", metavar="A.csv", type=click.Path(dir_okay=False))
@click.argument("b", metavar="B.csv", type=click.Path(dir_okay=False))
def compare_cmd(a, b):
    """Compare two results files, configuration by configuration.

    For each configuration (backend, lock, procfile, nbusycpus,
    nbusytasks, busyduration) measured in both A and B: the medians of the
    per-sample opavg and opmax (ms), the ratio B/A, the Mann-Whitney U
    p-value (two-sided) and a verdict: significant (p < 0.05), not
    significant, or too few samples to tell.
    """
    from procvma.csvio import read_results

    df_a, df_b = read_results([a]), read_results([b])
    rows = compare_frames(df_a, df_b)
    if not rows:
        raise BadInput(f"{a} and {b} have no configuration in common")
    click.echo(f"A: {a}\nB: {b}\n")
    click.echo(render(rows))
    for path, missing in ((a, only_in(df_a, df_b)), (b, only_in(df_b, df_a))):
        for config in missing:
            click.echo(f"only in {path}: {describe(config)}")
