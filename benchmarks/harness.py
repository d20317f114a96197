#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The harness measured: what the benchmark's own machinery costs, and how
the simulator's basic costs compare with the host kernel's.

  timer        cost of one CLOCK_MONOTONIC read, the timed region's overhead
  ops          one-page mmap()/munmap() with no readers: host kernel, the
               simulator with its knobs at 0, and calibrated
  walk         /proc walk cost per page (smaps_rollup, smaps) and per VMA
               (maps): host kernel, simulator raw and calibrated
  setup        per-sample set-up time as a share of --duration (goal < 3%)
  wall         a whole run's wall time against nsamples x duration

Run on a quiet machine (the load average is printed first and last):

  .venv/bin/python benchmarks/harness.py            # about 2 minutes
  .venv/bin/python benchmarks/harness.py --quick    # about 30 s
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import click

from procvma._core import lib
from procvma.fidelity import calibrate
from procvma.run import runner
from procvma.run.plan import make_plan
from procvma.sim import calibration


def load():
    return os.getloadavg()[0]


def timer(args):
    ns = statistics.median(lib.pv_calib_clock_ns(1000000) for _ in range(5))
    print(f"timer: one CLOCK_MONOTONIC read {ns:.1f} ns; a timed op reads the "
          f"clock twice: {2 * ns:.0f} ns on top of every mmap()/munmap() measured")


def samples(backend, procfile, nbusytasks, lock, nsamples, duration, **extra):
    """Rows of a run through the same code path as run-proc-vs-map."""
    q = {"backend": backend, "procfile": procfile, "nbusytasks": nbusytasks,
         "busyduration": 2, "lock": lock, "nsamples": nsamples,
         "duration": duration, "seed": 1, **dict.fromkeys(calibration.KNOBS)}
    plan = make_plan(q)
    params = dict(plan.sample, lock=plan.designs[0], **extra)
    runner.pin_driver(params["cpuscript"])
    return runner.run_samples(params, nsamples, plan.seed)


def ops(args):
    print(f"ops: one-page mmap()/munmap() with no readers, {args.nsamples} x "
          f"{args.duration:g} s; median over samples of opavg and p50, in us")
    zero = dict.fromkeys(calibration.KNOBS, 0.0)
    runs = [("host kernel", "kernel", None, {}),
            ("simulator, knobs at 0", "sim", "mmap", zero),
            ("simulator, calibrated", "sim", "mmap", {})]
    for name, backend, lock, extra in runs:
        rows = samples(backend, "smaps_rollup", 0, lock, args.nsamples,
                       args.duration, **extra)
        avg = statistics.median(r["opavg_ms"] for r in rows) * 1e3
        p50 = statistics.median(r["p50_ms"] for r in rows) * 1e3
        print(f"  {name:<24} opavg {avg:7.2f}   p50 {p50:7.2f}")


def walk(args):
    npages, iters, rep = args.mb * 256, 5, 5
    cal = calibration.load()
    print(f"walk: extra time per read of a {args.mb} MiB populated region, "
          f"median of {rep}; ns per page (maps: per VMA of one page)")
    for procfile, vma_pages in (("smaps_rollup", 0), ("smaps", 0), ("maps", 1)):
        div = (npages + 1) // 2 if vma_pages else npages
        host = calibrate.host_walk_ns(lib, procfile, npages, vma_pages, iters, rep) / div
        raw = calibrate.sim_walk_ns(lib, procfile, npages, vma_pages, iters, rep) / div
        knobbed = calibrate.sim_walk_ns(lib, procfile, npages, vma_pages, iters, rep,
                                        walk_cost_ns=cal.walk_cost_ns,
                                        text_cost_ns=cal.text_cost_ns) / div
        print(f"  {procfile:<14} host {host:8.1f}   sim {raw:8.1f}   "
              f"sim calibrated {knobbed:8.1f}")


def setup(args):
    print(f"setup: set-up time per sample as a share of --duration "
          f"{args.duration:g} s, {args.nsamples} samples each (goal < 3%)")
    for name, backend, procfile, lock in (
            ("sim mmap smaps_rollup", "sim", "smaps_rollup", "mmap"),
            ("sim vma smaps_rollup", "sim", "smaps_rollup", "vma"),
            ("kernel smaps_rollup", "kernel", "smaps_rollup", None),
            ("kernel maps", "kernel", "maps", None)):
        rows = samples(backend, procfile, 1, lock, args.nsamples, args.duration)
        s = [r["setup_s"] for r in rows]
        print(f"  {name:<24} median {statistics.median(s) * 1e3:7.1f} ms "
              f"({statistics.median(s) / args.duration * 100:5.2f}%), "
              f"max {max(s) * 1e3:7.1f} ms ({max(s) / args.duration * 100:5.2f}%)")


def wall(args):
    n, d = args.nsamples, args.duration
    print(f"wall: whole run-proc-vs-map runs against nsamples x duration "
          f"({n} x {d:g} s per table)")
    cmd = [sys.executable, "-c",
           "from procvma.cli.main import run_proc_vs_map; run_proc_vs_map()",
           "--nsamples", str(n), "--duration", str(d), "--busyduration", "2",
           "--procfile", "smaps_rollup", "--seed", "1"]
    for name, extra, tables in (("sim, both designs", [], 2),
                                ("kernel", ["--backend", "kernel"], 1)):
        t0 = time.monotonic()
        subprocess.run(cmd + extra, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        w = time.monotonic() - t0
        ideal = n * d * tables
        print(f"  {name:<24} {w:6.2f} s for {ideal:g} s of samples "
              f"(x{w / ideal:.3f}, {w - ideal:+.2f} s)")


SECTIONS = {"timer": timer, "ops": ops, "walk": walk, "setup": setup, "wall": wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sections", nargs="*", choices=[*SECTIONS, []], default=[],
                    help="what to measure (default: all)")
    ap.add_argument("--quick", action="store_true",
                    help="one short sample where the others take several")
    ap.add_argument("--nsamples", type=int, default=3)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--mb", type=int, default=128)
    args = ap.parse_args()
    if args.quick:
        args.nsamples, args.duration = 1, 1.0
    print(f"load average {load():.2f}; calibration: {calibration.load().measured}")
    try:
        for name in args.sections or SECTIONS:
            SECTIONS[name](args)
    except (runner.SampleFailed, click.ClickException) as e:
        sys.exit(f"harness: {e}")
    print(f"load average {load():.2f}")


if __name__ == "__main__":
    main()
