# SPDX-License-Identifier: GPL-2.0-or-later
"""The reference harness's options, declared once, and every check made on
them before anything runs.

proc-vs-map.sh takes --busyduration, --cpubusytasks, --cpumapper,
--cpuscript, --duration, --gb|--mb, --nbusycpus, --nbusytasks and
--procfile; its repeater run-proc-vs-map.sh adds --nsamples and --rawdata
and hands everything after "--" to it.  We accept all of them on either side
of "--".  Options default to None here so that validation can tell what
the user asked for from what the defaults filled in: only defaults shrink
to fit a small machine; a CPU the user names must exist.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import List, Optional, Tuple

import click

from procvma import hostinfo, vocab

# proc-vs-map.sh's defaults, except --nbusycpus: the repeater always runs
# its per-sample script with --nbusycpus 2.
DEFAULTS = {
    "busyduration": 0,
    "cpubusytasks": 2,
    "cpumapper": 0,
    "cpuscript": 1,
    "duration": 10.0,
    "nbusycpus": 2,
    "nbusytasks": 1,
    "nsamples": 7,
    "max_samples": 40,      # --nsamples auto: rounds at most
    "precision": 0.10,      # --nsamples auto: +-10%
    "mb": 128,
}

SIM_MAX_MAP_COUNT = 65530     # the simulated vm.max_map_count
PAGE_SIZE = 4096

# What each design is, for table titles.
DESIGN_TITLES = {w: w.help for w in vocab.LOCK}


# ---- CPUs ---------------------------------------------------------------

def usable_cpus():
    """CPUs that are online and that this process may run on."""
    return set(hostinfo.cpus_online()) & os.sched_getaffinity(0)


def _why_unusable(cpu, usable):
    allowed = hostinfo.format_cpulist(usable)
    if cpu in hostinfo.cpus_online():
        return f"CPU {cpu} is not in this process's CPU affinity (allowed: {allowed})"
    if os.path.exists(f"/sys/devices/system/cpu/cpu{cpu}"):
        return f"CPU {cpu} is offline (online and allowed: {allowed})"
    return f"no CPU {cpu} on this machine (online and allowed: {allowed})"


@dataclass
class Layout:
    """Where the tasks run: the mapper, the driver, and the busy CPUs
    cpubusytasks .. cpubusytasks+nbusycpus-1."""
    cpumapper: int
    cpuscript: int
    cpubusytasks: int
    nbusycpus: int

    def busy_cpus(self):
        return list(range(self.cpubusytasks, self.cpubusytasks + self.nbusycpus))

    def cpus(self):
        return {self.cpumapper, self.cpuscript, *self.busy_cpus()}

    def as_options(self):
        return (f"--cpumapper {self.cpumapper} --cpuscript {self.cpuscript} "
                f"--cpubusytasks {self.cpubusytasks} --nbusycpus {self.nbusycpus}")


def plan_layout(cpumapper=None, cpuscript=None, cpubusytasks=None,
                nbusycpus=None, usable=None):
    """Return (Layout, note).  Arguments left None take the reference's
    defaults; when those need CPUs this machine lacks, the defaulted ones
    shrink to fit (mapper and driver on the first CPU, busy tasks ending on
    the last CPU, as many busy CPUs as fit) and note says how.  Explicit
    values that cannot be honoured raise click.UsageError."""
    if usable is None:
        usable = usable_cpus()
    usable = set(usable)
    for name, cpu in (("--cpumapper", cpumapper), ("--cpuscript", cpuscript),
                      ("--cpubusytasks", cpubusytasks)):
        if cpu is not None and cpu not in usable:
            raise click.UsageError(f"{name} {cpu}: {_why_unusable(cpu, usable)}")

    def busy_fits(start, n):
        return all(c in usable for c in range(start, start + n))

    def explicit_busy_range_error(start, n):
        if n > len(usable):
            return click.UsageError(
                f"--nbusycpus {n}: only {len(usable)} CPU{'s' if len(usable) != 1 else ''} "
                f"usable ({hostinfo.format_cpulist(usable)})")
        bad = next(c for c in range(start, start + n) if c not in usable)
        return click.UsageError(
            f"--nbusycpus {n} needs busy CPUs {start}-{start + n - 1}: "
            f"{_why_unusable(bad, usable)}")

    layout = Layout(
        cpumapper=DEFAULTS["cpumapper"] if cpumapper is None else cpumapper,
        cpuscript=DEFAULTS["cpuscript"] if cpuscript is None else cpuscript,
        cpubusytasks=DEFAULTS["cpubusytasks"] if cpubusytasks is None else cpubusytasks,
        nbusycpus=DEFAULTS["nbusycpus"] if nbusycpus is None else nbusycpus,
    )
    if layout.nbusycpus == 0 and layout.cpubusytasks not in usable:
        # No busy CPUs, so no busy CPU to name; keep the value a real CPU.
        layout.cpubusytasks = min(usable)
    if layout.cpus() <= usable:
        return layout, None

    # Shrink what was left to default.  The driver moves next to the
    # mapper so that the busy tasks can have the CPUs above them.
    first, last = min(usable), max(usable)
    if cpumapper is None:
        layout.cpumapper = first
    if cpuscript is None:
        layout.cpuscript = first
    if busy_fits(layout.cpubusytasks, layout.nbusycpus):
        pass
    elif cpubusytasks is not None and nbusycpus is not None:
        raise explicit_busy_range_error(cpubusytasks, nbusycpus)
    elif cpubusytasks is not None:
        # Explicit first busy CPU: as many busy CPUs as fit from there.
        while not busy_fits(cpubusytasks, layout.nbusycpus):
            layout.nbusycpus -= 1
    elif nbusycpus is not None:
        # Explicit count: the block that ends on the last CPU.
        start = last - nbusycpus + 1
        if start < 0 or not busy_fits(start, nbusycpus):
            raise explicit_busy_range_error(max(start, 0), nbusycpus)
        layout.cpubusytasks = start
    else:
        # Both defaulted: the largest block ending on the last CPU that
        # stays off the mapper's CPU; one busy CPU in any case.
        for n in range(layout.nbusycpus, 0, -1):
            start = last - n + 1
            if n == 1 or (busy_fits(start, n) and layout.cpumapper < start):
                break
        layout.cpubusytasks, layout.nbusycpus = start, n
    note = (f"{len(usable)} CPU{'s' if len(usable) != 1 else ''} usable "
            f"({hostinfo.format_cpulist(usable)}), fewer than the default layout needs: "
            f"running with {layout.as_options()}")
    return layout, note


def layout_warnings(layout):
    """The reference's two placement warnings, still worth a line."""
    warnings = []
    if layout.cpumapper in layout.busy_cpus():
        warnings.append(f"the mapper and the busy tasks share CPU {layout.cpumapper}: "
                        "expect false positives")
    if layout.cpuscript in layout.busy_cpus():
        warnings.append(f"the driver and the busy tasks share CPU {layout.cpuscript}: "
                        "a hung sample may be noticed late")
    return warnings


# ---- other checks ---------------------------------------------------------

def format_bytes(n):
    """A byte count in the largest binary unit that keeps it >= 1."""
    for shift, unit in ((50, "PiB"), (40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} B"


def check_region_fits(name, size, pages, backend):
    """Refuse, before anything is allocated, a region this machine cannot
    hold: the simulator's page state, page tables and VMA pool (the C
    core says how much), or the kernel's pages and page tables, against
    MemAvailable, not MemTotal: what other processes hold is not ours."""
    if backend == "kernel":
        need, what = pages * (PAGE_SIZE + 8), "the region's pages and page tables need"
    else:
        try:
            from procvma.simmm import MAX_REGION_PAGES, footprint
        except ImportError:
            return      # no C core: runner.check_ready says so in one line
        if pages > MAX_REGION_PAGES:
            raise click.UsageError(
                f"{name} {size}: larger than the simulator's largest region "
                f"({format_bytes(MAX_REGION_PAGES * PAGE_SIZE)})")
        need, what = footprint(pages), "a simulated region of this size needs"
    avail = hostinfo.mem_available()
    if avail is not None and need > avail:
        raise click.UsageError(
            f"{name} {size}: {what} {format_bytes(need)} of memory; this machine "
            f"has {format_bytes(avail)} available (MemAvailable)")


def region_pages(gb, mb, backend="sim"):
    """--gb/--mb (each a tuple of the values given) as a page count, once
    the backend's region is known to fit in memory."""
    given = [("--gb", v) for v in gb] + [("--mb", v) for v in mb]
    if len(given) > 1:
        raise click.UsageError(
            "only one of --gb and --mb may be given (got "
            + " ".join(f"{n} {v}" for n, v in given) + ")")
    name, size = given[0] if given else ("--mb", DEFAULTS["mb"])
    pages = (size << (30 if name == "--gb" else 20)) // PAGE_SIZE
    check_region_fits(name, size, pages, backend)
    return pages


def check_scanner(scanner, procfile, backend):
    """A scanner that reads one file alone (query: maps) reads that file;
    query's ioctl needs a kernel that has it."""
    try:
        vocab.check_scanner_procfile(scanner, procfile)
    except ValueError as e:
        raise click.UsageError(str(e))
    if scanner == vocab.SCANNER.query and backend == vocab.BACKEND.kernel:
        supported, why = hostinfo.procmap_query()
        if not supported and why != hostinfo.UNKNOWN:
            raise click.UsageError(f"--scanner {scanner}: this kernel cannot answer "
                                   f"PROCMAP_QUERY: {why}")


def check_holes(holes, pages, backend):
    """K holes need a stretch of at least 3 pages each, and K+1 VMAs
    within vm.max_map_count (the host's, or the simulator's 65530)."""
    if holes > pages // 3:
        raise click.UsageError(f"--holes {holes}: at most {pages // 3} fit in a "
                               f"region of {pages} pages (3 pages each)")
    limit = hostinfo.max_map_count() if backend == "kernel" else SIM_MAX_MAP_COUNT
    if limit is not None and holes + 1 > limit:
        raise click.UsageError(f"--holes {holes}: {holes + 1} VMAs exceed "
                               f"vm.max_map_count ({limit})")


# bytes of the C core's pv_bench_config.scanner_command, NUL included
SCANNER_COMMAND_MAX = 1024


def check_scanner_command(command, scanner, backend):
    """--scanner-command runs a real program against a real process, in
    place of --scanner.  Returns notes for stderr."""
    custom = vocab.SCANNER.custom
    if command is None:
        return []
    if backend != custom.backend:
        raise click.UsageError(f"{custom.chosen_by} runs a program on a real "
                               f"process's /proc files: use it with --backend "
                               f"{custom.backend}")
    if scanner is not None:
        raise click.UsageError(f"{custom.chosen_by} replaces --scanner: give one "
                               "of them")
    if not command.strip():
        raise click.UsageError(f"{custom.chosen_by}: the command is empty")
    if "\0" in command or len(command.encode()) >= SCANNER_COMMAND_MAX:
        raise click.UsageError(f"{custom.chosen_by}: longer than "
                               f"{SCANNER_COMMAND_MAX - 1} bytes")
    if "{pid}" not in command:
        return [f"{custom.chosen_by} {command!r} has no {{pid}}: it does not "
                "name the mapper, whose /proc files the run measures"]
    return []


def check_procfile(procfile, backend):
    if backend == vocab.BACKEND.sim:
        if procfile not in vocab.PROCFILE:
            raise click.UsageError(
                f"--procfile {procfile}: the simulator has "
                + ", ".join(vocab.PROCFILE))
    elif not hostinfo.procfile_exists(procfile):
        raise click.UsageError(f"--procfile {procfile}: not a /proc/PID file")


# ---- option declarations ---------------------------------------------------

class ListOf(click.ParamType):
    """A comma-separated list of values of one option's own type (sweep's
    and fidelity's grids): each item is checked as the single-valued
    option checks its value."""

    def __init__(self, item=click.STRING):
        self.item = item
        self.name = f"{getattr(item, 'name', 'value').upper()}[,...]"

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        out = []
        for text in str(value).split(","):
            if not text:
                self.fail("an empty item", param, ctx)
            out.append(self.item.convert(text, param, ctx))
        return out


class IntList(ListOf):
    """A comma-separated list of integers >= minimum."""
    name = "N[,N...]"

    def __init__(self, minimum=0):
        super().__init__(click.IntRange(min=minimum))
        self.name = IntList.name


class WordList(ListOf):
    """A comma-separated list of words, optionally from a fixed set."""
    name = "WORD[,WORD...]"

    def __init__(self, choices=None):
        super().__init__(click.Choice(list(choices)) if choices else click.STRING)
        self.name = WordList.name


class Opt:
    """One option, declared once: its flag, its type (which checks a value)
    and its help.  one() is the benchmark's single-valued option, many()
    the same option as a comma-separated list, for the grids of procvma
    sweep and procvma fidelity: the same help and the same checks."""

    def __init__(self, *decls, type=click.STRING, metavar=None, help="",
                 default_help=None, words=None):
        self.decls = decls
        self.type = type
        self.metavar = metavar
        self.help = help            # a str, or with words: words -> str
        self.default_help = default_help
        self.words = words          # a vocabulary: type is its choice

    def _help(self, words=None):
        if callable(self.help):
            return self.help(words or self.words.selectable())
        return self.help

    def one(self):
        more = f" (default {self.default_help})" if self.default_help else ""
        kind = _choice(self.words) if self.words else self.type
        return click.option(*self.decls, type=kind, metavar=self.metavar,
                            default=None, help=self._help() + more)

    def many(self, default=None, choices=None, note="", default_help=None):
        """The list-valued option; choices narrows a word option's set."""
        words = list(choices or (self.words.selectable() if self.words else ()))
        item = click.Choice(words) if words else self.type
        more = f" (default {default_help})" if default_help else ""
        metavar = (self.metavar or "|".join(words) or "VALUE") + "[,...]"
        return click.option(self.decls[0], type=ListOf(item), default=default,
                            metavar=metavar,
                            show_default=default is not None and not default_help,
                            help=f"{self._help(words)} A comma-separated list."
                                 f"{note}{more}")


def _choice(vocabulary):
    return click.Choice(vocabulary.choices())


class SampleCount(click.ParamType):
    """--nsamples: a count >= 1, or "auto" (AUTO): sample until the
    samples decide (procvma/autostop.py)."""
    name = "N|auto"

    def convert(self, value, param, ctx):
        if value == AUTO or isinstance(value, int) and value >= 1:
            return value
        try:
            n = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is neither a count nor {AUTO!r}", param, ctx)
        if n < 1:
            self.fail(f"{n} is below 1", param, ctx)
        return n


AUTO = "auto"


class Percent(click.ParamType):
    """A percentage: '10%' or '10' -> 0.10, above 0 and below 100%."""
    name = "P%"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        text = str(value).strip().rstrip("%").strip()
        try:
            v = float(text) / 100
        except ValueError:
            self.fail(f"{value!r} is not a percentage (e.g. 10%)", param, ctx)
        if not 0 < v < 1:
            self.fail(f"{value!r}: give a percentage above 0 and below 100",
                      param, ctx)
        return v


def _opt(*decls, **kw):
    return click.option(*decls, default=kw.pop("default", None), **kw)


# proc-vs-map.sh's options, in its --help order (and --holes, --lock,
# --scanner, which sweep and fidelity take as lists too).
SAMPLE_OPTS = {
    "busyduration": Opt("--busyduration", type=click.IntRange(min=0), metavar="MS",
                        help="Busy-waiters spin this long, then sleep 1 ms; 0: spin "
                             "forever.", default_help="0"),
    "cpubusytasks": Opt("--cpubusytasks", type=click.IntRange(min=0), metavar="CPU",
                        help="First busy CPU.", default_help="2"),
    "cpumapper": Opt("--cpumapper", type=click.IntRange(min=0), metavar="CPU",
                     help="The mapper's CPU.", default_help="0"),
    "cpuscript": Opt("--cpuscript", type=click.IntRange(min=0), metavar="CPU",
                     help="The driver's CPU.", default_help="1"),
    "duration": Opt("--duration", type=click.FloatRange(min=0, min_open=True,
                                                        max=86400),
                    metavar="SECONDS", help="Length of one sample.",
                    default_help="10"),
    "nbusycpus": Opt("--nbusycpus", type=click.IntRange(min=0), metavar="N",
                     help="Number of busy CPUs, the table's #Busy.",
                     default_help="2, fewer on a smaller machine"),
    "nbusytasks": Opt("--nbusytasks", type=click.IntRange(min=0), metavar="N",
                      help="Scanners and as many busy-waiters per busy CPU.",
                      default_help="1"),
    "procfile": Opt("--procfile", metavar="FILE",
                    help="/proc/PID file the scanners read: "
                         + ", ".join(vocab.PROCFILE) + " (kernel: any).",
                    default_help=vocab.PROCFILE.default),
    "holes": Opt("--holes", type=click.IntRange(min=0), metavar="K",
                 help="Start from K single-page holes spread evenly over the "
                      "region, K+1 VMAs: a fragmented address space.",
                 default_help="0"),
    "lock": Opt("--lock", words=vocab.LOCK,
                help=lambda words: "Simulated /proc locking design: " + ", ".join(
                    f"{w} ({vocab.LOCK[w].help.split(':')[0]})" for w in words) + ".",
                default_help=f"{vocab.LOCK.default}: {', '.join(vocab.LOCK)}"),
    "scanner": Opt("--scanner", words=vocab.SCANNER,
                   help=lambda words: "How a scanner reads, on either backend: "
                   + "; ".join(f"{w}{f' (--procfile {w.procfile})' if w.procfile else ''}"
                               f", {w.help}" for w in map(vocab.SCANNER.check, words))
                   + ".",
                   default_help=vocab.SCANNER.default),
    "gb": Opt("--gb", type=click.IntRange(min=1), metavar="N",
              help="Region size in GiB (or --mb; one of the two)."),
    "mb": Opt("--mb", type=click.IntRange(min=1), metavar="N",
              help="Region size in MiB.", default_help="128"),
}

SAMPLE_OPTIONS = {k: SAMPLE_OPTS[k].one() for k in (
    "busyduration", "cpubusytasks", "cpumapper", "cpuscript", "duration")}
SAMPLE_OPTIONS.update({
    "gb": click.option("--gb", type=click.IntRange(min=1), multiple=True,
                       metavar="N", help="Region size in GiB."),
    "mb": click.option("--mb", type=click.IntRange(min=1), multiple=True,
                       metavar="N", help="Region size in MiB. (default 128)"),
})
SAMPLE_OPTIONS.update({k: SAMPLE_OPTS[k].one() for k in (
    "nbusycpus", "nbusytasks", "procfile")})

RUN_OPTIONS = {
    "nsamples": _opt("--nsamples", type=SampleCount(), metavar="N|auto",
                     help="Samples per table (default 7), or auto: sample in "
                          "rounds of one per table until a 95% confidence "
                          "sequence decides (the designs' ratio on one side "
                          "of 1, or one design's median, narrower than "
                          "--precision), at most --max-samples rounds."),
    "max_samples": _opt("--max-samples", type=click.IntRange(min=1),
                        metavar="N", help="--nsamples auto: at most N samples "
                                          "per table. (default "
                                          f"{DEFAULTS['max_samples']})"),
    "precision": _opt("--precision", type=Percent(), metavar="P%",
                      help="--nsamples auto: stop when the interval is "
                           "narrower than the estimate +-P. (default "
                           f"{DEFAULTS['precision']:.0%})"),
    "rawdata": click.option("--rawdata", is_flag=True,
                            help="Print per-sample data instead of the summary."),
    "lock": SAMPLE_OPTS["lock"].one(),
    "backend": _opt("--backend", type=_choice(vocab.BACKEND),
                    help="Simulated kernel or this machine's kernel. "
                         f"(default {vocab.BACKEND.default})"),
    "scanner": SAMPLE_OPTS["scanner"].one(),
    "scanner_command": _opt(
        vocab.SCANNER.custom.chosen_by, metavar="CMD",
        help="Kernel backend: each scanner runs CMD once per pass instead, "
             "{pid} replaced by the mapper's pid, e.g. 'cat /proc/{pid}/maps' "
             "or your own monitoring agent's one-shot read.  bash runs it as "
             "a line of the cat scanner's loop (quotes, pipes and "
             "redirections as in a script; its output discarded), pinned to "
             "its busy CPU at nice 15; a pass ends when CMD exits 0, a "
             "non-zero exit is an error naming it, and a pass still running "
             "at the sample's end is stopped and not counted.  --procfile "
             "still names the file in titles and the CSV."),
    "holes": SAMPLE_OPTS["holes"].one(),
    "csv": _opt("--csv", "csv_path", metavar="PATH",
                help="Write one row per sample to PATH."),
    "quiet": click.option("--quiet", "-q", is_flag=True,
                          help="No progress lines on stderr (a line per "
                               "sample on a terminal, per table elsewhere)."),
    "seed": _opt("--seed", type=click.IntRange(0, 2**64 - 1), metavar="N",
                 help="Seed of the mapper's random op stream (sample k uses "
                      "N+k-1). (default random)"),
    "preempt": _opt("--preempt", type=_choice(vocab.PREEMPT),
                    help="Simulator: the preemption model its kernel is booted "
                         "with; under none and voluntary a reader in read() is "
                         "switched out only at the kernel's preemption points. "
                         "(default: this machine's, as dmesg or the kernel's "
                         "configuration says)"),
    "trace": click.option("--trace", is_flag=True,
                          help="Kernel backend, as root: record the mmap_lock "
                               "figures from the kernel's mmap_lock tracepoints, "
                               "summed in the kernel by BPF, or from tracefs "
                               "where BPF cannot load (one line says so).  The "
                               "simulator records them always."),
    "trace_engine": _opt("--trace-engine", type=_choice(vocab.TRACE_ENGINE),
                         help="With --trace: bpf (in-kernel sums; every figure, "
                              "the holder's split into running / preempted / "
                              "asleep too) or tracefs (event text parsed after "
                              "each sample; the mapper's waits and the read "
                              "holds, no holder split, no mapper sleeps or "
                              "wake-ups, no CPU per pass). (default bpf, "
                              "tracefs where bpf cannot run)"),
    "locks": click.option("--locks", is_flag=True,
                          help="Print each sample's mmap_lock figures below its "
                               "table: the mapper's waits for the write lock, the "
                               "scanners' read holds."),
}

# The simulator's host-cost knobs (procvma/calibration.py says what each is).
COST_OPTIONS = {
    "op_cost_ns": _opt("--op-cost-ns", type=click.FloatRange(min=0), metavar="NS",
                       help="Simulator: extra kernel work per mmap()/munmap(). "
                            "(default: calibrated)"),
    "walk_cost_ns": _opt("--walk-cost-ns", type=click.FloatRange(min=0), metavar="NS",
                         help="Simulator: extra work per page of a smaps or "
                              "numa_maps page walk. (default: calibrated)"),
    "text_cost_ns": _opt("--text-cost-ns", type=click.FloatRange(min=0), metavar="NS",
                         help="Simulator: extra work per byte of text a /proc "
                              "file's show writes, under its lock. (default: "
                              "calibrated)"),
    "pass_cost_ns": _opt("--pass-cost-ns", type=click.FloatRange(min=0), metavar="NS",
                         help="Simulator: a scanner's work per pass outside any "
                              "lock. (default: calibrated for --scanner)"),
}
RUN_OPTIONS.update(COST_OPTIONS)


def apply_options(*groups, skip=()):
    """Decorator adding the options of the given groups, minus skip."""
    def deco(f):
        opts = [o for g in groups for name, o in g.items() if name not in skip]
        for o in reversed(opts):
            f = o(f)
        return f
    return deco


class DashDashCommand(click.Command):
    """The reference's repeater hands everything after "--" to the
    per-sample script; we parse both sides as one option list, so drop the
    first bare "--" before click sees it."""

    def parse_args(self, ctx, args):
        if "--" in args:
            i = args.index("--")
            args = args[:i] + args[i + 1:]
        return super().parse_args(ctx, args)


# ---- from parsed options to a plan ---------------------------------------

@dataclass(frozen=True)
class Sample(Mapping):
    """The configuration every sample of a run shares, validated, each
    closed-set value a word of the vocabulary.  Read as a mapping too, by
    the results file's names for the same things (procvma/schema.py): a
    sample's parameters are dict(sample, lock=design, ...)."""
    backend: vocab.Word
    procfile: str                   # a vocab.PROCFILE word (kernel: any file)
    scanner: vocab.Word
    scanner_command: str            # scanner custom's CMD, {pid} as given; else -
    holes: int
    cpumapper: int
    cpuscript: int
    cpubusytasks: int
    nbusycpus: int
    nbusytasks: int
    busyduration: int               # ms; 0: spin forever
    duration: float                 # s
    region_pages: int
    preempt: vocab.Word             # the simulated kernel's; kernel: the host's
    op_cost_ns: float               # the cost knobs (calibration.py); 0: kernel
    walk_cost_ns: float
    text_cost_ns: float
    pass_cost_ns: float
    calibration_source: str

    def __getitem__(self, key):
        if key not in _SAMPLE_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(_SAMPLE_KEYS)

    def __len__(self):
        return len(_SAMPLE_KEYS)

    def replace(self, **changes):
        return replace(self, **changes)


_SAMPLE_KEYS = tuple(f.name for f in fields(Sample))


@dataclass(frozen=True)
class Plan:
    """Everything a run needs, validated: one frozen configuration."""
    backend: vocab.Word
    designs: List[vocab.Word]       # LOCK words (sim) or BACKEND.kernel
    sample: Sample                  # parameters common to every sample
    nsamples: int                   # with auto: the most rounds
    rawdata: bool
    seed: int
    seed_given: bool
    notes: Tuple[str, ...] = ()     # one stderr line each
    csv_path: Optional[str] = None
    trace: bool = False             # kernel: lock figures from its tracepoints
    trace_engine: Optional[vocab.Word] = None   # vocab.TRACE_ENGINE; None: bpf, else tracefs
    locks: bool = False             # print the lock figures
    quiet: bool = False             # no progress lines
    auto: bool = False              # --nsamples auto
    precision: float = DEFAULTS["precision"]

    def open_csv(self, command=""):
        """The results writer for --csv, or None; every row records the
        command line.  Opened (and checked) before the run, so a bad path
        fails before anything runs."""
        if not self.csv_path:
            return None
        from procvma.csvio import ResultsWriter
        return ResultsWriter.open(self.csv_path, command)

    def open_outputs(self, command=""):
        """(open_trace(), open_csv(command)): both or, on an error, neither."""
        trace = self.open_trace()
        try:
            return trace, self.open_csv(command)
        except BaseException:
            if trace:
                trace.close()
            raise

    def open_trace(self):
        """The entered locktrace.LockTrace for --trace, or None; a
        one-line click error where tracing cannot run.  The caller
        closes it (LockTrace.close())."""
        if not self.trace:
            return None
        from procvma import lockbpf, locktrace
        try:
            tr, note = lockbpf.open_trace(self.sample, self.trace_engine)
        except locktrace.TraceUnavailable as e:
            raise click.ClickException(f"--trace: {e}")
        if note:
            click.echo(note, err=True)
        return tr


def check_backend_options(backend, lock, costs=None, trace=False, locks=False,
                          trace_engine=None, preempt=None):
    if trace_engine is not None and not trace:
        raise click.UsageError("--trace-engine goes with --trace")
    if backend == vocab.BACKEND.sim and trace:
        raise click.UsageError("--trace is for --backend kernel; the simulator "
                               "records its lock figures always")
    if backend == vocab.BACKEND.kernel and locks and not trace:
        raise click.UsageError("--locks with --backend kernel needs --trace: "
                               "the kernel's lock figures come from its tracepoints")
    if backend == vocab.BACKEND.kernel and preempt is not None:
        raise click.UsageError("--preempt is for the simulator; the kernel runs "
                               "with the model it was booted with")
    if backend == vocab.BACKEND.kernel and lock is not None:
        raise click.UsageError("--lock is for the simulator; with --backend kernel "
                               "the kernel decides how /proc is read")
    if backend == vocab.BACKEND.kernel:
        for name, value in (costs or {}).items():
            if value is not None:
                raise click.UsageError(f"--{name.replace('_', '-')} is for the "
                                       "simulator; the kernel has its own costs")


def cost_params(backend, p):
    """The cost knobs a sample records, with where they came from: the
    calibrated values (or the user's) for the simulator, its pass cost
    that of p's scanner; 0 for the kernel, which has its own."""
    from procvma import calibration
    if backend == "kernel":
        return dict(dict.fromkeys(calibration.KNOBS, 0.0), calibration_source="-")
    try:
        return calibration.sim_costs(p)
    except calibration.CalibrationError as e:
        raise click.ClickException(str(e))


def random_seed():
    import secrets      # hashlib and more: not for every --help

    return secrets.randbits(32)


def sample_count(p):
    """(auto, samples per table or, with auto, the most) from --nsamples,
    --max-samples and --precision; the last two only with auto."""
    n = p.get("nsamples")
    if n != AUTO:
        for name in ("max_samples", "precision"):
            if p.get(name) is not None:
                raise click.UsageError(f"--{name.replace('_', '-')} is for "
                                       f"--nsamples auto")
        return False, n or DEFAULTS["nsamples"]
    return True, p.get("max_samples") or DEFAULTS["max_samples"]


def host_preempt():
    """The host's preemption model (hostinfo.preempt_model())."""
    return hostinfo.preempt_model()[0]


def make_plan(p, usable=None):
    """Validate the parsed options p (a dict of click params) into a Plan.
    Raises click.UsageError naming the first problem; opens nothing."""
    try:
        backend = vocab.BACKEND.check(p.get("backend") or vocab.BACKEND.default)
        lock = vocab.LOCK.check(p["lock"]) if p.get("lock") else None
        scanner = vocab.SCANNER.check(p.get("scanner") or vocab.SCANNER.default)
    except ValueError as e:
        raise click.UsageError(str(e))
    check_backend_options(backend, lock,
                          {k: p.get(k) for k in COST_OPTIONS},
                          bool(p.get("trace")), bool(p.get("locks")),
                          p.get("trace_engine"), p.get("preempt"))
    procfile = p.get("procfile") or vocab.PROCFILE.default
    check_procfile(procfile, backend)
    procfile = vocab.PROCFILE[procfile] if procfile in vocab.PROCFILE else procfile
    pages = region_pages(p.get("gb") or (), p.get("mb") or (), backend)
    layout, note = plan_layout(p.get("cpumapper"), p.get("cpuscript"),
                               p.get("cpubusytasks"), p.get("nbusycpus"), usable)
    if backend == vocab.BACKEND.sim:
        designs = vocab.LOCK.expand(lock or vocab.LOCK.default)
    else:
        designs = [vocab.BACKEND.kernel]
    seed = p.get("seed")
    command = p.get("scanner_command")
    command_notes = check_scanner_command(command, p.get("scanner"), backend)
    if command is not None:
        scanner = vocab.SCANNER.custom
    check_scanner(scanner, procfile, backend)
    holes = p.get("holes") or 0
    check_holes(holes, pages, backend)
    sample = Sample(
        backend=backend,
        procfile=procfile,
        scanner=scanner,
        scanner_command="-" if command is None else command,
        holes=holes,
        cpumapper=layout.cpumapper,
        cpuscript=layout.cpuscript,
        cpubusytasks=layout.cpubusytasks,
        nbusycpus=layout.nbusycpus,
        nbusytasks=DEFAULTS["nbusytasks"] if p.get("nbusytasks") is None
        else p["nbusytasks"],
        busyduration=DEFAULTS["busyduration"] if p.get("busyduration") is None
        else p["busyduration"],
        duration=DEFAULTS["duration"] if p.get("duration") is None
        else p["duration"],
        region_pages=pages,
        # The simulator's model, or the one the host kernel runs with.
        preempt=vocab.PREEMPT.check(p.get("preempt") or host_preempt()),
        **cost_params(backend, dict(p, scanner=scanner)),
    )
    auto, nsamples = sample_count(p)
    notes = ((note,) if note else ()) + tuple(layout_warnings(layout)) + \
        tuple(command_notes)
    return Plan(backend=backend, designs=designs, sample=sample, notes=notes,
                nsamples=nsamples, auto=auto,
                precision=p.get("precision") or DEFAULTS["precision"],
                rawdata=bool(p.get("rawdata")),
                seed=random_seed() if seed is None else seed,
                seed_given=seed is not None,
                csv_path=p.get("csv_path"), quiet=bool(p.get("quiet")),
                trace=bool(p.get("trace")), locks=bool(p.get("locks")),
                trace_engine=p.get("trace_engine"))
