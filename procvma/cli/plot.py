# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma plot: the figure for a patch cover letter."""

import click

from procvma.results import machines
from procvma.cli import options
from procvma.results.compare import BadInput
from procvma.results.plot import check_writable, output_format, render


@click.command("plot")
@click.argument("csvs", nargs=-1, required=True, metavar="CSV...",
                type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, metavar="FILE.png|svg|pdf",
              help="Where to write the figure; its extension picks the "
                   "format.")
@click.option("--metric", "metrics", multiple=True, default=("opmax", "opavg"),
              show_default=True, type=options.Metric(),
              help=f"What each sorted panel draws, {options.METRIC_HELP}; "
                   f"repeatable.")
@click.option("--log/--linear", "log", default=None,
              help="The latency axes' scale, one for every panel. "
                   "(default log when a panel's lines span more than a "
                   "decade, else linear)")
def plot_cmd(csvs, output, metrics, log):
    """Plot results files: each METRIC per sample, sorted (a panel each),
    and the latency distribution, one line per configuration and file.

    Each file (each machine and --label in it) gets its own colour; the
    configurations within one file, their own line style.  The legend
    names what differs between the lines (kernel, design, label,
    options); what all share is said once above it.  Rows of different
    machines (host, kernel or CPU model) are never one line: each machine
    gets its own, and the command says so.  More than 8 lines (a grid of
    configurations) are drawn as a summary instead: one row per line, its
    median and its samples' range.
    """
    fmt = output_format(output)
    check_writable(output)
    from procvma.results.csvio import read_results

    frames = [(path, read_results([path])) for path in csvs]
    if all(df.empty for _, df in frames):
        raise BadInput("no samples to plot in " + ", ".join(csvs))
    for path, df in frames:
        note = machines.split_note(path, machines.split(df))
        if note:
            click.echo(note + "; one line per machine")
    metrics = tuple(dict.fromkeys(metrics))
    scale = None if log is None else "log" if log else "linear"
    try:
        render(frames, output, fmt, metrics, scale)
    except OSError as e:
        raise BadInput(f"{output}: cannot write: {e.strerror or e}") \
            from None
    click.echo(f"wrote {output}")
