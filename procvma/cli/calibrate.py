# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma calibrate: measure the host costs the model leaves out; derive the knobs."""

import os
import sys

import click

from procvma.cli import common, options
from procvma.cli.common import CONTEXT
from procvma.fidelity.calibrate import measure, render
from procvma.run import runner
from procvma.sim import calibration


@click.command("calibrate", cls=common.Command, context_settings=CONTEXT)
@click.option("--nsamples", type=click.IntRange(min=1), default=3, show_default=True,
              help="Samples of the no-reader mapper run, per backend.")
@click.option("--duration", type=click.FloatRange(min=0.1, max=3600), default=2.0,
              show_default=True, metavar="SECONDS", help="Length of one such sample.")
@click.option("--mb", type=click.IntRange(min=1, max=4096), default=128,
              show_default=True, help="Size of the region the walks measure.")
@click.option("--repeat", type=click.IntRange(min=1), default=5, show_default=True,
              help="Repetitions of each walk measurement (the median is kept).")
@click.option("--scanner", "scanners", type=options.WordList(calibration.SCANNERS),
              default=",".join(calibration.SCANNERS), show_default=True,
              help="The scanners (--scanner of a run) whose pass cost to "
                   "measure; one not measured keeps the value in force.")
@click.option("--write", "write", is_flag=True,
              help="Store the derived values as this user's calibration, "
                   f"which later runs use (${calibration.ENV}, else "
                   "calibration.json in the user's config directory), "
                   "instead of only printing them.")
def calibrate_cmd(nsamples, duration, mb, repeat, scanners, write):
    """Measure this machine's kernel where the simulator does not model
    the work step by step, subtract the simulator's own cost for the same
    thing, and print the knob values that follow (see
    procvma/sim/calibration.py for what each knob is).  No root needed.
    Run it on a quiet machine: a busy one inflates every figure.

    Runs use this user's calibration once --write has stored it, the
    shipped defaults until then."""
    runner.check_ready("kernel")
    load = os.getloadavg()[0]
    if load > 1.0:
        click.echo(f"procvma calibrate: load average {load:.2f}: "
                   "figures will be inflated", err=True)
    m = measure(nsamples, duration, mb, repeat, scanners,
                args=" ".join(sys.argv[2:]))
    for note in m.notes:
        click.echo(f"procvma calibrate: {note}", err=True)
    click.echo(render(m))
    path = calibration.user_path()
    if write:
        try:
            calibration.store(m.cal, path)
        except OSError as e:
            raise click.ClickException(f"cannot store the calibration in {path}: "
                                       f"{e.strerror or e}")
        click.echo(f"calibration stored in {path}, which later runs use:")
    else:
        click.echo(f"calibration (--write stores it in {path}, "
                   "which later runs then use):")
    click.echo(m.cal.to_json(), nl=False)
    return 0
