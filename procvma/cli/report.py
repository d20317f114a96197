# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma report: the block a patch author pastes into a cover letter."""

import click

from procvma.results import machines
from procvma.results.compare import BadInput, include_hangs_option
from procvma.results.report import pairs_in_one, pairs_in_two, render


@click.command("report")
@click.argument("files", metavar="CSV [CSV]", nargs=-1, required=True,
                type=click.Path(dir_okay=False))
@click.option("--markdown", is_flag=True,
              help="A Markdown form of the same, for a pull request.")
@include_hangs_option
def report_cmd(files, markdown, include_hangs):
    """The cover-letter block for a results file: the command line, the
    kernel and CPUs, the reference's rawdata blocks headed "Baseline:" and
    "Patched:", the medians with the ratio and its 95% interval, the
    Mann-Whitney p, the p99 change and a verdict; every line at most 72
    columns.

    With one CSV, Baseline is --lock mmap and Patched is --lock vma; with
    two, the first file is Baseline and the second Patched (two kernels,
    say), configuration by configuration.  Rows of different machines
    (host, kernel or CPU model) are never pooled: a file holding several
    is reported one machine at a time, a section each, and says so.  Hung
    samples are left out unless --include-hangs.
    """
    from procvma.results.csvio import read_results

    if len(files) > 2:
        raise BadInput(f"give one results file or two; got {len(files)}")
    frames = [read_results([f]) for f in files]
    if len(files) == 1:
        pairs = pairs_in_one(frames[0], files[0], include_hangs)
    else:
        pairs = pairs_in_two(frames[0], frames[1], files[0], files[1],
                             include_hangs)
    notes = [n for path, df in zip(files, frames)
             for n in [machines.split_note(path, machines.split(df))] if n]
    click.echo(render(pairs, markdown, notes), nl=False)
