# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma compare: has anything changed between two runs, and is it more than noise?"""

import click

from procvma.cli import options
from procvma.cli.common import baseline_option, echo_json, json_option
from procvma.results.compare import (
    BY_ORDER, BadInput, compare_two, compare_within, comparison_json,
    include_hangs_option, render_comparison)


@click.command("compare")
@click.argument("files", metavar="A.csv [B.csv]", nargs=-1, required=True,
                type=click.Path(dir_okay=False))
@click.option("--by", type=click.Choice(sorted(BY_ORDER)),
              help="Compare within one file: each value of this column "
                   "against the first (lock: every design against "
                   "--baseline).")
@click.option("--metric", "metrics", multiple=True, default=("opavg", "opmax"),
              show_default=True, type=options.Metric(),
              help=f"Figures whose medians are compared, {options.METRIC_HELP}; "
                   "repeatable.")
@baseline_option
@json_option
@include_hangs_option
def compare_cmd(files, by, metrics, baseline, as_json, include_hangs):
    """Compare two results files, configuration by configuration, or the
    values of one column within one file (--by).

    A configuration is every option that defines the experiment (backend,
    lock, procfile, scanner, CPUs, tasks, busyduration, duration, region
    size, holes, cost knobs); rows that differ in any of them are never
    paired, and two files that share none are an error naming what
    differs.  Rows of different machines (host, kernel or CPU model) are
    never pooled into one side: a file holding several is compared one
    machine at a time, a table each, and says so.  Each side names its
    runs' --label.
    For each pair: the medians of METRIC (ms), the ratio B/A with its 95%
    confidence interval, the Mann-Whitney U p-value (two-sided) and a
    verdict: B faster or slower (p < 0.05), no change, or too few samples
    (under 4 a side) to tell.
    """
    from procvma.results.csvio import read_results

    metrics = tuple(dict.fromkeys(metrics))
    if by:
        if len(files) != 1:
            raise BadInput(f"--by {by} compares within one file; got "
                           f"{len(files)}")
        found = compare_within(files[0], read_results([files[0]]), by,
                               metrics, include_hangs, baseline)
    else:
        if len(files) != 2:
            raise BadInput(f"give two results files (or one with --by); "
                           f"got {len(files)}")
        a, b = files
        found = compare_two(a, read_results([a]), b, read_results([b]),
                            metrics, include_hangs)
    if as_json:
        echo_json(comparison_json(found))
    else:
        click.echo(render_comparison(found), nl=False)
