# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma torture: hammer the simulated mm with every invariant check on
(csrc/torture/torture.c does the work), and prove the checks catch real bugs by
injecting them."""



from procvma import native
from procvma._core import ffi, lib
from procvma.sim.simmm import INJECT, LOCKS, PROCFILES


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
    rc, interrupted = native.in_worker(lambda: lib.pv_torture_run(cfg, res),
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
