# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma show: print a simulated /proc/PID file."""

import sys

import click

from procvma.simmm import LOCKS, PAGE_SIZE, PROCFILES, with_holes


@click.command("show")
@click.argument("procfile", type=click.Choice(sorted(PROCFILES)))
@click.option("--mb", type=click.IntRange(1, 1 << 20), default=128, show_default=True,
              help="Size of the populated anonymous region, in MiB.")
@click.option("--holes", type=click.IntRange(0), default=0, show_default=True,
              help="Distinct random single pages to munmap() first.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed for where the holes go.")
@click.option("--lock", type=click.Choice(sorted(LOCKS)), default="vma", show_default=True,
              help="Reader locking design: mmap_lock for the whole read, or per-VMA locks.")
def show_cmd(procfile, mb, holes, seed, lock):
    """Build a simulated address space and print /proc/PID/PROCFILE as the
    kernel formats it.

    With K holes in a 128 MiB region, smaps_rollup says
    Rss: (32768-K)*4 kB; maps lists the merged VMAs that remain."""
    pages = mb * (1 << 20) // PAGE_SIZE
    if holes > pages:
        raise click.BadParameter(f"{holes} holes do not fit in {pages} pages",
                                 param_hint="--holes")
    with with_holes(pages, holes, seed) as mm:
        sys.stdout.write(mm.read(procfile, lock))
