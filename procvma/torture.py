# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma torture: hammer the simulated mm with every invariant check on
(csrc/torture/torture.c does the work), and prove the checks catch real bugs by
injecting them."""

import os
import sys

import click

from procvma import runner, vocab
from procvma._core import ffi, lib
from procvma.commands import CONTEXT, EXIT_INTERRUPTED
from procvma.simmm import INJECT, LOCKS, PROCFILES


def make_config(duration, locks, procfiles, writers=1, readers=2, inject=(),
                pages=2048, seed=1, max_violations=100, phase_ms=100.0):
    cfg = ffi.new("struct pv_torture_config *")
    cfg.locks = sum(1 << LOCKS[name] for name in locks)
    cfg.procfiles = sum(1 << PROCFILES[name] for name in procfiles)
    cfg.writers = writers
    cfg.readers = readers
    cfg.duration_s = duration
    cfg.inject = sum(INJECT[name] for name in inject)
    cfg.region_pages = pages
    cfg.phase_ms = phase_ms
    cfg.seed = seed
    cfg.stop_after = max_violations
    return cfg


def run(cfg):
    """Run the torture in a worker thread so that Ctrl-C reaches us and
    stops it.  Returns (result struct, errno or 0, interrupted)."""
    res = ffi.new("struct pv_torture_result *")
    # The stop flag is sticky: clear it before the run, not inside it, so
    # that a Ctrl-C from here on is never lost.
    lib.pv_torture_reset_stop()
    rc, interrupted = runner.in_worker(lambda: lib.pv_torture_run(cfg, res),
                                       lib.pv_torture_stop, "pv_torture_run")
    return res, -rc if rc is not None and rc < 0 else 0, interrupted


def summary(res, locks, procfiles):
    """The summary lines, "name: value", with violations last."""
    walks = {lock: {pf: res.walks[LOCKS[lock]][PROCFILES[pf]] for pf in procfiles}
             for lock in locks}
    stats = [res.stats[LOCKS[lock]] for lock in locks]
    lines = [f"walks: {sum(sum(w.values()) for w in walks.values())}"]
    for lock, per in walks.items():
        lines.append(f"walks {lock}: " + ", ".join(f"{pf} {n}" for pf, n in per.items()))
    lines += [
        f"fallbacks: {sum(s.fallbacks for s in stats)}",
        f"drops: {sum(s.drops for s in stats)}",
        f"drops per design: " + ", ".join(
            f"{lock} {res.stats[LOCKS[lock]].drops}" for lock in locks),
        f"retries: {sum(s.retries for s in stats)}",
        f"vmas walked: {sum(s.vmas for s in stats)}",
        f"exact-total checks: {res.conserving_checks}",
        f"coverage checks: {res.coverage_checks}",
        f"pages checked for coverage: {res.coverage_pages}",
        f"writer ops: {res.maps + res.unmaps + res.remaps + res.enomem} "
        f"(mmap {res.maps}, munmap {res.unmaps}, re-map in place {res.remaps}, "
        f"ENOMEM {res.enomem})",
        f"vmas at end: {res.vmas_in_tree} in tree + {res.vmas_free} free "
        f"= {res.vmas_in_tree + res.vmas_free} of {res.vmas_total}",
        f"pages populated at end: {res.pages_populated}",
        f"elapsed: {res.elapsed_s:.1f} s",
        f"violations: {res.violations}",
    ]
    return lines


def violation_lines(res):
    lines = [f"violation: {ffi.string(res.messages[i]).decode(errors='replace')}"
             for i in range(res.nmessages)]
    if res.violations > res.nmessages:
        lines.append(f"violation: ... and {res.violations - res.nmessages} more")
    return lines


@click.command("torture", context_settings=CONTEXT)
@click.option("--duration", type=click.FloatRange(min=0.1, max=86400), default=10.0,
              show_default=True, help="Seconds to run.")
@click.option("--lock", type=click.Choice(vocab.LOCK.choices()), default=vocab.LOCK.every,
              show_default=True, help="Reader locking design(s) to walk in.")
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
@click.option("--seed", type=click.IntRange(0, 2**64 - 1), default=1, show_default=True,
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
    locks = vocab.LOCK.expand(lock)
    procfiles = list(PROCFILES) if procfile == "all" else [procfile]
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
