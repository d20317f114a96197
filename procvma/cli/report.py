# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma report: the block a patch author pastes into a cover letter."""

import click

from procvma.results import machines
from procvma.cli.common import baseline_option, echo_json, json_option
from procvma.results.compare import include_hangs_option


@click.command("report")
@click.argument("files", metavar="CSV [CSV...]", nargs=-1, required=True,
                type=click.Path(dir_okay=False))
@click.option("--markdown", is_flag=True,
              help="A Markdown form of the same, for a pull request.")
@baseline_option
@json_option
@include_hangs_option
def report_cmd(files, markdown, baseline, as_json, include_hangs):
    """The cover-letter block for a results file: the command lines
    (without --csv and -q, which only say where output went), the kernel,
    CPUs, preemption model and the run's --label, the reference's rawdata
    blocks headed "Baseline:" and "Patched:", the medians with each
    ratio and its 95% interval, the Mann-Whitney p, the p99 change, the
    rule that decided and a verdict; every line at most 72 columns.

    Every ratio is given the way the verdict reads: Baseline/Patched when
    Patched is faster ("9.28x faster"), Patched/Baseline when it is slower.

    With one CSV, Baseline is --lock BASELINE (mmap) and every other design
    in the file is measured against it (one design: "Patched"); with two
    or more, the first file is Baseline and each other file is measured
    against it (two kernels, say), configuration by configuration, with
    a warning when the files ran on different hosts, CPU models or
    kernels.  Rows of different machines are never pooled: a file holding
    several is reported one machine at a time, a section each, and says
    so.  Hung samples are left out unless --include-hangs.
    """
    from procvma.results.csvio import read_results
    from procvma.results.report import groups_in_files, groups_in_one
    from procvma.results.report_json import document
    from procvma.results.report_text import render

    frames = [read_results([f]) for f in files]
    if len(files) == 1:
        groups = groups_in_one(frames[0], files[0], include_hangs, baseline)
    else:
        groups = groups_in_files(frames, list(files), include_hangs)
    notes = [n for path, df in zip(files, frames)
             for n in [machines.split_note(path, machines.split(df))] if n]
    if as_json:
        echo_json(document(groups, notes))
    else:
        click.echo(render(groups, markdown, notes), nl=False)
