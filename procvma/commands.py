# SPDX-License-Identifier: GPL-2.0-or-later
"""What the commands share: click's context settings, one-line errors,
exit statuses, and running a list of points and printing their tables.

The command modules (cli, sweep, fidelity, torture, ...) import this one;
it imports none of them, so no command module imports another back.
"""

import os
import shlex
import sys

import click

from procvma import options, runner, table

CONTEXT = {"help_option_names": ["-h", "--help"]}

# Exit status of a run cut short by Ctrl-C, as a shell reports SIGINT.
EXIT_INTERRUPTED = 130

# procvma gate: the samples cannot tell whether a check holds (too few, or
# an interval that straddles the bound).  Not 1, so that CI can tell "the
# patch regressed" from "measure again with more samples".
EXIT_INCONCLUSIVE = 3


_command_line = None


def command_line():
    """The command line that started this run, shell-quoted, as results
    files record it."""
    return _command_line or shlex.join(
        [os.path.basename(sys.argv[0]), *sys.argv[1:]])


class OneLineErrors:
    """Mixin for click commands: a usage or results error is one line on
    stderr, "PROG: error: MESSAGE", with click's exit status (2 for
    usage), never a usage dump or a traceback."""

    def shown_name(self, prog):
        """How the command line names us (the wrapper script passes its
        own name)."""
        return prog

    def main(self, args=None, prog_name=None, **extra):
        global _command_line
        # Our own name, not argv[0]: the same whether run as an installed
        # script, through the wrapper or through "python -c".
        prog = prog_name or self.name
        argv = list(sys.argv[1:] if args is None else args)
        _command_line = shlex.join([self.shown_name(prog), *argv])
        try:
            rv = super().main(args, prog_name=prog, standalone_mode=False,
                              **extra)
        except click.ClickException as e:
            where = e.ctx.command_path if getattr(e, "ctx", None) else prog
            click.echo(f"{where}: error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(rv if isinstance(rv, int) else 0)


# ---- running tables --------------------------------------------------------

def design_title(params, design):
    procfile = f"/proc/PID/{params['procfile']}, --scanner {params['scanner']}"
    if design == "kernel":
        return f"Linux {os.uname().release} (this machine's kernel), {procfile}"
    return f"Simulated kernel, {procfile}, {options.DESIGN_TITLES[design]}"


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


def run_each(points, nsamples, seed, writer=None, figures=opavg_opmax, done=None,
             trace=None):
    """Run each Point for nsamples samples, in order, into its .rows.
    Every point uses the same seeds (seed+k-1 for sample k), so that the
    configurations see the same op streams.  Every finished sample goes
    to writer (a csvio.ResultsWriter) at once, which is closed at the end.
    done(point, status, failure), if given, is called after each point,
    the one a failure or Ctrl-C cut short included.  Stops there.
    trace: a locktrace.LockTrace for the kernel backend's lock figures.
    Returns (status, failure): 0, 1 (a sample failed, failure says how)
    or 130 (Ctrl-C)."""
    status, failure = 0, None
    try:
        for point in points:
            runner.pin_driver(point.params["cpuscript"])

            def on_sample(row, tag=point.tag):
                if writer:
                    writer.write(row)
                runner.progress(f"{tag} sample {row['sample']}/{nsamples}: "
                                f"{figures(row)}")

            try:
                point.rows = runner.run_samples(point.params, nsamples, seed,
                                                on_sample, label=point.label,
                                                trace=trace)
            except runner.Interrupted as e:
                point.rows, status = e.samples, EXIT_INTERRUPTED
            except runner.SampleFailed as e:
                point.rows, status, failure = e.samples, 1, str(e)
            if done:
                done(point, status, failure)
            if status:
                break
    finally:
        if writer:
            writer.close()
    return status, failure


def run_points(points, plan, writer=None, prog="run-proc-vs-map", out=None,
               trace=None):
    """Run each (title, params) point for plan.nsamples samples and print
    its title and table (see run_each), with plan.locks its lock figures
    below.  trace: plan.open_trace()'s, closed here.  Returns the exit
    status: 0, 1 (a sample failed) or 130 (Ctrl-C), having printed the
    table of the samples that finished either way."""
    out = out or sys.stdout

    def print_table(point, status, failure):
        if point.rows or not failure:
            out.write(point.title + "\n")
            out.write(table.format_samples(point.params["nbusycpus"], point.rows,
                                           plan.rawdata))
            if plan.locks and point.rows:
                out.write(table.format_locks(point.rows))
            out.flush()
        if status == EXIT_INTERRUPTED:
            click.echo(f"interrupted: {len(point.rows)} finished sample(s) of this "
                       "table kept" + (f" in {plan.csv_path}" if writer else ""),
                       err=True)
        elif failure:
            click.echo(f"{prog}: error: {failure}", err=True)

    runs = [Point(params, f"[{i}/{len(points)} {params['lock']}]",
                  sample_label(params), title)
            for i, (title, params) in enumerate(points, 1)]
    try:
        status, _ = run_each(runs, plan.nsamples, plan.seed, writer,
                             done=print_table, trace=trace)
    finally:
        if trace:
            trace.close()
    return status
