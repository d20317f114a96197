# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma show: print a simulated /proc/PID file, or what PROCMAP_QUERY answers."""

import sys

import click

from procvma import vocab
from procvma.cli import options
from procvma.run.plan import check_region_fits
from procvma.sim.show import Address, query_line
from procvma.sim.simmm import PAGE_SIZE, PROCFILES, with_spread_holes


@click.command("show")
@click.argument("procfile", type=click.Choice(sorted(PROCFILES)))
@click.option("--mb", type=click.IntRange(1), default=128, show_default=True,
              help="Size of the populated anonymous region, in MiB (refused "
                   "up front when this machine cannot hold it).")
@click.option("--holes", type=click.IntRange(0), default=0, show_default=True,
              help="Single-page holes to munmap() first, spread evenly as "
                   "run-proc-vs-map --holes spreads them: K+1 VMAs.")
@click.option("--seed", type=options.SEED, metavar=options.SEED_METAVAR,
              default=1, show_default=True,
              help="Seed for where in its stretch of the region each hole goes.")
@click.option("--lock", type=click.Choice(vocab.LOCK.selectable()),
              default=vocab.LOCK.baseline, show_default=True,
              help="The reader's locking design (one: the text is the same "
                   "under each): " + "; ".join(
                       f"{w}, {w.help.split(', ', 1)[-1]}"
                       for w in vocab.LOCK.selectable()) + ".")
@click.option("--query", "queries", type=Address(), multiple=True,
              help="maps only: instead of the text, ask PROCMAP_QUERY for the "
                   "VMA covering ADDR and print it as a maps line, or ENOENT. "
                   "Repeatable.")
@click.option("--next", "next_vma", is_flag=True,
              help="With --query: PROCMAP_QUERY_COVERING_OR_NEXT_VMA, the VMA "
                   "covering ADDR or else the first one above it, as a "
                   "symbolizer walking the address space asks.")
def show_cmd(procfile, mb, holes, seed, lock, queries, next_vma):
    """Build a simulated address space and print /proc/PID/PROCFILE as the
    kernel formats it.

    With K holes in a 128 MiB region, smaps_rollup says
    Rss: (32768-K)*4 kB; maps lists the K+1 VMAs that remain.  The region
    starts at 0x7f2a40000000."""
    if (queries or next_vma) and procfile != "maps":
        raise click.UsageError("--query is an ioctl on /proc/PID/maps: "
                               "use it with maps")
    if next_vma and not queries:
        raise click.UsageError("--next modifies --query: give an ADDR to ask about")
    try:
        vocab.check_lock_procfile(lock, procfile, query=bool(queries))
    except ValueError as e:
        raise click.UsageError(str(e))
    pages = mb * (1 << 20) // PAGE_SIZE
    check_region_fits("--mb", mb, pages, "sim")
    try:
        mm = with_spread_holes(pages, holes, seed)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--holes")
    with mm:
        if queries:
            for addr in queries:
                click.echo(query_line(addr, mm.query(addr, lock, next_vma)))
        else:
            sys.stdout.write(mm.read(procfile, lock))
