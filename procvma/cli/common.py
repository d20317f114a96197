# SPDX-License-Identifier: GPL-2.0-or-later
"""What every command shares: click's context settings, one-line errors,
exit statuses and the command line a results file records.

The command modules of this folder import this one; it imports none of
them, so no command module imports another back.
"""

import os
import shlex
import sys

import click

from procvma import native, vocab
from procvma.cli.options import DashDashCommand

CONTEXT = {"help_option_names": ["-h", "--help"]}

EXIT_INTERRUPTED = native.EXIT_INTERRUPTED

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


class HouseOption(click.Option):
    """How every option's help reads: its default as "(default X)" after
    the text, never click's "[default: X; x>=1]"; see house_style()."""

    def get_help_record(self, ctx):
        if self.hidden:
            return None
        text = self.help or ""
        default = click.Option.get_help_extra(self, ctx).get("default")
        if default not in (None, "") and "(default" not in text:
            text += f" (default {default})"
        if self.required:
            text += " (required)"
        return self.get_help_spec(ctx), text


# Metavars of numbers, for options that name none of their own.
_NUMBER_METAVARS = ((click.types.IntRange, "N"), (click.types.FloatRange, "X"),
                    (click.types.IntParamType, "N"),
                    (click.types.FloatParamType, "X"))


def house_style(cmd):
    """Give every option of cmd (and, for a group, its own) one style of
    help: defaults as "(default X)" and numbers' metavars N or X.
    Returns cmd."""
    for param in cmd.params:
        if not isinstance(param, click.Option):
            continue
        if type(param) is click.Option:
            param.__class__ = HouseOption
        if param.metavar is None and not param.is_flag:
            for kind, name in _NUMBER_METAVARS:
                if isinstance(param.type, kind):
                    param.metavar = name
                    break
    return cmd


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
            # The command that failed: a group's subcommand by its path.
            sub = getattr(self, "invoked", None)
            where = (e.ctx.command_path if getattr(e, "ctx", None) else
                     f"{prog} {sub}" if sub else prog)
            click.echo(f"{where}: error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            sys.exit(native.interrupted_status())
        sys.exit(rv if isinstance(rv, int) else 0)


class Command(OneLineErrors, DashDashCommand):
    """A command with one-line errors whose options may also come after
    "--", as the reference's repeater hands them on."""


# ---- options the results commands share --------------------------------

def baseline_option(f):
    """--baseline WORD: the design every other is measured against."""
    return click.option(
        "--baseline", default=str(vocab.LOCK.baseline), show_default=True,
        type=click.Choice([str(w) for w in vocab.LOCK]),
        help="Within one file: the design (--lock word) every other design "
             "is measured against.")(f)


def json_option(f):
    return click.option(
        "--json", "as_json", is_flag=True,
        help="One JSON document on stdout instead of the text: the same "
             "figures and verdicts.")(f)


def echo_json(doc):
    """doc as one JSON document on stdout: NaN and infinity, which JSON
    has no words for, as null."""
    import json
    import math

    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if hasattr(v, "item"):      # numpy scalars
            return clean(v.item())
        return v

    click.echo(json.dumps(clean(doc), indent=2, allow_nan=False))
