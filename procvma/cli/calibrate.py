# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma calibrate: measure the host costs the model leaves out; derive the knobs."""

import os
import sys
import time

import click

from procvma import vocab
from procvma.cli import common, options
from procvma.cli.common import CONTEXT
from procvma.fidelity.calibrate import (
    TEXT_VMA_PAGES, _median_of, host_walk_ns, no_reader_opavg, sim_walk_ns,
    text_ns_per_byte
)
from procvma.host import hostinfo
from procvma.run import runner
from procvma.sim import calibration


@click.command("calibrate", cls=common.Command, context_settings=CONTEXT)
@click.option("--nsamples", type=click.IntRange(min=1), default=3, show_default=True,
              help="Samples of the no-reader mapper run, per backend.")
@click.option("--duration", type=click.FloatRange(min=0.1, max=3600), default=2.0,
              show_default=True, metavar="SECONDS", help="Length of one such sample.")
@click.option("--mb", type=click.IntRange(min=1, max=4096), default=128,
              show_default=True, help="Size of the region the walks measure.")
@click.option("--repeat", type=click.IntRange(min=1), default=5, show_default=True,
              help="Repetitions of each walk measurement (the median is kept).")
@click.option("--scanner", "scanners", type=options.WordList(calibration.SCANNERS),
              default=",".join(calibration.SCANNERS), show_default=True,
              help="The scanners (--scanner of a run) whose pass cost to "
                   "measure; one not measured keeps the value in force.")
@click.option("--write", "write", is_flag=True,
              help="Store the derived values as this user's calibration, "
                   f"which later runs use (${calibration.ENV}, else "
                   "calibration.json in the user's config directory), "
                   "instead of only printing them.")
def calibrate_cmd(nsamples, duration, mb, repeat, scanners, write):
    """Measure this machine's kernel where the simulator does not model
    the work step by step, subtract the simulator's own cost for the same
    thing, and print the knob values that follow (see
    procvma/sim/calibration.py for what each knob is).  No root needed.
    Run it on a quiet machine: a busy one inflates every figure.

    Runs use this user's calibration once --write has stored it, the
    shipped defaults until then."""
    runner.check_ready("kernel")
    from procvma._core import lib

    args = " ".join(sys.argv[2:]) if len(sys.argv) > 2 else ""
    load = os.getloadavg()[0]
    if load > 1.0:
        click.echo(f"procvma calibrate: load average {load:.2f}: "
                   "figures will be inflated", err=True)
    npages = mb * 256
    iters = max(3, 20 * 32768 // npages)
    p = {"duration": duration, "mb": (mb,), "gb": ()}

    t0 = time.monotonic()
    clock_ns = _median_of(lambda: lib.pv_calib_clock_ns(1000000), repeat)
    k_op, notes = no_reader_opavg("kernel", p, nsamples)
    s_op, _ = no_reader_opavg("sim", p, nsamples)
    for note in notes:
        click.echo(f"procvma calibrate: {note}", err=True)
    walks = {}
    # numa_maps exists where the kernel has CONFIG_NUMA.
    page_walks = [pf for pf in ("smaps_rollup", "smaps", "numa_maps")
                  if pf != "numa_maps" or os.path.exists("/proc/self/numa_maps")]
    for procfile in page_walks:
        walks[procfile] = (host_walk_ns(lib, procfile, npages, 0, iters, repeat) / npages,
                           sim_walk_ns(lib, procfile, npages, 0, iters, repeat) / npages)
    text = text_ns_per_byte(lib, npages, iters, repeat)
    text_cost_ns = max(0.0, text[0] - text[1])
    # maps has no page walk: its cost is per VMA (VMAs of one page), a
    # check of the text knob on records of another file.
    nvmas = (npages + 1) // 2
    walks["maps"] = (host_walk_ns(lib, "maps", npages, 1, iters, repeat) / nvmas,
                     sim_walk_ns(lib, "maps", npages, 1, iters, repeat,
                                 text_cost_ns=text_cost_ns) / nvmas)
    # A scanner's pass outside the lock: open+close for the in-process
    # reader; for cat, the CPU time of a pass of the reference's bash
    # loop, cat reading its own small rollup (negligible next to the
    # fork and exec).
    read, cat = vocab.SCANNER.read, vocab.SCANNER.cat
    measure = {
        read: lambda: lib.pv_calib_proc_pass_ns(b"/proc/self/smaps_rollup", 20000, 0),
        cat: lambda: lib.pv_calib_cat_pass_ns(b"/proc/self/smaps_rollup", 400),
    }
    passes = dict(calibration.load().pass_cost_ns)
    passes.update({sc: _median_of(measure[sc], repeat) for sc in scanners})
    kept = {sc: "" if sc in scanners else " (kept)" for sc in calibration.SCANNERS}

    host = {"kernel_release": hostinfo.kernel_release(), "cpu_model": hostinfo.cpu_model(),
            "ncpus": len(hostinfo.cpus_online()), "load": load, "args": args}
    cal = calibration.Calibration(
        op_cost_ns=max(0.0, (k_op - s_op) * 1e6),
        walk_cost_ns=max(0.0, walks["smaps_rollup"][0] - walks["smaps_rollup"][1]),
        text_cost_ns=text_cost_ns,
        pass_cost_ns={sc: passes[sc] for sc in calibration.SCANNERS},
        measured=calibration.measured_note(host))

    rows = [
        ("clock read (CLOCK_MONOTONIC)", f"{clock_ns:.0f} ns", f"{clock_ns:.0f} ns", ""),
        ("mmap/munmap, 1 page, no readers (opavg)", f"{k_op * 1e3:.2f} us",
         f"{s_op * 1e3:.2f} us", f"op_cost_ns = {cal.op_cost_ns:.0f}"),
        ("smaps_rollup walk, per page", f"{walks['smaps_rollup'][0]:.1f} ns",
         f"{walks['smaps_rollup'][1]:.1f} ns", f"walk_cost_ns = {cal.walk_cost_ns:.1f}"),
        ("smaps walk, per page", f"{walks['smaps'][0]:.1f} ns",
         f"{walks['smaps'][1]:.1f} ns", "(same knob)"),
        ("numa_maps walk, per page",
         *((f"{walks['numa_maps'][0]:.1f} ns", f"{walks['numa_maps'][1]:.1f} ns")
           if "numa_maps" in walks else ("-", "-")), "(same knob)"),
        (f"smaps text, per byte (VMAs of {TEXT_VMA_PAGES} pages)", f"{text[0]:.2f} ns",
         f"{text[1]:.2f} ns", f"text_cost_ns = {cal.text_cost_ns:.2f}"),
        ("maps, per VMA", f"{walks['maps'][0]:.0f} ns", f"{walks['maps'][1]:.0f} ns",
         "(with text_cost_ns)"),
        (f"scanner pass: {cat}, bash loop, CPU", f"{passes[cat] / 1e3:.0f} us{kept[cat]}",
         "0 us", f"pass_cost_ns {cat} = {passes[cat]:.0f}"),
        (f"scanner pass: open+close (--scanner {read})",
         f"{passes[read] / 1e3:.1f} us{kept[read]}", "0 us",
         f"pass_cost_ns {read} = {passes[read]:.0f}"),
    ]
    click.echo(f"Calibrating the simulator against Linux {host['kernel_release']} "
               f"({host['cpu_model']}, load average {load:.2f}, "
               f"{time.monotonic() - t0:.0f} s)")
    click.echo("")
    click.echo(f"{'measurement':<44} {'host kernel':>12} {'simulator':>12}   knob")
    for name, k, s, knob in rows:
        click.echo(f"{name:<44} {k:>12} {s:>12}   {knob}")
    click.echo("")
    path = calibration.user_path()
    if write:
        try:
            calibration.store(cal, path)
        except OSError as e:
            raise click.ClickException(f"cannot store the calibration in {path}: "
                                       f"{e.strerror or e}")
        click.echo(f"calibration stored in {path}, which later runs use:")
    else:
        click.echo(f"calibration (--write stores it in {path}, "
                   "which later runs then use):")
    click.echo(cal.to_json(), nl=False)
    return 0
