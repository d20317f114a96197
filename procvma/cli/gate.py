# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma gate: the CI verdict on median mmap()/munmap() latency."""

import json

import click

from procvma.cli import options
from procvma.cli.common import EXIT_INCONCLUSIVE
from procvma.results import gate
from procvma.results.compare import include_hangs_option


@click.command("gate")
@click.option("--reference", "reference", metavar="REF.csv",
              type=click.Path(dir_okay=False),
              help="Reference run to check CUR against.")
@click.option("--current", "current", metavar="CUR.csv", required=True,
              type=click.Path(dir_okay=False), help="The run being judged.")
@click.option("--metric", default="opavg", show_default=True,
              type=options.Metric(),
              help=f"The figure whose medians are judged: {options.METRIC_HELP}.")
@click.option("--max-regression", "max_regression", default="25%",
              show_default=True, type=options.Percent(below_100=False),
              help="Allowed slow-down of a configuration's median, as a "
                   f"percentage ({options.PERCENT_HELP}).")
@click.option("--require", "requirements", multiple=True,
              metavar="'DESIGN/DESIGN>=N'", callback=gate.requirements_callback,
              help="Ratio of two designs' medians inside CUR, for every "
                   "configuration measured in both, e.g. 'mmap/vma>=10'; "
                   "repeatable.")
@click.option("--allow-inconclusive", is_flag=True,
              help="Pass (exit 0) when the samples cannot decide a check, "
                   "instead of exit 3.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document (the same figures and verdict) "
                   "instead of the text.")
@include_hangs_option
def gate_cmd(reference, current, metric, max_regression, requirements,
             allow_inconclusive, as_json, include_hangs):
    """Fail (exit 1) when median latency regressed or a design ratio broke.

    With --reference: for each configuration in both REF and CUR, the
    ratio CUR/REF of the medians of METRIC and its 95% interval.  With
    --require: in CUR, the ratio of two designs' medians, e.g.
    'mmap/vma>=10' (the mmap-lock design at least 10 times slower than
    per-VMA reading).

    A check passes when its whole interval satisfies it, fails when the
    whole interval violates it, and is inconclusive when the interval
    spans the bound or rests on too few samples (4 a side for a fixed
    count; the confidence sequence of a --nsamples auto run says itself).
    Exit 0 when every check passes, 1 when one fails, 2 on bad input
    (a side whose rows come from several machines, too), 3 when one is
    inconclusive (0 with --allow-inconclusive).  Hung samples are left
    out unless --include-hangs.
    """
    result = gate.evaluate(reference, current, metric, max_regression,
                           requirements, allow_inconclusive, include_hangs,
                           inconclusive_status=EXIT_INCONCLUSIVE)
    click.echo(json.dumps(gate.to_json(result), indent=1) if as_json
               else gate.render_text(result))
    click.get_current_context().exit(result.exit_status)
