#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What --trace costs the mapper, per engine, in one guest.

    scripts/trace-cost.py [--kernel debian:6.1] [--rounds 6] [--procfile maps]
                          [--nbusytasks N]

Boots one guest of the kernel and runs, round by round, one sample
untraced and one traced with each engine (the order rotating round by
round, so that no engine always runs first after the boot), then prints
each engine's median opavg and the median of its per-round ratios to the
untraced sample of the same round.  An engine that falls back (fentry
refused) says so in its rows' trace_engine.  In a TCG guest the timings
are emulated: the ratios compare the engines, they are no native cost.
"""

import argparse
import csv
import os
import shlex
import statistics
import sys
import tempfile

from procvma.host import guest
from procvma.run import inguest

UNTRACED = "untraced"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", default="debian:6.1")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--procfile", default="maps")
    ap.add_argument("--duration", default="2")
    ap.add_argument("--engines", default="bpf,fentry")
    ap.add_argument("--nbusytasks", help="run-proc-vs-map's; 0: no scanners")
    ap.add_argument("--report", metavar="DIR",
                    help="no guest: report an earlier run's rows in DIR")
    args = ap.parse_args()

    configs = [UNTRACED] + args.engines.split(",")
    if args.report:
        return report(args, configs, args.report)
    kernel = inguest.resolve(args.kernel)
    program = inguest._program("run-proc-vs-map")
    outdir = tempfile.mkdtemp(prefix="procvma-guest-")
    steps = []
    for r in range(args.rounds):
        for i in range(len(configs)):
            config = configs[(r + i) % len(configs)]
            argv = [program, "--backend", "kernel", "--nsamples", "1",
                    "--duration", args.duration, "--busyduration", args.duration,
                    "--procfile", args.procfile, "--label", f"{config}-{r}",
                    "--csv", os.path.join(outdir, f"{config}.csv")]
            if args.nbusytasks is not None:
                argv += ["--nbusytasks", args.nbusytasks]
            if config != UNTRACED:
                argv += ["--trace", "--trace-engine", config]
            steps.append(shlex.join(argv) + " >/dev/null")
    # Under TCG, with the host busy, a step has taken 40 s.
    per_step = 10 * float(args.duration) + 30
    try:
        result = guest.run(kernel, "; ".join(steps), timeout=60 + per_step * len(steps),
                           outdir=outdir, log=lambda m: print(m, file=sys.stderr))
    except guest.GuestError as e:
        # The rounds done so far are on disk: report those.
        print(f"trace-cost: {e}; the rounds completed so far:", file=sys.stderr)
        result = None
    else:
        if result.stderr:
            sys.stderr.write(result.stderr)
    print(f"(rows in {outdir})", file=sys.stderr)
    return report(args, configs, outdir)


def report(args, configs, outdir):
    rows = {}
    for config in configs:
        path = os.path.join(outdir, f"{config}.csv")
        if not os.path.exists(path):
            rows[config] = {}
            continue
        with open(path) as f:
            rows[config] = {row["label"].rsplit("-", 1)[1]: row for row in csv.DictReader(f)}
    some = next(iter(rows[UNTRACED].values()), {})
    accel = some.get("vm_accel", "?")
    print(f"{some.get('kernel_release', '?')} ({accel}"
          f"{': timing emulated' if accel == 'tcg' else ''}), /proc/PID/{args.procfile}, "
          f"{len(rows[UNTRACED])} rounds of 1 sample of {args.duration} s")
    base = rows[UNTRACED]
    print(f"{'config':10} {'engine':8} {'median opavg ms':>16} {'median ratio':>13} {'range':>14}")
    for config in configs:
        got = {r: row for r, row in rows[config].items() if r in base}
        if not got:
            continue
        opavg = [float(row["opavg_ms"]) for row in got.values()]
        ratios = [float(got[r]["opavg_ms"]) / float(base[r]["opavg_ms"]) for r in got]
        engines = sorted({row["trace_engine"] for row in got.values()})
        print(f"{config:10} {','.join(engines):8} {statistics.median(opavg):16.4f} "
              f"{statistics.median(ratios):13.3f} {min(ratios):6.3f}-{max(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
