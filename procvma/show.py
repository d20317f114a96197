# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma show: print a simulated /proc/PID file, or what PROCMAP_QUERY
on its maps answers."""

import sys

import click

from procvma.options import check_region_fits
from procvma.simmm import LOCKS, PAGE_SIZE, PROCFILES, with_spread_holes


class Address(click.ParamType):
    """An address as a user copies it: 0x-prefixed hex, or decimal."""
    name = "ADDR"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            addr = int(value, 0)
        except ValueError:
            self.fail(f"{value!r} is not an address (0x7f2a40000000 or decimal)",
                      param, ctx)
        if not 0 <= addr < 1 << 64:
            self.fail(f"{value} is outside a 64-bit address space", param, ctx)
        return addr


def query_line(addr, vma):
    """One PROCMAP_QUERY's answer: the VMA as its maps line would show it."""
    if vma is None:
        return f"{addr:#x} -> ENOENT"
    flags = vma["vma_flags"]
    perms = "".join(c if flags & bit else "-" for c, bit in
                    (("r", 0x1), ("w", 0x2), ("x", 0x4)))
    perms += "s" if flags & 0x8 else "p"
    return (f"{addr:#x} -> {vma['vma_start']:08x}-{vma['vma_end']:08x} {perms} "
            f"{vma['vma_offset']:08x} {vma['dev_major']:02x}:{vma['dev_minor']:02x} "
            f"{vma['inode']}")


@click.command("show")
@click.argument("procfile", type=click.Choice(sorted(PROCFILES)))
@click.option("--mb", type=click.IntRange(1), default=128, show_default=True,
              help="Size of the populated anonymous region, in MiB (refused "
                   "up front when this machine cannot hold it).")
@click.option("--holes", type=click.IntRange(0), default=0, show_default=True,
              help="Single-page holes to munmap() first, spread evenly as "
                   "run-proc-vs-map --holes spreads them: K+1 VMAs.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed for where in its stretch of the region each hole goes.")
@click.option("--lock", type=click.Choice(sorted(LOCKS)), default="vma", show_default=True,
              help="Reader locking design: mmap_lock for the whole read, or per-VMA locks.")
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
