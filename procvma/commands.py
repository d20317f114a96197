# SPDX-License-Identifier: GPL-2.0-or-later
"""What the commands share: click's context settings, one-line errors,
exit statuses, and running a list of points and printing their tables.

The command modules (cli, sweep, fidelity, torture, ...) import this one;
it imports none of them, so no command module imports another back.
"""

import os
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


class OneLineErrors:
    """Mixin for click commands: a usage or results error is one line on
    stderr, "PROG: error: MESSAGE", with click's exit status (2 for
    usage), never a usage dump or a traceback."""

    def main(self, args=None, prog_name=None, **extra):
        # Our own name, not argv[0]: the same whether run as an installed
        # script, through the wrapper or through "python -c".
        prog = prog_name or self.name
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
    procfile = f"/proc/PID/{params['procfile']}"
    if design == "kernel":
        return f"Linux {os.uname().release} (this machine's kernel), {procfile}"
    return f"Simulated kernel, {procfile}, {options.DESIGN_TITLES[design]}"


def sample_label(params):
    """How an error names the table a sample belonged to."""
    if params["backend"] == "sim":
        return f"--lock {params['lock']}, "
    return "--backend kernel, "


def run_points(points, plan, writer=None, prog="run-proc-vs-map", out=None):
    """Run each (title, params) point for plan.nsamples samples and print
    its title and table; every finished sample goes to writer (a
    csvio.ResultsWriter) at once.  Every point uses the same seeds, so the
    designs see the same op streams.  Returns the exit status: 0, 1 (a
    sample failed) or 130 (Ctrl-C), having printed the table of the
    samples that finished either way."""
    out = out or sys.stdout
    status, failure = 0, None
    try:
        for i, (title, params) in enumerate(points, 1):
            runner.pin_driver(params["cpuscript"])

            def on_sample(row, where=f"[{i}/{len(points)} {params['lock']}]"):
                if writer:
                    writer.write(row)
                runner.progress(f"{where} sample {row['sample']}/{plan.nsamples}: "
                                f"opavg {row['opavg_ms']:.3f} ms, "
                                f"opmax {row['opmax_ms']:.3f} ms"
                                + (" (hung)" if row["hang"] else ""))

            try:
                rows = runner.run_samples(params, plan.nsamples, plan.seed,
                                          on_sample, label=sample_label(params))
            except runner.Interrupted as e:
                rows, status = e.samples, EXIT_INTERRUPTED
            except runner.SampleFailed as e:
                rows, status, failure = e.samples, 1, str(e)
            if rows or not failure:
                out.write(title + "\n")
                out.write(table.format_samples(params["nbusycpus"], rows, plan.rawdata))
                out.flush()
            if status == EXIT_INTERRUPTED:
                click.echo(f"interrupted: {len(rows)} finished sample(s) of this "
                           "table kept" + (f" in {plan.csv_path}" if writer else ""),
                           err=True)
            elif failure:
                click.echo(f"{prog}: error: {failure}", err=True)
            if status:
                break
    finally:
        if writer:
            writer.close()
    return status
