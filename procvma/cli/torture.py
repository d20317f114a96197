# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma torture: churn a simulated mm while readers walk it; check every walk."""

import os
import sys

import click

from procvma import vocab
from procvma.cli import options
from procvma.cli.common import CONTEXT, EXIT_INTERRUPTED
from procvma.sim.simmm import INJECT, PROCFILES
from procvma.sim.torture import make_config, run, summary, violation_lines


@click.command("torture", context_settings=CONTEXT)
@click.option("--duration", type=click.FloatRange(min=0.1, max=86400), default=10.0,
              show_default=True, help="Seconds to run.")
@click.option("--lock", type=options.WordsOf(vocab.LOCK), default=vocab.LOCK.every,
              show_default=True, help="Reader locking designs to walk in, a "
                                      "comma list.")
@click.option("--procfile", type=click.Choice([*vocab.PROCFILE, "all"]),
              default="all", show_default=True, help="Simulated /proc file(s) to walk.")
@click.option("--writers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Threads contending for the mmap write lock.")
@click.option("--readers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Reader threads; each cycles through every design and file.")
@click.option("--inject", type=click.Choice(sorted(INJECT)), multiple=True,
              help="Break the model on purpose; the run must then report "
                   "violations.  May be given more than once.")
@click.option("--pages", type=click.IntRange(16, 1 << 16), default=2048,
              show_default=True, help="Size of the simulated region in pages.")
@click.option("--seed", type=options.SEED, metavar=options.SEED_METAVAR, default=1,
              show_default=True,
              help="Seed of the writers' op streams.")
@click.option("--max-violations", type=click.IntRange(0, None), default=100,
              show_default=True, help="Stop once this many violations are found "
                                      "(0: run the whole duration).")
def torture_cmd(duration, lock, procfile, writers, readers, inject, pages, seed,
                max_violations):
    """Churn a simulated address space with writers while readers walk its
    /proc files, checking every walk: VMAs in the region, each ending above
    the one before; no page counted twice; nothing lost, every page mapped
    for the whole walk in its output ("coverage checks"); a VMA held under
    its lock never changing; exact totals while the writers only re-map in
    place; and at the end, every lock free and every VMA in the tree or
    back in the pool.

    Prints a summary ending in "violations: N" and exits 1 if N > 0."""
    locks, lock = lock, ",".join(lock)
    procfiles = list(PROCFILES) if procfile == "all" else [procfile]
    if procfile != "all":
        for design in locks:
            try:
                vocab.check_lock_procfile(design, procfile)
            except ValueError as e:
                raise click.UsageError(str(e))
    cfg = make_config(duration, locks, procfiles, writers, readers, inject, pages,
                      seed, max_violations)
    click.echo(f"procvma torture: {duration:g} s, {writers} writer(s), {readers} "
               f"reader(s), {pages} pages, --lock {lock}, --procfile {procfile}, "
               f"inject {'+'.join(inject) or 'none'}", err=True)
    res, err, interrupted = run(cfg)
    if err:
        click.echo(f"procvma torture: error: {os.strerror(err)}", err=True)
        sys.exit(2 if err == 22 else 1)
    out = violation_lines(res) + summary(res, locks, procfiles)
    click.echo("\n".join(out))
    if interrupted:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if res.stopped_early and res.violations:
        click.echo(f"stopped after {res.violations} violations "
                   f"(--max-violations {max_violations})", err=True)
    sys.exit(1 if res.violations else 0)
