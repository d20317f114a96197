# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma growth: how the stall grows with the address space."""

import click

from procvma.results.compare import BadInput
from procvma.results.growth import format_report, load_lines, render
from procvma.results.plot import check_writable, output_format


@click.command("growth")
@click.argument("csvs", nargs=-1, required=True, metavar="CSV...",
                type=click.Path(dir_okay=False))
@click.option("-o", "--output", metavar="FILE.png|svg|pdf",
              help="Also draw the figure there; its extension picks the format.")
def growth_cmd(csvs, output):
    """How the stall grows with the address space: results files of
    sweeps over region size and holes, e.g.

    \b
      procvma sweep --procfile smaps_rollup --busyduration 2 \\
          --mb 128,1024,8192 --csv grow.csv
      procvma sweep --procfile smaps_rollup --busyduration 2 \\
          --mb 1024 --holes 100,1000,10000 --csv grow.csv
      procvma growth grow.csv -o grow.png

    prints, per design, the median opavg and p99 at each region size and
    hole count, the scanner's walk time per resident page, and the
    exponent k of opavg ~ size^k."""
    fmt = output_format(output) if output else None
    if output:
        check_writable(output)
    from procvma.results.csvio import read_results

    lines = load_lines(read_results(list(csvs)))
    if not any(line.points for line in lines):
        raise BadInput("no samples in " + ", ".join(csvs))
    click.echo(format_report(lines), nl=False)
    if output:
        try:
            render(lines, output, fmt)
        except OSError as e:
            raise BadInput(f"{output}: cannot write: {e.strerror or e}") from None
        click.echo(f"wrote {output}")
