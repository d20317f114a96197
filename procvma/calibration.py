# SPDX-License-Identifier: GPL-2.0-or-later
"""The simulator's calibrated costs: the one place their defaults live.

The model does the kernel's locking and bookkeeping step by step but not
everything the host kernel pays for around them.  Three knobs add that
work back, each as a clock-based spin where the kernel spends it:

op_cost_ns    per mmap()/munmap(), after the mmap write lock is released:
              syscall entry and exit, page allocation and zeroing, TLB
              flush, none of which keeps a /proc reader out.  Host: the
              mapper's median opavg with no readers (the kernel backend,
              --nbusytasks 0), minus the simulator's own opavg for the
              same op stream with the knobs at 0.
walk_cost_ns  per page a smaps or smaps_rollup page walk visits, under
              whatever lock the walker holds (one spin per VMA).  Host:
              the extra time /proc/self/smaps_rollup takes with a
              populated region of anonymous base pages than without it,
              per page, minus the simulator's per-page walk cost.
pass_cost_ns  per scanner pass, outside any mm lock: what the host pays
              for a pass of the scanner the run names (--scanner), less
              the walk.  cat (the default, as the reference harness's
              scanpid.sh): a bash loop that forks and execs cat per
              pass, from one pass's fork to the next.  read: an
              in-process open() + read() to EOF + close(), with no
              spawn: open() and close() and the read() that returns EOF.
              query (maps only): open() and close() of maps around
              the PROCMAP_QUERY ioctls, so read's value; the queries
              themselves the model does step by step.
              The simulator's scanner has no such work of its own.

`procvma calibrate` measures all of this on the machine it runs on and
prints the block below; with --write it replaces the block in this file.
A run takes these values (pass_cost_ns: its scanner's) unless the user
gives --op-cost-ns, --walk-cost-ns or --pass-cost-ns, and records the
values it used in its CSV.  The kernel backend ignores them.
"""

import datetime
import os
import re

KNOBS = ("op_cost_ns", "walk_cost_ns", "pass_cost_ns")
# The scanners (--scanner), whose pass costs are kept; the first is the
# default, as the reference's.
SCANNERS = ("cat", "read")
# Scanners whose pass costs, outside any lock, what another's does.
PASS_COST_AS = {"query": "read"}

# BEGIN CALIBRATED -- written by `procvma calibrate --write`
CALIBRATED = {
    "op_cost_ns": 11876.0,
    "walk_cost_ns": 59.8,
}
PASS_COST_NS = {
    "cat": 1037285.9,
    "read": 4864.7,
}
MEASURED = '2026-11-25, Linux 6.18.44-fc-v782, AMD EPYC, 2 CPUs, load average 0.56: procvma calibrate --write'
# END CALIBRATED

_BLOCK = re.compile(r"^# BEGIN CALIBRATED.*?^# END CALIBRATED\n",
                    re.MULTILINE | re.DOTALL)


def sim_knobs(params):
    """The knob values a simulated sample runs with: params' own where
    given (not None), the calibrated defaults otherwise, the pass cost
    being that of params' scanner (cat when it names none)."""
    scanner = params.get("scanner") or SCANNERS[0]
    defaults = dict(CALIBRATED,
                    pass_cost_ns=PASS_COST_NS[PASS_COST_AS.get(scanner, scanner)])
    return {k: float(defaults[k] if params.get(k) is None else params[k])
            for k in KNOBS}


def render_block(values, pass_costs, note):
    """The CALIBRATED block for values (a dict over op_cost_ns and
    walk_cost_ns), pass_costs (a dict over SCANNERS) and note."""
    lines = ["# BEGIN CALIBRATED -- written by `procvma calibrate --write`",
             "CALIBRATED = {"]
    lines += [f'    "{k}": {float(values[k]):.1f},' for k in KNOBS
              if k != "pass_cost_ns"]
    lines += ["}", "PASS_COST_NS = {"]
    lines += [f'    "{k}": {float(pass_costs[k]):.1f},' for k in SCANNERS]
    lines += ["}", f"MEASURED = {note!r}", "# END CALIBRATED", ""]
    return "\n".join(lines)


def measured_note(host, when=None):
    """One line saying where and how the values were measured."""
    when = when or datetime.date.today().isoformat()
    return (f"{when}, Linux {host['kernel_release']}, {host['cpu_model']}, "
            f"{host['ncpus']} CPUs, load average {host['load']:.2f}: "
            f"procvma calibrate {host['args']}")


def write_block(values, pass_costs, note, path=None):
    """Replace the CALIBRATED block in path (this module's source by
    default) and return the path.  OSError if it cannot be written."""
    path = path or os.path.abspath(__file__)
    with open(path) as f:
        text = f.read()
    new, n = _BLOCK.subn(lambda m: render_block(values, pass_costs, note), text,
                         count=1)
    if n != 1:
        raise OSError(f"{path}: no CALIBRATED block to replace")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)
    return path
