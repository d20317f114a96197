# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma plot: the figure for a patch cover letter."""

import click

from procvma.results import machines
from procvma.results.compare import BadInput
from procvma.results.plot import check_writable, output_format, render


@click.command("plot")
@click.argument("csvs", nargs=-1, required=True, metavar="CSV...",
                type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, metavar="FILE.png|svg|pdf",
              help="Where to write the figure; its extension picks the "
                   "format.")
def plot_cmd(csvs, output):
    """Plot results files: sorted per-sample opmax and opavg, and the
    latency distribution, one line per configuration and file.

    Several CSVs are drawn over each other (line style tells the files
    apart), e.g. a run on the simulator and one on the real kernel.  Rows
    of different machines (host, kernel or CPU model) are never one line:
    each machine gets its own, and the command says so.
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
    try:
        render(frames, output, fmt)
    except OSError as e:
        raise BadInput(f"{output}: cannot write: {e.strerror or e}") \
            from None
    click.echo(f"wrote {output}")
