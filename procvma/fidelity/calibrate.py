# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma calibrate: measure the host kernel's costs that the model does
not do step by step, subtract the simulator's own cost for the same
thing, and derive the knobs (procvma/sim/calibration.py says what each is)
from the difference; --write stores them as this user's calibration."""

import contextlib
import os
import time
from dataclasses import dataclass
from typing import List, Tuple

import click

from procvma import vocab
from procvma.host import hostinfo
from procvma.results import stats
from procvma.run import rounds
from procvma.run.plan import make_plan
from procvma.sim import calibration


def _median_of(fn, repeat):
    vals = [fn() for _ in range(repeat)]
    bad = [v for v in vals if v < 0]
    if bad:
        raise click.ClickException(f"measurement failed: {os.strerror(int(-bad[0]))}")
    return stats.median(vals)


@contextlib.contextmanager
def _host_region(lib, npages, vma_pages):
    """This process with a populated region of npages pages mapped, in
    VMAs of vma_pages (0: one VMA), for the with block."""
    region = lib.pv_calib_region_map(npages, vma_pages)
    if not region:
        raise click.ClickException(f"cannot map a {npages}-page test region")
    try:
        yield
    finally:
        lib.pv_calib_region_unmap(region, npages)


@contextlib.contextmanager
def _sim_region(pages, vma_pages):
    """A SimMM of pages pages, cut into VMAs of vma_pages (0: one VMA) as
    pv_calib_region_map() cuts the host's region."""
    from procvma.sim.simmm import SimMM

    with SimMM(pages) as mm:
        if vma_pages:
            for page in range(vma_pages, pages, vma_pages + 1):
                mm.munmap(page, 1)
        yield mm


def host_walk_ns(lib, procfile, npages, vma_pages, iters, repeat):
    """The host's extra time per read of /proc/self/PROCFILE with a
    populated region of npages pages (in VMAs of vma_pages, 0: one VMA)
    than without it; the rest of this process's memory cancels out."""
    path = f"/proc/self/{procfile}".encode()
    base = _median_of(lambda: lib.pv_calib_proc_pass_ns(path, iters, 1), repeat)
    with _host_region(lib, npages, vma_pages):
        full = _median_of(lambda: lib.pv_calib_proc_pass_ns(path, iters, 1), repeat)
    return full - base


def sim_walk_ns(lib, procfile, npages, vma_pages, iters, repeat, walk_cost_ns=0.0,
                text_cost_ns=0.0):
    """The simulator's extra time per read with npages pages mapped (in
    VMAs of vma_pages) than with one, in the mmap design, with
    walk_cost_ns per page and text_cost_ns per byte (0: the model's own
    cost)."""
    from procvma.sim.simmm import LOCKS, PROCFILES

    def timed(pages, vmas_of):
        with _sim_region(pages, vmas_of) as mm:
            lib.pv_mm_set_walk_cost_ns(mm._mm, walk_cost_ns)
            lib.pv_mm_set_text_cost_ns(mm._mm, text_cost_ns)
            return _median_of(lambda: lib.pv_calib_sim_pass_ns(
                mm._mm, PROCFILES[procfile], LOCKS[vocab.LOCK.mmap], iters), repeat)

    return timed(npages, vma_pages) - timed(1, 0)


# The layout the text cost is measured on: VMAs of this many pages, the
# seed's mm after a few seconds of one-page mmap()s and munmap()s.
TEXT_VMA_PAGES = 15


def host_text_bytes(lib, procfiles, npages, vma_pages):
    """{procfile: how much longer /proc/self/PROCFILE is} with the test
    region mapped, each of procfiles read under the one mapping."""
    def size(procfile):
        with open(f"/proc/self/{procfile}", "rb") as f:
            return len(f.read())
    base = {pf: size(pf) for pf in procfiles}
    with _host_region(lib, npages, vma_pages):
        return {pf: size(pf) - base[pf] for pf in procfiles}


def sim_text_bytes(procfiles, npages, vma_pages):
    """The same for the simulator's text, against a region of one page."""
    def sizes(pages, vmas_of):
        with _sim_region(pages, vmas_of) as mm:
            return {pf: len(mm.read(pf, lock=vocab.LOCK.mmap)) for pf in procfiles}
    full, base = sizes(npages, vma_pages), sizes(1, 0)
    return {pf: full[pf] - base[pf] for pf in procfiles}


def text_ns_per_byte(lib, npages, iters, repeat):
    """Host and simulator: what the text of smaps costs a byte, as the
    time smaps takes beyond smaps_rollup (the same page walk, one record
    instead of one a VMA) over the bytes it writes beyond it, with the
    region in VMAs of TEXT_VMA_PAGES pages."""
    v, files = TEXT_VMA_PAGES, ("smaps", "smaps_rollup")
    host = (host_walk_ns(lib, "smaps", npages, v, iters, repeat)
            - host_walk_ns(lib, "smaps_rollup", npages, v, iters, repeat))
    sim = (sim_walk_ns(lib, "smaps", npages, v, iters, repeat)
           - sim_walk_ns(lib, "smaps_rollup", npages, v, iters, repeat))
    host_bytes = host_text_bytes(lib, files, npages, v)
    sim_bytes = sim_text_bytes(files, npages, v)
    return (host / (host_bytes["smaps"] - host_bytes["smaps_rollup"]),
            sim / (sim_bytes["smaps"] - sim_bytes["smaps_rollup"]))


def no_reader_opavg(backend, p, nsamples):
    """Median opavg (ms) of the mapper with no readers."""
    q = dict(p, backend=backend, procfile="smaps_rollup", nbusytasks=0,
             busyduration=0, lock=vocab.LOCK.mmap if backend == "sim" else None,
             nsamples=nsamples, rawdata=False, scanner=None, csv_path=None,
             # The simulator's own cost, which the knobs are to make up.
             **dict.fromkeys(calibration.KNOBS, 0.0 if backend == "sim" else None))
    plan = make_plan(q)
    params = dict(plan.sample, lock=plan.designs[0])
    point = rounds.Point(params, f"[--backend {backend}]", f"--backend {backend}, ")
    status, failure = rounds.run_each([point], nsamples, plan.seed, quiet=True)
    if rounds.interrupted(status):
        raise click.Abort()
    if failure:
        raise click.ClickException(failure)
    return stats.median(r["opavg_ms"] for r in point.rows), plan.notes


@dataclass
class Measured:
    """What calibrate measured: the derived calibration, and for the table
    each measurement's (name, host kernel, simulator, knob) row."""
    cal: calibration.Calibration
    rows: List[Tuple[str, str, str, str]]
    host: dict
    notes: List[str]
    seconds: float


def measure(nsamples, duration, mb, repeat, scanners, args=""):
    """Measure this machine's kernel and the simulator side by side and
    derive the knobs; args is the command line's, for the record."""
    from procvma._core import lib

    load = os.getloadavg()[0]
    npages = mb * 256
    iters = max(3, 20 * 32768 // npages)
    p = {"duration": duration, "mb": (mb,), "gb": ()}

    t0 = time.monotonic()
    clock_ns = _median_of(lambda: lib.pv_calib_clock_ns(1000000), repeat)
    k_op, notes = no_reader_opavg("kernel", p, nsamples)
    s_op, _ = no_reader_opavg("sim", p, nsamples)
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
    return Measured(cal, rows, host, notes, time.monotonic() - t0)


def render(m):
    """The calibration table, as calibrate prints it."""
    lines = [f"Calibrating the simulator against Linux {m.host['kernel_release']} "
             f"({m.host['cpu_model']}, load average {m.host['load']:.2f}, "
             f"{m.seconds:.0f} s)", "",
             f"{'measurement':<44} {'host kernel':>12} {'simulator':>12}   knob"]
    lines += [f"{name:<44} {k:>12} {s:>12}   {knob}" for name, k, s, knob in m.rows]
    return "\n".join(lines) + "\n"
