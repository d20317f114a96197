# SPDX-License-Identifier: GPL-2.0-or-later
"""From parsed options to a Plan: every check made on the reference
harness's options before anything runs (procvma/cli/options.py declares
them, each defaulting to None).  A None tells what the user left out from
what they asked for: only defaults shrink to fit a small machine; a CPU
the user names must exist.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import List, Optional, Tuple

import click

from procvma import vocab
from procvma.host import hostinfo
from procvma.sim import calibration

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

PAGE_SIZE = 4096      # the host's and the simulator's (uapi.h: PV_PAGE_SIZE)

AUTO = "auto"       # --nsamples auto

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
            from procvma.sim.simmm import MAX_REGION_PAGES, footprint
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


def _c_constant(name):
    """One of the C core's constants (csrc/*/api.h), read when a value is
    checked, so that --help does not load the core."""
    from procvma import native
    return getattr(native.load_core().lib, name)


def check_designs(designs, procfile, scanner):
    """Every simulated design named can read procfile the scanner's way
    (the C core refuses the rest with -EOPNOTSUPP, mid-run)."""
    for design in designs:
        if design in vocab.LOCK:
            try:
                vocab.check_lock_procfile(design, procfile,
                                          query=scanner == vocab.SCANNER.query)
            except ValueError as e:
                raise click.UsageError(str(e))


def check_holes(holes, pages, backend):
    """K holes need a stretch of PV_HOLES_MIN_PAGES_EACH pages each, and
    K+1 VMAs within vm.max_map_count (the host's, or the simulator's
    default)."""
    each = _c_constant("PV_HOLES_MIN_PAGES_EACH")
    if holes > pages // each:
        raise click.UsageError(f"--holes {holes}: at most {pages // each} fit in a "
                               f"region of {pages} pages ({each} pages each)")
    limit = (hostinfo.max_map_count() if backend == "kernel"
             else _c_constant("PV_DEFAULT_MAX_MAP_COUNT"))
    if limit is not None and holes + 1 > limit:
        raise click.UsageError(f"--holes {holes}: {holes + 1} VMAs exceed "
                               f"vm.max_map_count ({limit})")



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
    longest = _c_constant("PV_MAX_SCANNER_COMMAND")
    if "\0" in command or len(command.encode()) >= longest:
        raise click.UsageError(f"{custom.chosen_by}: longer than "
                               f"{longest - 1} bytes")
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


# ---- from parsed options to a plan ---------------------------------------

@dataclass(frozen=True)
class Sample(Mapping):
    """The configuration every sample of a run shares, validated, each
    closed-set value a word of the vocabulary.  Read as a mapping too, by
    the results file's names for the same things (procvma/results/schema.py): a
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
    baseline: vocab.Word            # the design the others are compared to
    sample: Sample                  # parameters common to every sample
    nsamples: int                   # with auto: the most rounds
    rawdata: bool
    seed: int
    seed_given: bool
    notes: Tuple[str, ...] = ()     # one stderr line each
    csv_path: Optional[str] = None
    trace: bool = False             # kernel: lock figures from its tracepoints
    trace_engine: Optional[vocab.Word] = None   # vocab.TRACE_ENGINE; None: bpf where it loads, else tracefs
    locks: bool = False             # print the lock figures
    quiet: bool = False             # no progress lines
    auto: bool = False              # --nsamples auto
    requirements: Tuple = ()        # gate.Requirement: auto stops on them
    precision: float = DEFAULTS["precision"]
    label: Optional[str] = None     # --label: the run's name, in every row

    def open_csv(self, command=""):
        """The results writer for --csv, or None; every row records the
        command line and the run's --label.  Opened (and checked) before the run, so a bad path
        fails before anything runs."""
        if not self.csv_path:
            return None
        from procvma.results.csvio import ResultsWriter
        return ResultsWriter.open(self.csv_path, command, self.label)

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
        from procvma.host import lockbpf, locktrace
        try:
            tr, note = lockbpf.open_trace(self.sample, self.trace_engine)
        except locktrace.TraceUnavailable as e:
            raise click.ClickException(f"--trace: {e}")
        if note:
            click.echo(note, err=True)
        return tr


LABEL_MAX = 64


def check_label(label):
    """--label as given, or a click.UsageError: a name that fits a legend
    and a CSV cell on one line."""
    if label is None:
        return None
    if not label.strip():
        raise click.UsageError("--label: the name is empty")
    if not label.isprintable():
        raise click.UsageError(f"--label {label!r}: control characters "
                               f"(a newline, a tab) do not fit one line")
    if len(label) > LABEL_MAX:
        raise click.UsageError(f"--label: at most {LABEL_MAX} characters, "
                               f"not {len(label)}")
    if label.strip() == "-":
        raise click.UsageError("--label -: is what a run without --label "
                               "records; give a name")
    return label.strip()


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
    if backend == "kernel":
        return dict(dict.fromkeys(calibration.KNOBS, 0.0), calibration_source="-")
    try:
        return calibration.sim_costs(p)
    except calibration.CalibrationError as e:
        raise click.ClickException(str(e))


def random_seed():
    import secrets  # hashlib and more: not for every --help

    return secrets.randbits(32)


def sample_count(p):
    """(auto, samples per table or, with auto, the most) from --nsamples,
    --max-samples, --precision and --require; the last three only with
    auto."""
    n = p.get("nsamples")
    if n != AUTO:
        for name, flag in (("max_samples", "--max-samples"),
                           ("precision", "--precision"),
                           ("requirements", "--require")):
            if p.get(name):
                raise click.UsageError(f"{flag} is for --nsamples auto")
        return False, n or DEFAULTS["nsamples"]
    return True, p.get("max_samples") or DEFAULTS["max_samples"]


def host_preempt():
    """The host's preemption model (hostinfo.preempt_model())."""
    return hostinfo.preempt_model()[0]


def design_baseline(designs, given=None):
    """The design the others of a run are compared against: --baseline's
    (which must be among them), else the vocabulary's where it is among
    them, else the first named."""
    if given is not None:
        if given not in designs:
            raise click.UsageError(
                f"--baseline {given}: not among the designs measured "
                f"({','.join(designs)}): add it to --lock")
        return vocab.LOCK[given]
    return (vocab.LOCK.baseline if vocab.LOCK.baseline in designs
            else designs[0])


def stop_requirements(texts, designs):
    """--require's expressions as gate.Requirements, each naming two of
    the designs measured."""
    from procvma.results.gate import parse_requirement

    out = []
    for text in texts or ():
        try:
            req = parse_requirement(text)
        except ValueError as e:
            raise click.UsageError(str(e))
        for design in (req.num, req.den):
            if design not in designs:
                raise click.UsageError(
                    f"--require {text}: {design} is not among the designs "
                    f"measured ({','.join(designs)}): add it to --lock")
        out.append(req)
    return tuple(out)


def make_plan(p, usable=None):
    """Validate the parsed options p (a dict of click params) into a Plan.
    Raises click.UsageError naming the first problem; opens nothing."""
    try:
        backend = vocab.BACKEND.check(p.get("backend") or vocab.BACKEND.default)
        lock = p.get("lock") or None
        if isinstance(lock, str):
            lock = vocab.LOCK.parse_list(lock)
        scanner = vocab.SCANNER.check(p.get("scanner") or vocab.SCANNER.default)
    except ValueError as e:
        raise click.UsageError(str(e))
    check_backend_options(backend, lock,
                          {k: p.get(k) for k in calibration.KNOBS},
                          bool(p.get("trace")), bool(p.get("locks")),
                          p.get("trace_engine"), p.get("preempt"))
    procfile = p.get("procfile") or vocab.PROCFILE.default
    check_procfile(procfile, backend)
    procfile = vocab.PROCFILE[procfile] if procfile in vocab.PROCFILE else procfile
    pages = region_pages(p.get("gb") or (), p.get("mb") or (), backend)
    layout, note = plan_layout(p.get("cpumapper"), p.get("cpuscript"),
                               p.get("cpubusytasks"), p.get("nbusycpus"), usable)
    if backend == vocab.BACKEND.sim:
        designs = lock or vocab.LOCK.parse_list(vocab.LOCK.default)
    else:
        designs = [vocab.BACKEND.kernel]
    baseline = design_baseline(designs, p.get("baseline"))
    seed = p.get("seed")
    command = p.get("scanner_command")
    command_notes = check_scanner_command(command, p.get("scanner"), backend)
    if command is not None:
        scanner = vocab.SCANNER.custom
    check_scanner(scanner, procfile, backend)
    check_designs(designs, procfile, scanner)
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
    requirements = stop_requirements(p.get("requirements"), designs)
    notes = ((note,) if note else ()) + tuple(layout_warnings(layout)) + \
        tuple(command_notes)
    return Plan(backend=backend, designs=designs, baseline=baseline,
                sample=sample, notes=notes,
                nsamples=nsamples, auto=auto, requirements=requirements,
                precision=p.get("precision") or DEFAULTS["precision"],
                rawdata=bool(p.get("rawdata")),
                seed=random_seed() if seed is None else seed,
                seed_given=seed is not None,
                csv_path=p.get("csv_path"), quiet=bool(p.get("quiet")),
                trace=bool(p.get("trace")), locks=bool(p.get("locks")),
                trace_engine=p.get("trace_engine"),
                label=check_label(p.get("label")))
