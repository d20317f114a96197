# SPDX-License-Identifier: GPL-2.0-or-later
"""How close is the simulator to the kernel it runs on?

procvma calibrate   measures the host kernel's costs that the model does
                    not do step by step, subtracts the simulator's own
                    cost for the same thing, and derives the knobs of
                    procvma/calibration.py.
procvma fidelity    runs the same experiment on the simulator and on the
                    host kernel, point by point over a grid, and prints
                    the two side by side with their ratio.

Which simulated design stands for the host kernel depends on the kernel:
since per-VMA /proc reading (6.x), maps is read under per-VMA locks while
smaps_rollup still takes mmap_lock.  So the simulator's mmap design is
compared with the kernel's smaps_rollup and its vma design with the
kernel's maps, each reading the same file as the kernel it stands for.
"""

import math
import os
import sys
import time

import click
from scipy.stats import spearmanr

from procvma import calibration, commands, hostinfo, options, runner, stats
from procvma.commands import CONTEXT, OneLineErrors

# Ratios sim/kernel inside this band count as "within 2x".
BAND = (0.5, 2.0)
# The point the acceptance target is stated for: the seed's configuration.
TARGET = {"busyduration": 2, "nbusytasks": 1}


class FidelityCommand(OneLineErrors, options.DashDashCommand):
    pass


# ---- procvma fidelity ------------------------------------------------------

class Pair:
    """One simulated design against the kernel reading the file whose
    locking that design models."""

    def __init__(self, name, lock, sim_procfile, kernel_procfile):
        self.name = name
        self.lock = lock
        self.sim_procfile = sim_procfile
        self.kernel_procfile = kernel_procfile

    def label(self):
        return (f"{self.name}: sim --lock {self.lock} {self.sim_procfile} "
                f"vs kernel {self.kernel_procfile}")


def make_pairs(vma_procfile):
    return [Pair("mmap_lock", "mmap", "smaps_rollup", "smaps_rollup"),
            Pair("per-VMA", "vma", vma_procfile, "maps")]


FIDELITY_OPTIONS = {
    "busyduration": click.option(
        "--busyduration", type=options.IntList(0), default="0,1,2,5",
        show_default=True, help="Busy-waiters' spin times, ms (0: forever)."),
    "nbusytasks": click.option(
        "--nbusytasks", type=options.IntList(0), default="0,1,2",
        show_default=True, help="Scanners (and busy-waiters) per busy CPU; "
                                "0 is the no-reader baseline, run once."),
    "vma_procfile": click.option(
        "--vma-procfile", type=click.Choice(["maps", "smaps_rollup"]),
        default="maps", show_default=True,
        help="What the simulated vma design reads against the kernel's maps: "
             "the same file, or the seed's per-VMA smaps_rollup."),
    "scanner": click.option(
        "--scanner", type=click.Choice(calibration.SCANNERS), default="cat",
        show_default=True,
        help="How the scanners read, on both backends: cat per pass, as "
             "the reference harness (and SPEC's anchors), or the in-process "
             "read loop."),
    "metric": click.option(
        "--metric", type=click.Choice(["opavg_ms", "opmax_ms", "p50_ms", "p90_ms",
                                       "p99_ms", "p999_ms", "walk_avg_ms"]),
        default="opavg_ms", show_default=True,
        help="The per-sample figure whose median is compared."),
    "check": click.option(
        "--check", is_flag=True,
        help="Exit 1 unless both ratios at --busyduration 2 --nbusytasks 1 "
             f"lie within [{BAND[0]:g}, {BAND[1]:g}]."),
}

# Shorter defaults than the benchmark's: the grid multiplies them.
FIDELITY_DEFAULTS = {"nsamples": 3, "duration": 3.0}


def grid_points(busydurations, nbusytasks):
    """(busyduration, nbusytasks) points; with no readers there are no
    busy-waiters either, so busyduration means nothing: one baseline."""
    points = []
    if 0 in nbusytasks:
        points.append((None, 0))
    for bd in busydurations:
        for nt in nbusytasks:
            if nt:
                points.append((bd, nt))
    return points


def _plan(p, backend, procfile, busyduration, nbusytasks, lock=None, scanner="cat"):
    q = dict(p, backend=backend, procfile=procfile, lock=lock,
             busyduration=busyduration if busyduration is not None else 0,
             nbusytasks=nbusytasks, rawdata=False, csv_path=None,
             scanner=scanner)
    if backend == "kernel":
        q.update(dict.fromkeys(calibration.KNOBS))
    return options.make_plan(q)


class Run(commands.Point):
    """One configuration of one point of the grid."""

    def __init__(self, key, plan, design):
        super().__init__(dict(plan.sample, lock=design), tag="", label="")
        self.key = key                  # (point, pair name, "sim"|"kernel")

    def median(self, metric):
        return stats.median(r[metric] for r in self.rows)


def plan_runs(p, points, pairs, scanner="cat"):
    """Every run of the grid, validated before the first starts, in the
    order they run: per point, each pair's simulator then kernel run, so
    that slow drifts in the machine's load hit both sides alike.  A
    kernel run two pairs share (the baseline) is run once."""
    runs, notes, seed, by_key = [], [], p.get("seed"), {}
    for point in points:
        bd, nt = point
        for pair in pairs:
            sim_lock, sim_file = pair.lock, pair.sim_procfile
            kfile = pair.kernel_procfile
            if nt == 0:
                # No readers: the design and the file do not matter.
                sim_lock, sim_file, kfile = "mmap", "smaps_rollup", "smaps_rollup"
            for backend, procfile, lock, design in (
                    ("sim", sim_file, sim_lock, sim_lock),
                    ("kernel", kfile, None, "kernel")):
                ident = (point, backend, procfile, lock)
                if ident in by_key:
                    by_key[(point, pair.name, backend)] = by_key[ident]
                    continue
                plan = _plan(dict(p, seed=seed), backend, procfile, bd, nt, lock,
                             scanner)
                seed = plan.seed
                notes += [n for n in plan.notes if n not in notes]
                run = Run((point, pair.name, backend), plan, design)
                by_key[ident] = by_key[run.key] = run
                runs.append(run)
    return runs, by_key, notes, seed


def _known(v):
    """Not None, NaN (no samples) or infinite (a ratio to nothing)."""
    return v is not None and math.isfinite(v)


def _fmt(v, width, prec=3):
    return f"{f'{v:.{prec}f}' if _known(v) else '-':>{width}}"


def spearman(xs, ys):
    """Rank correlation of two equally long lists (ties get mean ranks);
    None with fewer than three points or a constant list."""
    pairs = [(x, y) for x, y in zip(xs, ys) if _known(x) and _known(y)]
    if len(pairs) < 3 or any(len(set(col)) < 2 for col in zip(*pairs)):
        return None
    return float(spearmanr(*zip(*pairs)).statistic)


def format_table(points, pairs, by_key, metric, header):
    """The side-by-side table; returns (text, {pair name: target ratio})."""
    lines = [header, ""]
    cols = "".join(f"  {'sim':>8} {'kernel':>8} {'sim/kern':>8}" for _ in pairs)
    title = "".join(f"  {pair.name:^26}" for pair in pairs)
    lines.append(f"{'':>12} {'':>10}{title}")
    lines.append(f"{'busyduration':>12} {'nbusytasks':>10}{cols}")
    target_ratio, series = {}, {pair.name: ([], []) for pair in pairs}
    for point in points:
        bd, nt = point
        cells = ""
        for pair in pairs:
            sim = by_key[(point, pair.name, "sim")].median(metric)
            ker = by_key[(point, pair.name, "kernel")].median(metric)
            ratio = stats.ratio(sim, ker)
            flag = " " if not _known(ratio) or BAND[0] <= ratio <= BAND[1] else "!"
            cells += f"  {_fmt(sim, 8)} {_fmt(ker, 8)} {_fmt(ratio, 7, 2)}{flag}"
            series[pair.name][0].append(sim)
            series[pair.name][1].append(ker)
            if bd == TARGET["busyduration"] and nt == TARGET["nbusytasks"]:
                target_ratio[pair.name] = ratio
        lines.append(f"{'-' if bd is None else bd:>12} {nt:>10}{cells}")
    lines.append("")
    for pair in pairs:
        lines.append(f"  {pair.label()}")
    lines.append(f"  median {metric} in ms per configuration; "
                 f"! marks a ratio outside [{BAND[0]:g}, {BAND[1]:g}]")
    if target_ratio:
        lines.append("  at --busyduration 2 --nbusytasks 1: " + ", ".join(
            f"{name} {_fmt(r, 0, 2).strip()}" for name, r in target_ratio.items()))
    trend = {name: spearman(*s) for name, s in series.items()}
    lines.append("  trend (Spearman rank correlation of sim and kernel over the "
                 "points): " + ", ".join(f"{name} {_fmt(r, 0, 2).strip()}"
                                         for name, r in trend.items()))
    return "\n".join(lines) + "\n", target_ratio


@click.command("fidelity", cls=FidelityCommand, context_settings=CONTEXT)
@options.apply_options(FIDELITY_OPTIONS)
@options.apply_options({k: options.RUN_OPTIONS[k] for k in
                        ("nsamples", "csv", "seed", "quiet",
                         *options.COST_OPTIONS)})
@options.apply_options(options.SAMPLE_OPTIONS,
                       skip={"busyduration", "nbusytasks", "procfile"})
def fidelity_cmd(**p):
    """Run the same experiment on the simulator and on this machine's
    kernel and print them side by side: the simulated mmap design against
    the kernel's smaps_rollup (read under mmap_lock), the simulated vma
    design against the kernel's maps (read under per-VMA locks), at every
    point of the --busyduration x --nbusytasks grid.

    \b
    A quick look (one point, about 10 s):
      procvma fidelity --busyduration 2 --nbusytasks 1 --nsamples 1 --duration 2
    """
    for k, v in FIDELITY_DEFAULTS.items():
        if p.get(k) is None:
            p[k] = v
    metric = p.pop("metric")
    check = p.pop("check")
    pairs = make_pairs(p.pop("vma_procfile"))
    scanner = p.pop("scanner")
    points = grid_points(p.pop("busyduration"), p.pop("nbusytasks"))
    if check and (TARGET["busyduration"], TARGET["nbusytasks"]) not in points:
        raise click.UsageError("--check needs the point --busyduration 2 "
                               "--nbusytasks 1 in the grid")
    runs, by_key, notes, seed = plan_runs(p, points, pairs, scanner)
    runner.check_ready("kernel")
    writer = None
    if p.get("csv_path"):
        from procvma.csvio import ResultsWriter
        writer = ResultsWriter.open(p["csv_path"], commands.command_line())
    for note in notes:
        click.echo(f"procvma fidelity: {note}", err=True)

    for i, run in enumerate(runs, 1):
        q = run.params
        run.tag = (f"[{i}/{len(runs)} {q['backend']} {q['lock']} {q['procfile']} "
                   f"bd {q['busyduration']} nt {q['nbusytasks']}]")
        run.label = run.tag + " "
    status, failure = commands.run_each(
        runs, p["nsamples"], seed, writer,
        figures=lambda row: f"{metric} {row[metric]:.3f} ms",
        prog="procvma fidelity", quiet=bool(p.get("quiet")))

    header = (f"Simulator vs Linux {hostinfo.kernel_release()} on this machine, "
              f"--scanner {scanner}: {p['nsamples']} sample(s) x {p['duration']:g} s "
              "per configuration")
    text, target = format_table(points, pairs, by_key, metric, header)
    sys.stdout.write(text)
    sys.stdout.flush()
    if commands.interrupted(status):
        click.echo("interrupted: the table shows the samples that finished", err=True)
        return status
    if failure:
        click.echo(f"procvma fidelity: error: {failure}", err=True)
        return status
    if check:
        bad = [f"{name} {_fmt(r, 0, 2).strip()}" for name, r in target.items()
               if not _known(r) or not BAND[0] <= r <= BAND[1]]
        if bad:
            click.echo("procvma fidelity: outside "
                       f"[{BAND[0]:g}, {BAND[1]:g}]: {', '.join(bad)}", err=True)
            return 1
    return 0


# ---- procvma calibrate -------------------------------------------------------

def _median_of(fn, repeat):
    vals = [fn() for _ in range(repeat)]
    bad = [v for v in vals if v < 0]
    if bad:
        raise click.ClickException(f"measurement failed: {os.strerror(int(-bad[0]))}")
    return stats.median(vals)


def host_walk_ns(lib, procfile, npages, vma_pages, iters, repeat):
    """The host's extra time per read of /proc/self/PROCFILE with a
    populated region of npages pages (in VMAs of vma_pages, 0: one VMA)
    than without it; the rest of this process's memory cancels out."""
    path = f"/proc/self/{procfile}".encode()
    base = _median_of(lambda: lib.pv_calib_proc_pass_ns(path, iters, 1), repeat)
    region = lib.pv_calib_region_map(npages, vma_pages)
    if not region:
        raise click.ClickException(f"cannot map a {npages}-page test region")
    try:
        full = _median_of(lambda: lib.pv_calib_proc_pass_ns(path, iters, 1), repeat)
    finally:
        lib.pv_calib_region_unmap(region, npages)
    return full - base


def sim_walk_ns(lib, procfile, npages, vma_pages, iters, repeat, walk_cost_ns=0.0):
    """The simulator's extra time per read with npages pages mapped (in
    VMAs of vma_pages) than with one, in the mmap design, with
    walk_cost_ns per page (0: the model's own cost)."""
    from procvma.simmm import LOCKS, PROCFILES, SimMM

    def timed(pages, holes):
        with SimMM(pages) as mm:
            lib.pv_mm_set_walk_cost_ns(mm._mm, walk_cost_ns)
            if holes:
                for page in range(vma_pages, pages, vma_pages + 1):
                    mm.munmap(page, 1)
            return _median_of(lambda: lib.pv_calib_sim_pass_ns(
                mm._mm, PROCFILES[procfile], LOCKS["mmap"], iters), repeat)

    return timed(npages, vma_pages) - timed(1, 0)


def no_reader_opavg(backend, p, nsamples):
    """Median opavg (ms) of the mapper with no readers."""
    q = dict(p, backend=backend, procfile="smaps_rollup", nbusytasks=0,
             busyduration=0, lock="mmap" if backend == "sim" else None,
             nsamples=nsamples, rawdata=False, scanner=None, csv_path=None,
             **dict.fromkeys(calibration.KNOBS))
    plan = options.make_plan(q)
    params = dict(plan.sample, lock=plan.designs[0])
    if backend == "sim":
        params.update(dict.fromkeys(calibration.KNOBS, 0.0))
    runner.pin_driver(params["cpuscript"])
    try:
        rows = runner.run_samples(params, nsamples, plan.seed,
                                  label=f"--backend {backend}, ")
    except runner.Interrupted:
        raise click.Abort()
    except runner.SampleFailed as e:
        raise click.ClickException(str(e))
    return stats.median(r["opavg_ms"] for r in rows), plan.notes


@click.command("calibrate", cls=FidelityCommand, context_settings=CONTEXT)
@click.option("--nsamples", type=click.IntRange(min=1), default=3, show_default=True,
              help="Samples of the no-reader mapper run, per backend.")
@click.option("--duration", type=click.FloatRange(min=0.1, max=3600), default=2.0,
              show_default=True, metavar="SECONDS", help="Length of one such sample.")
@click.option("--mb", type=click.IntRange(min=1, max=4096), default=128,
              show_default=True, help="Size of the region the walks measure.")
@click.option("--repeat", type=click.IntRange(min=1), default=5, show_default=True,
              help="Repetitions of each walk measurement (the median is kept).")
@click.option("--write", "write", is_flag=True,
              help="Store the derived values as the defaults in "
                   "procvma/calibration.py instead of only printing them.")
def calibrate_cmd(nsamples, duration, mb, repeat, write):
    """Measure this machine's kernel where the simulator does not model
    the work step by step, subtract the simulator's own cost for the same
    thing, and print the knob values that follow (see
    procvma/calibration.py for what each knob is).  No root needed.
    Run it on a quiet machine: a busy one inflates every figure."""
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
    for procfile in ("smaps_rollup", "smaps"):
        walks[procfile] = (host_walk_ns(lib, procfile, npages, 0, iters, repeat) / npages,
                           sim_walk_ns(lib, procfile, npages, 0, iters, repeat) / npages)
    # maps has no page walk: its cost is per VMA (VMAs of one page).
    nvmas = (npages + 1) // 2
    walks["maps"] = (host_walk_ns(lib, "maps", npages, 1, iters, repeat) / nvmas,
                     sim_walk_ns(lib, "maps", npages, 1, iters, repeat) / nvmas)
    # A scanner's pass outside the lock: open+close for the in-process
    # reader; fork to exit for cat, whose own small rollup walk is
    # negligible next to it.
    open_close = _median_of(lambda: lib.pv_calib_proc_pass_ns(
        b"/proc/self/smaps_rollup", 20000, 0), repeat)
    cat = _median_of(lambda: lib.pv_calib_cat_pass_ns(
        b"/proc/self/smaps_rollup", 50), repeat)

    pass_costs = {"cat": cat, "read": open_close}
    values = {
        "op_cost_ns": max(0.0, (k_op - s_op) * 1e6),
        "walk_cost_ns": max(0.0, walks["smaps_rollup"][0] - walks["smaps_rollup"][1]),
        "pass_cost_ns": pass_costs["cat"],
    }
    host = {"kernel_release": hostinfo.kernel_release(), "cpu_model": hostinfo.cpu_model(),
            "ncpus": len(hostinfo.cpus_online()), "load": load, "args": args}
    note = calibration.measured_note(host)

    rows = [
        ("clock read (CLOCK_MONOTONIC)", f"{clock_ns:.0f} ns", f"{clock_ns:.0f} ns", ""),
        ("mmap/munmap, 1 page, no readers (opavg)", f"{k_op * 1e3:.2f} us",
         f"{s_op * 1e3:.2f} us", f"op_cost_ns = {values['op_cost_ns']:.0f}"),
        ("smaps_rollup walk, per page", f"{walks['smaps_rollup'][0]:.1f} ns",
         f"{walks['smaps_rollup'][1]:.1f} ns", f"walk_cost_ns = {values['walk_cost_ns']:.1f}"),
        ("smaps walk, per page", f"{walks['smaps'][0]:.1f} ns",
         f"{walks['smaps'][1]:.1f} ns", "(same knob)"),
        ("maps, per VMA", f"{walks['maps'][0]:.0f} ns", f"{walks['maps'][1]:.0f} ns",
         "(no knob)"),
        ("scanner pass: cat (the reference's scanner)", f"{cat / 1e3:.0f} us", "0 us",
         f"pass_cost_ns = {values['pass_cost_ns']:.0f}"),
        ("scanner pass: open+close (--scanner read)", f"{open_close / 1e3:.1f} us",
         "0 us", f"(PASS_COST_NS[\"read\"])"),
    ]
    click.echo(f"Calibrating the simulator against Linux {host['kernel_release']} "
               f"({host['cpu_model']}, load average {load:.2f}, "
               f"{time.monotonic() - t0:.0f} s)")
    click.echo("")
    click.echo(f"{'measurement':<44} {'host kernel':>12} {'simulator':>12}   knob")
    for name, k, s, knob in rows:
        click.echo(f"{name:<44} {k:>12} {s:>12}   {knob}")
    click.echo("")
    block = calibration.render_block(values, pass_costs, note)
    if write:
        try:
            path = calibration.write_block(values, pass_costs, note)
        except OSError as e:
            raise click.ClickException(f"cannot store the defaults: {e}")
        click.echo(f"defaults stored in {path}:")
    else:
        click.echo("defaults (procvma/calibration.py; --write stores them there):")
    click.echo(block, nl=False)
    return 0
