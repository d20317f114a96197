# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma fidelity: the simulator and this machine's kernel side by side."""

import sys

import click

from procvma.cli import common, options
from procvma.cli.common import CONTEXT
from procvma.fidelity.fidelity import (
    BAND, KERNEL_PROCFILES, _open_trace, plan_grid, render_grid
)
from procvma.run import plan, rounds, runner
from procvma.sim import calibration

FIDELITY_OPTIONS = {
    "busyduration": options.SAMPLE_OPTS["busyduration"].many("1,2,5"),
    "nbusytasks": options.SAMPLE_OPTS["nbusytasks"].many(
        "1,2,3", note=" 0 is the no-reader baseline, run once."),
    "procfile": click.option(
        "--procfile", type=options.WordList(KERNEL_PROCFILES),
        default="smaps_rollup", show_default=True,
        help="The kernel's files compared, each against the simulated "
             "design that reads it as this kernel does: smaps_rollup, smaps, "
             "maps, numa_maps.  smaps_rollup by default, where "
             "run-proc-vs-map reads maps as the reference does: it is the "
             "file this kernel still reads under mmap_lock, the one whose "
             "stall the simulator must get right."),
    "vma_procfile": click.option(
        "--vma-procfile", type=click.Choice(["maps", "smaps_rollup"]),
        default="maps", show_default=True,
        help="What the simulated vma design reads against the kernel's maps: "
             "the same file, or the seed's per-VMA smaps_rollup."),
    # One table each; the scanners that read smaps_rollup as well as maps.
    "scanner": options.SAMPLE_OPTS["scanner"].many(
        ",".join(calibration.SCANNERS), choices=calibration.SCANNERS,
        note=" One table each."),
    "metric": click.option(
        "--metric", type=options.Metric(extra=("walk_avg_ms",)),
        default="opavg", show_default=True,
        help=f"The figure whose median is compared: {options.METRIC_HELP}, "
             "or walk_avg_ms (a reader's pass)."),
    "check": click.option(
        "--check", is_flag=True,
        help="Exit 1 unless every ratio of the table lies within "
             f"[{BAND[0]:.2f}, {BAND[1]:g}]."),
    "quick": click.option(
        "--quick", is_flag=True,
        help="One 0.5 s sample per configuration, the whole grid in about "
             "30 s on a 2-CPU machine: a first look, noisier than the "
             "default (a starved sample runs on until its last call returns)."),
}

# Shorter defaults than the benchmark's: the grid multiplies them.
@click.command("fidelity", cls=common.Command, context_settings=CONTEXT)
@options.apply_options(FIDELITY_OPTIONS)
@options.apply_options({k: options.RUN_OPTIONS[k] for k in
                        ("nsamples", "csv", "seed", "quiet", "holes", "preempt",
                         *options.COST_OPTIONS)})
@options.apply_options(options.SAMPLE_OPTIONS,
                       skip={"busyduration", "nbusytasks", "procfile"})
def fidelity_cmd(**p):
    """Run the same experiment on the simulator and on this machine's
    kernel and print them side by side: the kernel's smaps_rollup (and,
    with --procfile smaps_rollup,maps, its maps), each against the
    simulated design that reads it under the lock this kernel uses (as
    procvma info finds out; on Linux 6.18 the mmap design against
    smaps_rollup, the vma design against maps), at every point of the
    --busyduration x --nbusytasks grid, one table per --scanner.  Then why the mapper
    stalls, the same way: its wait for the write lock per operation, and
    the scanners' average read hold (the kernel's from its mmap_lock
    tracepoints: root and tracefs).

    \b
    The whole grid, one short sample each (about 30 s):
      procvma fidelity --quick
    One point, both scanners (about 20 s):
      procvma fidelity --busyduration 2 --nbusytasks 1 --nsamples 1 --duration 2
    """
    if p.get("nsamples") == plan.AUTO:
        raise click.UsageError("--nsamples auto is for run-proc-vs-map and "
                               "procvma sweep; fidelity compares medians "
                               "with no verdict to reach: give a count")
    grid, lock_note = plan_grid(p)
    runner.check_ready("kernel")
    writer = None
    if p.get("csv_path"):
        from procvma.results.csvio import ResultsWriter
        writer = ResultsWriter.open(p["csv_path"], common.command_line())
    trace, trace_note = _open_trace(grid.runs[0].params)
    for note in grid.notes + [n for n in (lock_note, trace_note) if n]:
        click.echo(f"procvma fidelity: {note}", err=True)
    try:
        status, failure = rounds.run_each(
            grid.runs, p["nsamples"], grid.seed, writer,
            figures=lambda row: f"{grid.metric} {row[grid.metric]:.3f} ms",
            prog="procvma fidelity", quiet=bool(p.get("quiet")), trace=trace)
    finally:
        if trace:
            trace.close()
    text, bad = render_grid(grid, traced=trace is not None)
    sys.stdout.write(text)
    sys.stdout.flush()
    if rounds.interrupted(status):
        click.echo("interrupted: the table shows the samples that finished", err=True)
        return status
    if failure:
        click.echo(f"procvma fidelity: error: {failure}", err=True)
        return status
    if grid.check and bad:
        click.echo(f"procvma fidelity: outside [{BAND[0]:.2f}, {BAND[1]:g}]: "
                   + "; ".join(bad), err=True)
        return 1
    return 0
