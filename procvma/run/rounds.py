# SPDX-License-Identifier: GPL-2.0-or-later
"""Running a list of points (configurations) in rounds and printing
their tables: what run-proc-vs-map, sweep, fidelity and calibrate share."""

import os
import signal
import sys
import time

import click

from procvma import native, vocab
from procvma.host import hostinfo
from procvma.results.machines import machine_was_busy
from procvma.results import schema, stats, table
from procvma.run import plan, runner


def design_title(params, design):
    procfile = (f"/proc/PID/{params['procfile']}, "
                + schema.scanner_label(params["scanner"], params.get("scanner_command")))
    if params.get("holes"):
        procfile += f", --holes {params['holes']}"
    if design == "kernel":
        accel = hostinfo.vm_accel()
        where = ("this machine's kernel" if accel == hostinfo.NOT_A_GUEST else
                 f"a QEMU {accel} guest: timing emulated" if accel == "tcg" else
                 f"a QEMU {accel} guest")
        return (f"Linux {os.uname().release} ({where}, preempt "
                f"{params.get('preempt', '-')}), {procfile}")
    return (f"Simulated kernel (preempt {params.get('preempt', '-')}), {procfile}, "
            f"{plan.DESIGN_TITLES[design]}")


def sample_label(params):
    """How an error names the table a sample belonged to."""
    if params["backend"] == "sim":
        return f"--lock {params['lock']}, "
    return "--backend kernel, "


class Point:
    """One configuration to run: the params of its samples, how progress
    lines (tag) and error messages (label) name it, the title of its
    table, and once run, the rows of its finished samples."""

    def __init__(self, params, tag, label, title=""):
        self.params = params
        self.tag = tag
        self.label = label
        self.title = title
        self.rows = []


def opavg_opmax(row):
    """A finished sample's figures as a progress line shows them."""
    return (f"opavg {row['opavg_ms']:.3f} ms, opmax {row['opmax_ms']:.3f} ms"
            + (" (hung)" if row["hang"] else ""))


def fmt_duration(seconds):
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


class Progress:
    """Progress on stderr.  A person at a terminal gets a line per sample
    with the time left; a log (CI) gets a line per finished table, which
    keeps it short; --quiet gets neither."""

    def __init__(self, total, quiet=False, tty=None):
        self.total = total          # samples in the whole run
        self.done = 0
        self.start = self.table_start = time.monotonic()
        self.quiet = quiet
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.bounded = False        # total is a bound (--nsamples auto)

    def sample(self, tag, row, nsamples, figures):
        self.done += 1
        if self.quiet or not self.tty:
            return
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done)
        click.echo(f"{tag} sample {row['sample']}/{nsamples}: {figures(row)}"
                   f"; ETA {'at most ' if self.bounded else ''}"
                   f"{fmt_duration(left)}", err=True)

    def table(self, tag, rows, figures, seconds=None):
        """The line for a finished table; seconds: how long its samples
        took (by default, since the last table's line)."""
        if self.quiet or self.tty or not rows:
            return
        hung = sum(1 for r in rows if r["hang"])
        med = {k: stats.median(r[k] for r in rows)
               for k in schema.METRICS if k in rows[0]}
        now = time.monotonic()
        took = now - self.table_start if seconds is None else seconds
        click.echo(f"{tag} {len(rows)} sample{'s' * (len(rows) != 1)} in "
                   f"{fmt_duration(took)}: median "
                   f"{figures(dict(med, hang=0))}"
                   + (f", {hung} hung" if hung else ""), err=True)
        self.table_start = now


def warn_no_pass(point, prog):
    """Samples too short for any scanner to finish a pass measured the
    mapper alone: say so, with the count, whatever the verbosity."""
    n = sum(1 for r in point.rows if r.get("no_pass"))
    if n:
        p = point.params
        what = (f"its command ({schema.scanner_label(p['scanner'], p['scanner_command'])})"
                if p.get("scanner") == vocab.SCANNER.custom
                else f"/proc/PID/{p['procfile']}")
        click.echo(f"{prog}: warning: {point.tag} {n} of {len(point.rows)} "
                   f"sample(s) in which no scanner completed a pass of "
                   f"{what}: --duration {p['duration']:g} "
                   f"is too short to measure readers (no_pass=1 in the CSV)",
                   err=True)


def run_each(points, nsamples, seed, writer=None, figures=opavg_opmax,
             done=None, quiet=False, prog="run-proc-vs-map", trace=None,
             until=None):
    """Run the Points in rounds into their .rows: round k runs sample k
    of every point, in the order given (A B A B ...), so that the
    configurations are measured seconds apart, under the same conditions
    of a machine whose speed drifts from minute to minute.  Sample k of
    every point has seed seed+k-1: the same op stream.  nsamples rounds,
    or fewer when until(points), asked after each round, says the
    samples decide.  Every finished sample goes to writer (a
    csvio.ResultsWriter) at once, which is closed at the end.
    done(point, status, failure), if given, is called for each point
    once the run ends, however it ended.
    trace: a locktrace.LockTrace for the kernel backend's lock figures.
    Returns (status, failure): 0, 1 (a sample failed or its row could not
    be written: failure says how) or 128+N (signal N: Ctrl-C, SIGTERM or
    SIGHUP stopped the run)."""
    from procvma.results.csvio import WriteError

    status, failure = 0, None
    progress = Progress(len(points) * nsamples, quiet)
    progress.bounded = until is not None
    took = {id(p): 0.0 for p in points}
    try:
        with native.stopping_on_signals():
            try:
                core = runner.begin()
                for k in range(1, nsamples + 1):
                    for point in points:
                        runner.pin_driver(point.params["cpuscript"])
                        start = time.monotonic()
                        row = runner.run_sample(core, point.params, k, seed,
                                                point.label, point.rows, trace)
                        took[id(point)] += time.monotonic() - start
                        # Measured, and kept, even if it cannot be written.
                        point.rows.append(row)
                        if writer:
                            try:
                                writer.write(row)
                            except WriteError as e:
                                raise runner.SampleFailed(str(e), None)
                        progress.sample(point.tag, row, nsamples, figures)
                    if until and until(points):
                        break
            except (KeyboardInterrupt, runner.Interrupted):
                status = native.interrupted_status()
            except runner.SampleFailed as e:
                status, failure = 1, str(e)
            for point in points:
                progress.table(point.tag, point.rows, figures,
                               took[id(point)])
                if done:
                    done(point, status, failure)
                warn_no_pass(point, prog)
    finally:
        if writer:
            writer.close()
    return status, failure


def interrupted(status):
    """Whether run_each's status says a signal stopped the run."""
    return status > 128


def run_points(points, plan, writer=None, prog="run-proc-vs-map", out=None,
               trace=None):
    """Run the (title, params) points in rounds for plan.nsamples samples
    each (see run_each), or with plan.auto until they decide, and print
    each one's title and table, with plan.locks its lock figures below;
    then, with plan.auto, why the run stopped, and whether the machine
    was busy.  trace: plan.open_trace()'s, closed here.  Returns the exit
    status: 0, 1 (a sample failed, or its row could not be written) or
    128+N (stopped by signal N), having printed the tables of the samples
    that finished either way."""
    out = out or sys.stdout

    def print_table(point, status, failure):
        if point.rows or not failure:
            out.write(point.title + "\n")
            out.write(table.format_samples(point.params["nbusycpus"], point.rows,
                                           plan.rawdata))
            if plan.locks and point.rows:
                out.write(table.format_locks(point.rows))
            out.flush()

    runs = [Point(params, f"[{i}/{len(points)} {params['lock']}]",
                  sample_label(params), title)
            for i, (title, params) in enumerate(points, 1)]
    until = None
    if getattr(plan, "auto", False):
        from procvma.run.autostop import AutoStop
        until = AutoStop(runs, plan.precision, plan.nsamples,
                         getattr(plan, "baseline", None),
                         getattr(plan, "requirements", ()))
    try:
        status, failure = run_each(runs, plan.nsamples, plan.seed, writer,
                                   done=print_table, quiet=plan.quiet,
                                   prog=prog, trace=trace, until=until)
    finally:
        if trace:
            trace.close()
    if interrupted(status):
        how = "" if status == native.EXIT_INTERRUPTED else \
            f" by {signal.Signals(status - 128).name}"
        kept = sum(len(p.rows) for p in runs)
        these = "this table" if len(runs) == 1 else f"these {len(runs)} tables"
        click.echo(f"interrupted{how}: {kept} finished sample(s) of {these} "
                   "kept" + (f" in {plan.csv_path}" if writer else ""), err=True)
    elif failure:
        click.echo(f"{prog}: error: {failure}", err=True)
    if until:
        why = ("interrupted" if interrupted(status) else
               "decided" if until.decided else "max")
        if not failure:
            for line in until.lines(why):
                click.echo(f"{prog}: {line}", err=True)
    busy = machine_was_busy([r for p in runs for r in p.rows], plan.sample)
    if busy:
        click.echo(f"{prog}: warning: {busy}", err=True)
    return status
