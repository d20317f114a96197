# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma compare: has anything changed between two runs, and is it more than noise?"""

import click

from procvma.cli import options
from procvma.results import machines, schema
from procvma.results.compare import (
    AUTO_LEGEND, BY_ORDER, LEGEND, BadInput, Side, by_values, compare_by,
    compare_frames, describe, include_hangs_option, no_common_config,
    only_in, render, wrap
)


@click.command("compare")
@click.argument("files", metavar="A.csv [B.csv]", nargs=-1, required=True,
                type=click.Path(dir_okay=False))
@click.option("--by", type=click.Choice(sorted(BY_ORDER)),
              help="Compare within one file: each value of this column "
                   "against the first (lock: mmap against vma).")
@click.option("--metric", "metrics", multiple=True, default=("opavg", "opmax"),
              show_default=True, type=options.Metric(),
              help=f"Figures whose medians are compared, {options.METRIC_HELP}; "
                   "repeatable.")
@include_hangs_option
def compare_cmd(files, by, metrics, include_hangs):
    """Compare two results files, configuration by configuration, or the
    values of one column within one file (--by).

    A configuration is every option that defines the experiment (backend,
    lock, procfile, scanner, CPUs, tasks, busyduration, duration, region
    size, holes, cost knobs); rows that differ in any of them are never
    paired, and two files that share none are an error naming what
    differs.  Rows of different machines (host, kernel or CPU model) are
    never pooled into one side: a file holding several is compared one
    machine at a time, a table each, and says so.
    For each pair: the medians of METRIC (ms), the ratio B/A with its 95%
    confidence interval, the Mann-Whitney U p-value (two-sided) and a
    verdict: B faster or slower (p < 0.05), no change, or too few samples
    (under 4 a side) to tell.
    """
    from procvma.results.csvio import read_results

    metrics = tuple(dict.fromkeys(metrics))

    # (heading, rows): one block per machine, or per pair of machines;
    # rows of two machines are never pooled into one side.
    blocks, notes = [], []
    if by:
        if len(files) != 1:
            raise BadInput(f"--by {by} compares within one file; got "
                           f"{len(files)}")
        df = read_results([files[0]])
        values = by_values(df, by)
        if len(values) < 2:
            raise BadInput(f"{files[0]}: only {by}={values[0]}; --by {by} "
                           f"needs two values to compare")
        sides = [Side.of("A" if i == 0 else "B", f"{by}={v} in {files[0]}",
                         df[df[by].astype(str) == v], include_hangs)
                 for i, v in enumerate(values)]
        if len(values) > 2:
            for s in sides[1:]:
                s.name = "B"
        import pandas as pd
        kept = pd.concat([s.rows for s in sides])
        parts = machines.split(kept)
        notes.append(machines.split_note(files[0], machines.split(df)))
        for m, part in parts:
            rows = compare_by(part, by, metrics)
            if rows:
                blocks.append((f"on {machines.describe(m)}:"
                               if len(parts) > 1 else "", rows))
        if not blocks:
            raise BadInput(f"{files[0]}: no configuration was measured "
                           f"with more than one {by}"
                           + (" on one machine" if len(parts) > 1 else ""))
    else:
        if len(files) != 2:
            raise BadInput(f"give two results files (or one with --by); "
                           f"got {len(files)}")
        a, b = files
        df_a, df_b = read_results([a]), read_results([b])
        sides = [Side.of("A", a, df_a, include_hangs),
                 Side.of("B", b, df_b, include_hangs)]
        parts_a, parts_b = (machines.split(s.rows) for s in sides)
        notes += [machines.split_note(a, machines.split(df_a)),
                  machines.split_note(b, machines.split(df_b))]
        several = len(parts_a) > 1 or len(parts_b) > 1
        for ma, rows_a in parts_a:
            for mb, rows_b in parts_b:
                rows = compare_frames(rows_a, rows_b, metrics)
                if rows:
                    blocks.append((f"A on {machines.describe(ma)}, B on "
                                   f"{machines.describe(mb)}:"
                                   if several else "", rows))
        if not blocks:
            raise BadInput(no_common_config(a, sides[0].rows, b, sides[1].rows))
    for s in sides:
        click.echo(wrap(s.describe()))
    for note in filter(None, notes):
        click.echo(wrap(note))
    for heading, rows in blocks:
        if heading:
            click.echo()
            click.echo(wrap(heading))
        click.echo(render(rows, by))
    click.echo()
    click.echo(wrap(LEGEND, indent=""))
    if any(r.auto for _, rows in blocks for r in rows):
        click.echo(wrap(AUTO_LEGEND, indent=""))
    if not by:
        for path, missing in ((a, only_in(df_a, df_b)),
                              (b, only_in(df_b, df_a))):
            for config in missing:
                click.echo(wrap(f"only in {path}: " + describe(
                    dict(zip(schema.CONFIG_KEY, config)))))
