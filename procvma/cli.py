# SPDX-License-Identifier: GPL-2.0-or-later
"""Command line: run-proc-vs-map (the reference repeater's drop-in) and the
procvma command group, whose subcommands live in modules of their own and
are imported only when used."""

import importlib
import os
import sys

import click

from procvma import __version__, options, runner, table

CONTEXT = {"help_option_names": ["-h", "--help"]}

# Exit status of a run cut short by Ctrl-C, as a shell reports SIGINT.
EXIT_INTERRUPTED = 130


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


# ---- procvma: the command group ------------------------------------------

class LazyGroup(OneLineErrors, click.Group):
    """click's lazy-loading pattern: subcommand name -> "module:attr",
    imported on first use, so each subcommand's module (and what it
    imports: matplotlib, scipy, the C core) costs nothing until asked for."""

    def __init__(self, *args, lazy_subcommands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_subcommands))

    def get_command(self, ctx, cmd_name):
        if cmd_name in self.lazy_subcommands:
            return self._lazy_load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def _lazy_load(self, cmd_name):
        modname, attr = self.lazy_subcommands[cmd_name].split(":")
        try:
            cmd = getattr(importlib.import_module(modname), attr)
        except (ImportError, AttributeError) as e:
            return _unavailable(cmd_name, f"{modname}:{attr}: {e}")
        if not isinstance(cmd, click.Command):
            return _unavailable(cmd_name, f"{modname}:{attr} is not a click command")
        return cmd


def _unavailable(name, why):
    """Stand-in for a subcommand whose module cannot be imported: listed in
    --help as unavailable, and a one-line error when run."""

    @click.command(name, help=f"(unavailable: {why})", add_help_option=False,
                   context_settings={"ignore_unknown_options": True,
                                     "allow_extra_args": True})
    def cmd():
        raise click.ClickException(f"'{name}' is not available: {why}")

    return cmd


@click.group("procvma", cls=LazyGroup, context_settings=CONTEXT, lazy_subcommands={
    "show": "procvma.show:show_cmd",
    "torture": "procvma.torture:torture_cmd",
    "plot": "procvma.plot:plot_cmd",
    "compare": "procvma.compare:compare_cmd",
    "gate": "procvma.gate:gate_cmd",
    "info": "procvma.hostinfo:info_cmd",
    "sweep": "procvma.sweep:sweep_cmd",
    "fidelity": "procvma.fidelity:fidelity_cmd",
    "calibrate": "procvma.fidelity:calibrate_cmd",
})
@click.version_option(version=__version__, prog_name="procvma")
def main():
    """procvma: how long do mmap()/munmap() stall while other tasks read
    /proc/PID/{maps,smaps,smaps_rollup}?  The benchmark itself is
    run-proc-vs-map."""


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


def prog_name():
    """How the user called us: the wrapper script passes its own $0."""
    return os.environ.get("PROCVMA_PROG") or os.path.basename(sys.argv[0])


# ---- run-proc-vs-map -----------------------------------------------------

class RunProcVsMapCommand(OneLineErrors, options.DashDashCommand):
    def main(self, args=None, prog_name=None, **extra):
        # Kept for the "Running ..." line, which echoes them as given.
        self.argv = list(sys.argv[1:] if args is None else args)
        return super().main(args, prog_name=prog_name, **extra)


@click.command("run-proc-vs-map", cls=RunProcVsMapCommand, context_settings=CONTEXT)
@options.apply_options(options.RUN_OPTIONS, options.SAMPLE_OPTIONS)
def run_proc_vs_map(**p):
    """mmap()/munmap() latency while low-priority tasks read /proc/PID/PROCFILE
    and busy-waiters preempt them: the reference harness's run-proc-vs-map.sh,
    on a simulated kernel (both /proc locking designs) or on this machine's.

    Every option may also come after "--", as in the reference:

    \b
      run-proc-vs-map --nsamples 20 --rawdata -- \\
          --busyduration 2 --procfile smaps_rollup
    """
    plan = options.make_plan(p)
    runner.check_ready(plan.backend)
    writer = plan.open_csv()
    # The reference's first line: "Running $0 $*", trailing space and all.
    argv = getattr(click.get_current_context().command, "argv", sys.argv[1:])
    print(f"Running {prog_name()} {' '.join(argv)}", flush=True)
    for note in plan.notes:
        click.echo(f"run-proc-vs-map: {note}", err=True)
    points = [(design_title(plan.sample, d), dict(plan.sample, lock=d))
              for d in plan.designs]
    return run_points(points, plan, writer)
