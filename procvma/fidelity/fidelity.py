# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma fidelity: how close is the simulator to the kernel it runs on?
It runs the same experiment on the simulator and on the host kernel,
point by point over a grid, and prints the two side by side with their
ratio.  (procvma calibrate, in calibrate.py, tunes the simulator's host
costs so that they agree.)

Which simulated design stands for the host kernel depends on the kernel:
since per-VMA /proc reading (6.17), maps is read under per-VMA locks while
smaps_rollup still takes mmap_lock.  So each kernel file is set beside
the simulated design that reads it the way this kernel does, as procvma
info finds out by tracing (locktrace.procfile_locks()); where it cannot
(no root), Linux 6.17's pairing is assumed and said so.

Beside opavg, the mechanism: the mapper's wait for the write lock per
operation and the scanners' average read hold, from the simulator's own
locks and from the kernel's mmap_lock tracepoints (root and tracefs).
"""

import math
from dataclasses import dataclass

from procvma import vocab
from procvma.host import hostinfo
from procvma.results import stats, table
from procvma.results.fmt import is_finite
from procvma.run import plan, rounds
from procvma.sim import calibration

# Ratios sim/kernel inside this band count as "within 1.5x".
BAND = (1 / 1.5, 1.5)
# A side of a cell whose largest sample is more than this many times its
# smallest has samples in two regimes, not noise around one median.  10x
# lies at the top of the swings from one sample to the next measured here
# with the read scanner (2 to 10 times) and far below the gap between a
# mapper that runs and one starved behind a preempted reader (0.02 against
# 700 ms).  Which regime a sample falls into is decided in its first
# milliseconds, so the median of a few such samples is the luck of the draw.
SPREAD = 10
# Below this both sides are noise (a clock read, a tracepoint or two:
# the kernel's uncontended write lock "waits" a microsecond), and their
# ratio is not shown.
RESOLUTION_MS = 0.002
# The point the acceptance target is stated for: the seed's configuration.
TARGET = {"busyduration": 2, "nbusytasks": 1}


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


# The kernel files compared, and how a design is called in the table.
KERNEL_PROCFILES = ("smaps_rollup", "smaps", "maps", "numa_maps")
# Linux 6.17 and 6.18, for a kernel that cannot be asked: lock_vma_range()
# takes mmap_lock for every file but maps.
ASSUMED_LOCKS = dict.fromkeys(KERNEL_PROCFILES, vocab.LOCK.mmap) | {
    "maps": vocab.LOCK.vma}


def make_pairs(vma_procfile, kernel_locks, kernel_procfiles=None):
    """Each kernel file (of kernel_procfiles, default all kernel_locks
    names) beside the simulated design that reads it under the lock
    kernel_locks (procfile -> "mmap" | "vma") says this kernel uses; the
    vma design reads vma_procfile against the kernel's maps."""
    pairs = []
    for kfile in kernel_procfiles or list(kernel_locks):
        lock = kernel_locks[kfile]
        sim_file = vma_procfile if lock == vocab.LOCK.vma and kfile == "maps" else kfile
        pairs.append(Pair(f"{kfile} ({vocab.LOCK[lock].lock_name})", lock, sim_file,
                          kfile))
    return pairs


def kernel_locks(procfiles=KERNEL_PROCFILES):
    """(procfile -> "mmap" | "vma", note or None): which lock this kernel
    reads each of procfiles under, found by tracing; assumed, with a
    note saying so, where tracing cannot run."""
    from procvma.host import locktrace

    found = locktrace.procfile_locks(tuple(procfiles))
    if all(found[f] in vocab.LOCK for f in procfiles):
        return found, None
    return {f: ASSUMED_LOCKS[f] for f in procfiles}, (
        "cannot tell which lock this kernel reads /proc/PID files under "
        "(procvma info needs root and tracefs): assuming "
        + ", ".join(f"{f} under {vocab.LOCK[ASSUMED_LOCKS[f]].lock_name}"
                    for f in procfiles)
        + ", as Linux 6.17 and 6.18")


FIDELITY_DEFAULTS = {"nsamples": 3, "duration": 3.0}
QUICK = {"nsamples": 1, "duration": 0.5}


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


def _plan(p, backend, procfile, busyduration, nbusytasks, lock=None,
          scanner=vocab.SCANNER.default):
    q = dict(p, backend=backend, procfile=procfile, lock=lock,
             busyduration=busyduration if busyduration is not None else 0,
             nbusytasks=nbusytasks, rawdata=False, csv_path=None,
             scanner=scanner)
    if backend == "kernel":
        q.update(dict.fromkeys(calibration.KNOBS), preempt=None)
    return plan.make_plan(q)


class Run(rounds.Point):
    """One configuration of one point of the grid."""

    def __init__(self, key, plan, design):
        super().__init__(dict(plan.sample, lock=design), tag="", label="")
        self.key = key                  # (point, pair name, "sim"|"kernel")

    def values(self, metric):
        """Per sample, a CSV column, or a function of the row (MECHANISM)."""
        value = metric if callable(metric) else (lambda r: r[metric])
        return [value(r) for r in self.rows]

    def median(self, metric):
        return stats.median(self.values(metric))

    def two_regimes(self, metric):
        """Whether the samples of metric fall into two regimes (SPREAD)."""
        return stats.spread(self.values(metric), RESOLUTION_MS) > SPREAD


def _per(num, den, scale=1):
    return lambda row: scale * row[num] / row[den] if row[den] else math.nan


def _per_op(col):
    return lambda row: (row[col] / (row["nmaps"] + row["nunmaps"])
                        if row["nmaps"] + row["nunmaps"] else math.nan)


def preempted_share(row):
    """The part of the readers' mmap_lock hold time they spent preempted."""
    total = (row["reader_hold_running_ms"] + row["reader_hold_preempted_ms"]
             + row["reader_hold_sleeping_ms"])
    return row["reader_hold_preempted_ms"] / total if total else math.nan


# Why the mapper stalls, simulator against kernel, cell by cell: (heading,
# what it is, figure of a row).  The kernel's come from --trace (the hold
# split, the mapper's sleeps and the CPU per pass from the bpf engine).
MECHANISM = [
    ("opavg", "mean mmap()/munmap(), ms", lambda row: row["opavg_ms"]),
    ("acq/pass", "readers' mmap_lock acquisitions per pass",
     _per("reader_mmap_locks", "walks")),
    ("hold", "readers' average mmap_lock hold, ms",
     lambda row: row["reader_hold_avg_ms"]),
    ("preempted", "share of the hold time the holder spent preempted",
     preempted_share),
    ("run/hold", "readers' time on CPU per mmap_lock hold, us",
     _per("reader_hold_running_ms", "reader_mmap_locks", scale=1000)),
    ("wait/op", "mapper's write-lock wait per op, ms", table.mapper_wait_per_op),
    ("sleeps/op", "mapper's sleeps waiting for the write lock per op",
     _per_op("mapper_sleeps")),
    ("wakes/pass", "wake-ups of the waiting mapper per reader pass",
     _per("mapper_wakeups", "walks")),
    ("wake->run", "mapper's mean wake-up to running again, us",
     lambda row: row["mapper_wake_to_run_ms"] * 1000),
    ("cpu/pass", "readers' CPU time per pass, ms",
     lambda row: row["reader_cpu_per_pass_ms"]),
]


def _g(v):
    return f"{v:.3g}" if is_finite(v) else "-"


def format_mechanism(points, pairs, by_key, header):
    """The MECHANISM figures, one line per cell: each the simulator's
    median / the kernel's, and their ratio (! outside the band)."""
    lines = [header, ""]
    width = 20
    lines.append(f"{'':<37}" + "".join(f"{h:>{width}}" for h, _, _ in MECHANISM))
    for pair in pairs:
        for point in points:
            sim, ker = (by_key[(point, pair.name, side)] for side in ("sim", "kernel"))
            cells = ""
            for _, _, figure in MECHANISM:
                s, k = sim.median(figure), ker.median(figure)
                r = stats.ratio(s, k) if is_finite(s) and is_finite(k) and k else math.nan
                flag = "!" if is_finite(r) and not in_band(r) else " "
                cell = f"{_g(s)}/{_g(k)} {_fmt(r, 0, 2).strip()}{flag}"
                cells += " " + f"{cell:>{width - 1}}"
            lines.append(f"{pair.name:<25} {_point(point):<11}{cells}")
    lines.append("")
    lines.append("  each cell: simulator median / kernel median, then sim/kernel "
                 f"(! outside [{BAND[0]:.2f}, {BAND[1]:g}]); - not measured")
    for heading, what, _ in MECHANISM:
        lines.append(f"  {heading}: {what}")
    return "\n".join(lines) + "\n"


def plan_runs(p, points, pairs, scanner=vocab.SCANNER.default):
    """Every run of the grid, validated before the first starts, in the
    order each round runs them (rounds.run_each: sample k of every run,
    then sample k+1): per point, each pair's simulator then kernel run, so
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
                sim_lock, sim_file, kfile = vocab.LOCK.mmap, "smaps_rollup", "smaps_rollup"
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



def _fmt(v, width, prec=3):
    return f"{f'{v:.{prec}f}' if is_finite(v) else '-':>{width}}"


def spearman(xs, ys):
    """Rank correlation of two equally long lists (ties get mean ranks);
    None with fewer than three points or a constant list."""
    from scipy.stats import spearmanr

    pairs = [(x, y) for x, y in zip(xs, ys) if is_finite(x) and is_finite(y)]
    if len(pairs) < 3 or any(len(set(col)) < 2 for col in zip(*pairs)):
        return None
    return float(spearmanr(*zip(*pairs)).statistic)


def in_band(ratio):
    return BAND[0] <= ratio <= BAND[1]


def _point(point):
    bd, nt = point
    return f"bd {'-' if bd is None else bd} nt {nt}"


def two_regimes(point, pair, by_key, metric):
    """Whether either side of a cell has samples in two regimes."""
    return any(by_key[(point, pair.name, side)].two_regimes(metric)
               for side in ("sim", "kernel"))


def outside(points, pairs, by_key, metric):
    """Cells of the table whose ratio is outside BAND: ["bd 2 nt 1 ...", ...],
    each saying when its samples fall into two regimes."""
    bad = []
    for point in points:
        for pair in pairs:
            sim = by_key[(point, pair.name, "sim")].median(metric)
            ker = by_key[(point, pair.name, "kernel")].median(metric)
            r = stats.ratio(sim, ker) if is_finite(sim) and is_finite(ker) else math.nan
            if not is_finite(r) or not in_band(r):
                bad.append(f"{pair.name} {_point(point)}: {_fmt(r, 0, 2).strip()}"
                           + (" (spread: two regimes)"
                              if two_regimes(point, pair, by_key, metric) else ""))
    return bad


def regime_lines(points, pairs, by_key, metric):
    """For each cell with a side in two regimes, both sides' samples,
    sorted, so that the regimes show."""
    lines = []
    for point in points:
        for pair in pairs:
            if two_regimes(point, pair, by_key, metric):
                sides = " | ".join(
                    side + "".join(f" {v:.3f}" for v in sorted(
                        v for v in by_key[(point, pair.name, side)].values(metric)
                        if is_finite(v)))
                    for side in ("sim", "kernel"))
                lines.append(f"    {pair.name} {_point(point)}: {sides}")
    return lines


def format_table(points, pairs, by_key, metric, header, what=None, labels=True,
                 regimes=False):
    """The side-by-side table of metric (a column, or a function of a row
    that what names), with the pairs' labels unless labels is false, and
    with regimes, its cells in two regimes marked and their samples
    listed; returns (text, {pair name: target ratio})."""
    what = what or metric
    lines = [header, ""]
    cols = "".join(f"  {'sim':>8} {'kernel':>8} {'sim/kern':>8} " for _ in pairs)
    title = "".join(f"  {pair.name:^27.27}" for pair in pairs)
    lines.append(f"{'':>12} {'':>10}{title}")
    lines.append(f"{'busyduration':>12} {'nbusytasks':>10}{cols}")
    target_ratio, series = {}, {pair.name: ([], []) for pair in pairs}
    for point in points:
        bd, nt = point
        cells = ""
        for pair in pairs:
            sim = by_key[(point, pair.name, "sim")].median(metric)
            ker = by_key[(point, pair.name, "kernel")].median(metric)
            ratio = (stats.ratio(sim, ker) if not is_finite(sim) or not is_finite(ker)
                     or max(sim, ker) >= RESOLUTION_MS else math.nan)
            flag = ("" if not is_finite(ratio) or in_band(ratio) else "!") + (
                "~" if regimes and two_regimes(point, pair, by_key, metric) else "")
            cells += f"  {_fmt(sim, 8)} {_fmt(ker, 8)} {_fmt(ratio, 7, 2)}{flag:<2}"
            series[pair.name][0].append(sim)
            series[pair.name][1].append(ker)
            if bd == TARGET["busyduration"] and nt == TARGET["nbusytasks"]:
                target_ratio[pair.name] = ratio
        lines.append(f"{'-' if bd is None else bd:>12} {nt:>10}{cells}")
    lines.append("")
    for pair in pairs if labels else ():
        lines.append(f"  {pair.label()}")
    lines.append(f"  median {what} in ms per configuration; "
                 f"! marks a ratio outside [{BAND[0]:.2f}, {BAND[1]:g}]")
    if regimes:
        lines += [f"  ~ marks a cell whose sim or kernel samples span more than "
                  f"{SPREAD}x (two regimes): its",
                  "    ratio of medians is not a measurement (docs/fidelity.md, "
                  "\"Where the simulator is right\")"]
    if target_ratio:
        lines.append("  at --busyduration 2 --nbusytasks 1: " + ", ".join(
            f"{name} {_fmt(r, 0, 2).strip()}" for name, r in target_ratio.items()))
    trend = {name: spearman(*s) for name, s in series.items()}
    lines.append("  trend (Spearman rank correlation of sim and kernel over the "
                 "points): " + ", ".join(f"{name} {_fmt(r, 0, 2).strip()}"
                                         for name, r in trend.items()))
    spread_cells = regime_lines(points, pairs, by_key, metric) if regimes else []
    if spread_cells:
        lines.append(f"  the samples of each cell marked ~ ({what}, sorted):")
        lines += spread_cells
    return "\n".join(lines) + "\n", target_ratio




def _open_trace(params):
    """(an entered lock trace for samples of params, a note or None), or
    (None, why not): the kernel runs' lock figures need root and BPF or
    tracefs, the rest does not."""
    from procvma.host import lockbpf, locktrace

    try:
        return lockbpf.open_trace(params)
    except locktrace.TraceUnavailable as e:
        return None, f"no kernel lock figures: {e}"


@dataclass
class Grid:
    """A fidelity run, planned: every run of every scanner (validated
    before the first starts, all on the same op streams), and how to
    print them."""
    runs: list
    tables: list            # (scanner, {key: run}) per table
    points: list
    pairs: list
    notes: list
    seed: int
    metric: str
    check: bool
    params: dict


def plan_grid(p):
    """The fidelity_cmd options p (a dict it consumes) as a Grid, with
    lock_note: how the kernel's locks were found, or None."""
    defaults = QUICK if p.pop("quick") else FIDELITY_DEFAULTS
    for k, v in defaults.items():
        if p.get(k) is None:
            p[k] = v
    metric = p.pop("metric")
    check = p.pop("check")
    kernel_procfiles = list(dict.fromkeys(p.pop("procfile")))
    locks, lock_note = kernel_locks(kernel_procfiles)
    pairs = make_pairs(p.pop("vma_procfile"), locks, kernel_procfiles)
    scanners = list(dict.fromkeys(p.pop("scanner")))
    points = grid_points(p.pop("busyduration"), p.pop("nbusytasks"))
    # Every run of every scanner, validated before the first starts; all
    # see the same op streams.
    tables, runs, notes, seed = [], [], [], p.get("seed")
    for scanner in scanners:
        s_runs, by_key, s_notes, seed = plan_runs(dict(p, seed=seed), points,
                                                  pairs, scanner)
        tables.append((scanner, by_key))
        runs += s_runs
        notes += [n for n in s_notes if n not in notes]
    for i, run in enumerate(runs, 1):
        q = run.params
        run.tag = (f"[{i}/{len(runs)} {q['backend']} {q['lock']} {q['procfile']} "
                   f"{q['scanner']} bd {q['busyduration']} nt {q['nbusytasks']}]")
        run.label = run.tag + " "
    return Grid(runs, tables, points, pairs, notes, seed, metric, check, p), lock_note


def render_grid(grid, traced):
    """(the tables' text, the cells outside the band); traced: whether
    the kernel's lock figures could be traced."""
    p, points, pairs, metric = grid.params, grid.points, grid.pairs, grid.metric
    text, bad = "", []
    for scanner, by_key in grid.tables:
        header = (f"Simulator vs Linux {hostinfo.kernel_release()} on this machine, "
                  f"--scanner {scanner}"
                  + (f", --holes {p['holes']}" if p.get("holes") else "")
                  + f": {p['nsamples']} sample(s) x {p['duration']:g} s per "
                  "configuration")
        text += ("\n" if text else "") + format_table(
            points, pairs, by_key, metric, header, regimes=True)[0]
        preempt = next(iter(by_key.values())).params.get("preempt", "-")
        text += "\n" + format_mechanism(
            points, pairs, by_key,
            f"Why the mapper stalls (--scanner {scanner}, simulator preempt "
            f"{preempt}): the mechanism, cell by cell")
        bad += [f"--scanner {scanner} {cell}"
                for cell in outside(points, pairs, by_key, metric)]
    if not traced:
        text += ("  (kernel: - where its mmap_lock tracepoints could not be "
                 "traced; needs root and tracefs)\n")
    return text, bad
