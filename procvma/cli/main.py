# SPDX-License-Identifier: GPL-2.0-or-later
"""Command line: run-proc-vs-map (the reference repeater's drop-in) and the
procvma command group, whose subcommands live in modules of their own and
are imported only when used."""

import importlib
import os
import sys

import click

from procvma import __version__
from procvma.cli import options
from procvma.cli.common import (
    CONTEXT, Command, OneLineErrors, command_line, house_style
)
from procvma.run import runner
from procvma.run.plan import make_plan
from procvma.run.rounds import design_title, run_points

# ---- procvma: the command group ------------------------------------------

class LazyGroup(OneLineErrors, click.Group):
    """click's lazy-loading pattern: subcommand name -> ("module:attr",
    one-line help).  --help lists the subcommands from the one-liners, so
    each subcommand's module (and what it imports: matplotlib, scipy,
    pandas, the C core) is imported only when that subcommand runs."""

    def __init__(self, *args, lazy_subcommands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_subcommands))

    def get_command(self, ctx, cmd_name):
        if cmd_name in self.lazy_subcommands:
            return house_style(self._lazy_load(cmd_name))
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx, args):
        # Which subcommand runs, for the error line of one that fails
        # outside click's parsing.
        name, cmd, rest = super().resolve_command(ctx, args)
        self.invoked = name
        return name, cmd, rest

    def format_commands(self, ctx, formatter):
        rows = [(name, self.lazy_subcommands[name][1]
                 if name in self.lazy_subcommands else
                 super().get_command(ctx, name).get_short_help_str(10**6))
                for name in self.list_commands(ctx)]
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, click.utils.make_default_short_help(h, limit))
                                    for name, h in rows])

    def _lazy_load(self, cmd_name):
        modname, attr = self.lazy_subcommands[cmd_name][0].split(":")
        try:
            cmd = getattr(importlib.import_module(modname), attr)
        except (ImportError, AttributeError) as e:
            return _unavailable(cmd_name, f"{modname}:{attr}: {e}")
        if not isinstance(cmd, click.Command):
            return _unavailable(cmd_name, f"{modname}:{attr} is not a click command")
        return cmd


def _unavailable(name, why):
    """Stand-in for a subcommand whose module cannot be imported: a
    one-line error when run."""

    @click.command(name, help=f"(unavailable: {why})", add_help_option=False,
                   context_settings={"ignore_unknown_options": True,
                                     "allow_extra_args": True})
    def cmd():
        raise click.ClickException(f"'{name}' is not available: {why}")

    return cmd


@click.group("procvma", cls=LazyGroup, context_settings=CONTEXT, lazy_subcommands={
    "show": ("procvma.cli.show:show_cmd",
             "Print a simulated /proc/PID/PROCFILE in the kernel's format."),
    "torture": ("procvma.cli.torture:torture_cmd",
                "Churn a simulated mm while readers walk it; check every walk."),
    "plot": ("procvma.cli.plot:plot_cmd",
             "Plot results files: sorted opmax, opavg and the latency tail."),
    "compare": ("procvma.cli.compare:compare_cmd",
                "Compare two results files, configuration by configuration."),
    "gate": ("procvma.cli.gate:gate_cmd",
             "CI verdict: fail on a median regression or a broken ratio."),
    "report": ("procvma.cli.report:report_cmd",
               "The cover-letter block for a results file."),
    "info": ("procvma.cli.info:info_cmd",
             "What this machine is, as far as procvma's results depend on it."),
    "sweep": ("procvma.cli.sweep:sweep_cmd",
              "Run the benchmark over a grid of options, one table per point."),
    "growth": ("procvma.cli.growth:growth_cmd",
               "How the stall grows with region size and VMA count."),
    "fidelity": ("procvma.cli.fidelity:fidelity_cmd",
                 "Run the simulator and this machine's kernel side by side."),
    "calibrate": ("procvma.cli.calibrate:calibrate_cmd",
                  "Measure the host costs the model leaves out; derive the knobs."),
})
@click.version_option(version=__version__, prog_name="procvma")
def main():
    """procvma: how long do mmap()/munmap() stall while other tasks read
    /proc/PID/{maps,smaps,smaps_rollup}?  The benchmark itself is
    run-proc-vs-map."""


def prog_name():
    """How the user called us: the wrapper script passes its own $0."""
    return os.environ.get("PROCVMA_PROG") or os.path.basename(sys.argv[0])


# ---- run-proc-vs-map -----------------------------------------------------

class RunProcVsMapCommand(Command):
    def shown_name(self, prog):
        return prog_name()

    def main(self, args=None, prog_name=None, **extra):
        # Kept for the "Running ..." line, which echoes them as given.
        self.argv = list(sys.argv[1:] if args is None else args)
        return super().main(args, prog_name=prog_name, **extra)


@click.command("run-proc-vs-map", cls=RunProcVsMapCommand, context_settings=CONTEXT)
@options.apply_options(options.RUN_OPTIONS, options.SAMPLE_OPTIONS)
@click.version_option(version=__version__, prog_name="run-proc-vs-map")
def run_proc_vs_map(**p):
    """mmap()/munmap() latency while low-priority tasks read /proc/PID/PROCFILE
    and busy-waiters preempt them: the reference harness's run-proc-vs-map.sh,
    on a simulated kernel (both /proc locking designs) or on this machine's.

    Every option may also come after "--", as in the reference:

    \b
      run-proc-vs-map --nsamples 20 --rawdata -- \\
          --busyduration 2 --procfile smaps_rollup
    """
    if p.get("kernel"):
        return _run_in_guest(p)
    plan = make_plan(p)
    runner.check_ready(plan.backend)
    trace, writer = plan.open_outputs(command_line())
    # The reference's first line: "Running $0 $*", trailing space and all.
    argv = getattr(click.get_current_context().command, "argv", sys.argv[1:])
    print(f"Running {prog_name()} {' '.join(argv)}", flush=True)
    for note in plan.notes:
        click.echo(f"run-proc-vs-map: {note}", err=True)
    points = [(design_title(plan.sample, d), dict(plan.sample, lock=d))
              for d in plan.designs]
    return run_points(points, plan, writer, trace=trace)


def _run_in_guest(p):
    """--kernel: the same run in a guest of that kernel; its rows come back
    into our --csv."""
    from procvma.run import inguest
    if p.get("backend") not in (None, "kernel"):
        raise click.UsageError(f"--kernel runs the kernel backend in a guest; "
                               f"not with --backend {p['backend']}")
    plan = make_plan(dict(p, backend="kernel"))   # checked before booting
    kernel = inguest.resolve(p["kernel"])
    writer = plan.open_csv(command_line())
    argv = getattr(click.get_current_context().command, "argv", sys.argv[1:])
    print(f"Running {prog_name()} {' '.join(argv)}", flush=True)
    try:
        return inguest.run_benchmark(kernel, argv, plan, writer, command_line())
    finally:
        if writer:
            writer.close()


house_style(run_proc_vs_map)
house_style(main)
