# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma's own commands run inside a guest of another kernel (--kernel):
the command line they get there, how long they may take, and the rows
they bring back into the host's results file.

procvma/host/guest.py boots the guest; this module only decides what runs
in it.  The guest runs this very installation (the host's / is its root),
so its rows are written by the same code, and name the guest's kernel,
preemption model and accelerator themselves (hostinfo.vm_accel()).
"""

import csv
import os
import sys

import click

from procvma import native
from procvma.host import guest, kernels

# A guest's time beyond its samples: booting, importing procvma over 9p,
# building the benchmark's region.  Generous, since under TCG all of it is
# emulated; PROCVMA_GUEST_TIMEOUT (seconds) overrides the whole budget.
GUEST_OVERHEAD_S = guest.BOOT_TIMEOUT + 60
# What one sample costs in a TCG guest beyond its --duration (the region
# mapped and torn down, the tasks started): measured under 10 s on a
# 2-CPU host, with room for a loaded one.
SAMPLE_OVERHEAD_S = 30

ROWS_FILE = "rows.csv"


def _log(message):
    click.echo(f"{_prog()}: {message}", err=True)


def _prog():
    ctx = click.get_current_context(silent=True)
    return ctx.command_path if ctx else "procvma"


def _program(name):
    """The console script name of this installation, as the guest sees it."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(path):
        raise click.ClickException(f"--kernel: {path} not found: the guest runs "
                                   f"procvma's installed commands")
    return path


def resolve(spec):
    """kernels.resolve(spec), its error one line."""
    try:
        return kernels.resolve(spec, log=_log)
    except guest.GuestError as e:
        raise click.ClickException(f"--kernel {spec}: {e}")


def boot_and_run(kernel, program, args, timeout, outdir=None, on_line=click.echo):
    """Run procvma's console script program with args in a guest of kernel
    (resolve()'s); its stdout goes to ours as it comes, its stderr after.  Returns
    guest.Result; a one-line click error where the guest cannot run it.
    on_line(line): what to do with each line of its stdout instead."""
    import shlex
    try:
        command = shlex.join([_program(program), *args])
        # SIGTERM and SIGHUP as Ctrl-C: QEMU dies with us in any case
        # (guest.py), but only an exception cleans up after it.
        with native.stopping_on_signals():
            result = guest.run(kernel, command, timeout, outdir=outdir, log=_log,
                               on_line=on_line)
    except guest.GuestError as e:
        raise click.ClickException(f"--kernel {kernel.spec}: {e}")
    if result.stderr:
        click.echo(result.stderr, nl=False, err=True)
    _log(f"guest {result.release} ({result.accel}): booted in {result.boot_s:.1f} s, "
         f"{result.wall_s:.1f} s in all")
    return result


def guest_timeout(plan):
    """Seconds the whole guest may take for plan's samples."""
    given = os.environ.get("PROCVMA_GUEST_TIMEOUT")
    if given:
        try:
            return float(given)
        except ValueError:
            raise click.UsageError(f"PROCVMA_GUEST_TIMEOUT={given}: not a number "
                                   f"of seconds")
    samples = plan.nsamples * len(plan.designs)
    return GUEST_OVERHEAD_S + samples * (plan.sample.duration + SAMPLE_OVERHEAD_S)


def guest_args(argv, csv_path):
    """argv as the guest's run-proc-vs-map gets it: without --kernel (it
    runs on its own kernel there), --csv pointing into the shared
    directory, and the kernel backend that --kernel implies."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--kernel", "--csv"):
            skip = True
            continue
        if arg.startswith(("--kernel=", "--csv=")):
            continue
        out.append(arg)
    if not any(a == "--backend" or a.startswith("--backend=") for a in out):
        out = ["--backend", "kernel", *out]
    return [*out, "--csv", csv_path] if csv_path else out


def run_benchmark(kernel, argv, plan, writer, command):
    """run-proc-vs-map --kernel: the benchmark in a guest of kernel, its rows
    appended to writer (None: no --csv) whatever becomes of the guest, as
    each row came from the guest but for the command, which is ours.
    Returns the exit status."""
    import tempfile
    outdir = tempfile.mkdtemp(prefix="procvma-guest-")
    rows_path = os.path.join(outdir, ROWS_FILE)
    status = 1
    said = []

    def relay(line):
        # The guest's "Running ..." line names its own command line; the
        # user's was printed here already.
        if said or not line.startswith("Running "):
            click.echo(line)
        said.append(line)

    try:
        with native.stopping_on_signals():
            try:
                result = boot_and_run(kernel, "run-proc-vs-map",
                                      guest_args(argv, rows_path if writer else None),
                                      guest_timeout(plan), outdir=outdir,
                                      on_line=relay)
                status = result.returncode
            except KeyboardInterrupt:
                status = native.interrupted_status()
                click.echo("interrupted: the guest was stopped", err=True)
    finally:
        kept = copy_rows(rows_path, writer, command) if writer else 0
        import shutil
        shutil.rmtree(outdir, ignore_errors=True)
    if writer and status:
        _log(f"{kept} row(s) from the guest kept in {plan.csv_path}")
    return status


def copy_rows(path, writer, command):
    """Append the guest's rows at path to writer; how many."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return 0
    kept = 0
    for row in rows:
        if None in row or None in row.values():
            break           # a row the guest was writing when it stopped
        writer.write_measured_elsewhere(dict(row, command=command))
        kept += 1
    return kept
