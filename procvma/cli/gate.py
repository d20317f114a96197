# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma gate: the CI verdict on median mmap()/munmap() latency."""

import click

from procvma.cli.common import EXIT_INCONCLUSIVE
from procvma.results import machines, stats
from procvma.results.compare import (
    METRIC_LABELS, BadInput, Side, include_hangs_option, metric_option,
    no_common_config, wrap
)
from procvma.results.gate import (
    FAIL, INCONCLUSIVE, _percent, _requirements, check_requirement, gate_frames,
    render_gate, render_require, where
)


@click.command("gate")
@click.option("--reference", "reference", metavar="REF.csv",
              type=click.Path(dir_okay=False),
              help="Reference run to check CUR against.")
@click.option("--current", "current", metavar="CUR.csv", required=True,
              type=click.Path(dir_okay=False), help="The run being judged.")
@metric_option(default="opavg", multiple=False)
@click.option("--max-regression", "max_regression", default="25%",
              show_default=True, callback=_percent,
              help="Allowed slow-down of a configuration's median.")
@click.option("--require", "requirements", multiple=True,
              metavar="'mmap/vma>=10'", callback=_requirements,
              help="Ratio of the two designs' medians inside CUR, for every "
                   "configuration measured in both; repeatable.")
@click.option("--allow-inconclusive", is_flag=True,
              help="Pass (exit 0) when the samples cannot decide a check, "
                   "instead of exit 3.")
@include_hangs_option
def gate_cmd(reference, current, metric, max_regression, requirements,
             allow_inconclusive, include_hangs):
    """Fail (exit 1) when median latency regressed or a design ratio broke.

    With --reference: for each configuration in both REF and CUR, the
    ratio CUR/REF of the medians of METRIC and its 95% confidence
    interval.  It passes when the whole interval is within
    --max-regression, fails when the whole interval is past it, and is
    inconclusive when it straddles it.

    With --require: in CUR, the ratio of the medians of two designs, e.g.
    'mmap/vma>=10' (the mmap-lock design at least 10 times slower than
    per-VMA reading).  It fails when the interval's far end is past the
    bound.

    Each side is one machine: a file whose rows come from several hosts,
    kernels or CPU models is refused (exit 2).

    Fewer than 4 samples a side decide nothing: inconclusive.  Exit 0 when
    every check passes, 1 when one fails, 2 on bad input, 3 when a check
    is inconclusive (0 with --allow-inconclusive).  Hung samples are left
    out unless --include-hangs.
    """
    from procvma.results.csvio import read_results

    if reference is None and not requirements:
        raise BadInput("nothing to check: give --reference REF.csv, "
                       "--require EXPR, or both")
    cur = Side.of("CUR", current, read_results([current]), include_hangs)
    ref = None if reference is None else Side.of(
        "REF", reference, read_results([reference]), include_hangs)
    # A verdict is about one machine: a side pooled over two would judge
    # neither, and which of its machines to keep is not ours to choose.
    for side in (ref, cur):
        why = side and machines.one_machine(side.what, side.all_rows)
        if why:
            raise BadInput(why)
    failures, unsure = [], []
    by_sequence = False     # an inconclusive check judged by the sequence

    if reference is not None:
        rows = gate_frames(ref.rows, cur.rows, metric, max_regression)
        if not rows:
            raise BadInput(no_common_config(reference, ref.rows, current,
                                            cur.rows))
        click.echo(wrap(ref.describe()))
        click.echo(wrap(cur.describe()))
        click.echo(wrap(
            f"regression: the {METRIC_LABELS[metric]} median may grow by at "
            f"most {max_regression * 100:g}%: a check passes when the whole "
            f"{stats.CONFIDENCE:.0%} interval of CUR/REF is within that, "
            f"fails when it is all past it.", indent=""))
        click.echo(render_gate(rows))
        click.echo()
        configs = [r.config for r in rows]
        for r in rows:
            line = f"{where(r.config, configs)}: {r.reason()}"
            if r.status == FAIL:
                failures.append(line)
            elif r.status == INCONCLUSIVE:
                unsure.append(line)
                by_sequence |= r.sequential

    for req in requirements:
        rows = check_requirement(cur.rows, req, metric)
        if not rows:
            failures.append(f"{req}: no configuration in {current} was "
                            f"measured with both lock={req.num} and "
                            f"lock={req.den}")
            continue
        if reference is None:
            click.echo(wrap(cur.describe()))
        click.echo(wrap(
            f"require {req} on {METRIC_LABELS[metric]} medians: holds when "
            f"the far end of the ratio's {stats.CONFIDENCE:.0%} interval "
            f"does.", indent=""))
        click.echo(render_require(rows, metric))
        click.echo()
        configs = [r.config for r in rows]
        for r in rows:
            line = f"{where(r.config, configs)}: {r.reason(metric)}"
            if r.status == FAIL:
                failures.append(line)
            elif r.status == INCONCLUSIVE:
                unsure.append(line)
                by_sequence |= r.sequential

    ctx = click.get_current_context()
    if failures:
        click.echo(f"gate: FAIL ({len(failures)})")
        for f in failures + unsure:
            click.echo(wrap(f"  {f}", indent="    "))
        ctx.exit(1)
    if unsure:
        verdict = "PASS, inconclusive allowed" if allow_inconclusive \
            else "INCONCLUSIVE"
        click.echo(f"gate: {verdict} ({len(unsure)})")
        for f in unsure:
            click.echo(wrap(f"  {f}", indent="    "))
        if not allow_inconclusive:
            from procvma.results import sequential
            fewest = (sequential.fewest_bounded(stats.ALPHA / 2)
                      if by_sequence else stats.MIN_SAMPLES)
            click.echo(wrap(f"  measure again with more samples (at least "
                            f"{fewest} a side), or pass "
                            f"--allow-inconclusive", indent="    "))
            ctx.exit(EXIT_INCONCLUSIVE)
        return
    click.echo("gate: PASS")
