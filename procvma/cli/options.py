# SPDX-License-Identifier: GPL-2.0-or-later
"""The reference harness's options, declared once: their flags, types,
help and defaults as help shows them.  procvma/run/plan.py checks the
values and turns them into a Plan.

proc-vs-map.sh takes --busyduration, --cpubusytasks, --cpumapper,
--cpuscript, --duration, --gb|--mb, --nbusycpus, --nbusytasks and
--procfile; its repeater run-proc-vs-map.sh adds --nsamples and --rawdata
and hands everything after "--" to it.  We accept all of them on either side
of "--".  Options default to None here so that validation can tell what
the user asked for from what the defaults filled in: only defaults shrink
to fit a small machine; a CPU the user names must exist.
"""

import click

from procvma import vocab
from procvma.run.plan import AUTO, DEFAULTS


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


class WordsOf(click.ParamType):
    """A comma list of a vocabulary's words, its every-word ("both") for
    all of them: a list of vocab.Word, each once, in the order given."""

    def __init__(self, vocabulary):
        self.vocabulary = vocabulary
        self.name = "|".join(vocabulary.choices()) + "[,...]"

    def get_metavar(self, param, ctx=None):
        return self.name

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        try:
            return self.vocabulary.parse_list(value)
        except ValueError as e:
            self.fail(str(e).split(" ", 1)[1], param, ctx)


# The mapper's random seed: the C core's uint64_t.
SEED = click.IntRange(0, 2**64 - 1)
SEED_METAVAR = "N"


class Metric(click.ParamType):
    """A per-sample figure by its short name (opavg, opmax, p50, p90,
    p99, p99.9) or its CSV column (opavg_ms ... p999_ms): the column.
    extra: further CSV columns a command also compares."""
    name = "metric"

    def __init__(self, extra=()):
        from procvma.results import schema
        self.columns = {**schema.METRIC_NAMES,
                        **{c: c for c in schema.METRICS},
                        **{c: c for c in extra}}
        self.shown = [*schema.METRIC_NAMES, *extra]

    def get_metavar(self, param, ctx=None):
        return "|".join(self.shown)

    def convert(self, value, param, ctx):
        if value not in self.columns:
            self.fail(f"{value!r}: one of {', '.join(self.shown)} (or its "
                      f"CSV column: {self.columns['opavg']}, ...)", param, ctx)
        return self.columns[value]


METRIC_HELP = ("a per-sample figure: opavg, opmax, p50, p90, p99 or p99.9, "
               "or its CSV column (opavg_ms ... p999_ms)")


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
        kind = (WordsOf(self.words) if self.words and self.words.every
                else _choice(self.words) if self.words else self.type)
        return click.option(*self.decls, type=kind, metavar=self.metavar,
                            default=None, help=self._help() + more)

    def many(self, default=None, choices=None, note="", default_help=None):
        """The list-valued option; choices narrows a word option's set."""
        words = list(choices or (self.words.selectable() if self.words else ()))
        default_help = default_help or default
        more = f" (default {default_help})" if default_help else ""
        listed = " A comma-separated list."
        if self.words and self.words.every and not choices:
            kind = WordsOf(self.words)      # its help says it is a list
            metavar, listed = kind.name, ""
        else:
            kind = ListOf(click.Choice(words) if words else self.type)
            metavar = (self.metavar or "|".join(words) or "VALUE") + "[,...]"
        return click.option(self.decls[0], type=kind, default=default,
                            metavar=metavar,
                            help=f"{self._help(words)}{listed}{note}{more}")


def _choice(vocabulary):
    return click.Choice(vocabulary.choices())


def _words(vocabulary):
    """One word of vocabulary (not its every-word)."""
    return click.Choice(vocabulary.selectable())


class SampleCount(click.ParamType):
    """--nsamples: a count >= 1, or "auto" (AUTO): sample until the
    samples decide (procvma/run/autostop.py)."""
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



PERCENT_HELP = ("'25%' or '25'; a bare number below 1 is refused as "
                "ambiguous: '0.5%' for half a percent")


class Percent(click.ParamType):
    """A percentage, the one way every option takes one: '10%' or '10'
    -> 0.10.  A bare number below 1 ('0.25') is refused: it reads as a
    fraction (25%) as readily as a percentage (0.25%); '0.25%' says which.
    below_100: the value must stay below 100%."""
    name = "P%"

    def __init__(self, below_100=True):
        self.below_100 = below_100

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        text = str(value).strip()
        number = text[:-1].strip() if text.endswith("%") else text
        try:
            v = float(number)
        except ValueError:
            self.fail(f"{value!r} is not a percentage (e.g. 10%)", param, ctx)
        if v != v or v in (float("inf"), float("-inf")):
            self.fail(f"{value!r} is not a percentage (e.g. 10%)", param, ctx)
        if number is text and 0 < v < 1:
            self.fail(f"{value!r} is ambiguous: write {v * 100:g}% for a "
                      f"fraction of {v:g}, or {v:g}% if you mean that",
                      param, ctx)
        if not v > 0 or (self.below_100 and v >= 100):
            self.fail(f"{value!r}: give a percentage above 0"
                      + (" and below 100" if self.below_100 else ""),
                      param, ctx)
        return v / 100


def _opt(*decls, **kw):
    return click.option(*decls, default=kw.pop("default", None), **kw)


def _resolved_layout():
    """The CPU layout the defaults resolve to on this machine, and how
    many CPUs it has: what --help says the CPU options default to."""
    from procvma.run.plan import plan_layout, usable_cpus
    try:
        usable = usable_cpus()
        return plan_layout(usable=usable)[0], len(usable)
    except Exception:       # --help must come up whatever the machine
        return None, None


_LAYOUT, _NCPUS = _resolved_layout()


def cpu_default(name):
    """'(default) N' as the defaults resolve here: the reference's value,
    or, where this machine has too few CPUs for it, what it shrinks to."""
    ref = DEFAULTS[name]
    here = getattr(_LAYOUT, name, ref)
    if here == ref:
        return str(ref)
    return (f"{here} on this machine's {_NCPUS} CPU{'s' * (_NCPUS != 1)}; "
            f"{ref} where there are enough")


# proc-vs-map.sh's options, in its --help order (and --holes, --lock,
# --scanner, which sweep and fidelity take as lists too).
SAMPLE_OPTS = {
    "busyduration": Opt("--busyduration", type=click.IntRange(min=0), metavar="MS",
                        help="Busy-waiters spin this long, then sleep 1 ms; 0: spin "
                             "forever.", default_help="0"),
    "cpubusytasks": Opt("--cpubusytasks", type=click.IntRange(min=0), metavar="CPU",
                        help="First busy CPU.",
                        default_help=cpu_default("cpubusytasks")),
    "cpumapper": Opt("--cpumapper", type=click.IntRange(min=0), metavar="CPU",
                     help="The mapper's CPU.", default_help=cpu_default("cpumapper")),
    "cpuscript": Opt("--cpuscript", type=click.IntRange(min=0), metavar="CPU",
                     help="The driver's CPU.", default_help=cpu_default("cpuscript")),
    "duration": Opt("--duration", type=click.FloatRange(min=0, min_open=True,
                                                        max=86400),
                    metavar="SECONDS", help="Length of one sample.",
                    default_help="10"),
    "nbusycpus": Opt("--nbusycpus", type=click.IntRange(min=0), metavar="N",
                     help="Number of busy CPUs, the table's #Busy.",
                     default_help=cpu_default("nbusycpus")),
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
                help=lambda words: "Simulated /proc locking designs, a comma "
                "list measured in one interleaved run, a table each: " + ", ".join(
                    f"{w} ({vocab.LOCK[w].help.split(':')[0]})" for w in words)
                + f"; {vocab.LOCK.every}: all of them.",
                default_help=f"{vocab.LOCK.default}: {','.join(vocab.LOCK)}"),
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
    "baseline": _opt("--baseline", type=_words(vocab.LOCK),
                     help="The design every other --lock design is compared "
                          "against (--nsamples auto). (default "
                          f"{vocab.LOCK.baseline}, else the first design named)"),
    "requirements": _opt(
        "--require", "requirements", multiple=True,
        metavar="'DESIGN/DESIGN>=N'",
        help="--nsamples auto: instead of --precision, stop once the ratio "
             "of two designs' median opavg is decided against the bound, "
             "e.g. 'mmap/vma>=10': its 95% confidence sequence wholly on one "
             "side, as procvma gate --require then judges it; repeatable."),
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
                help="Append one row per sample to PATH (created with a "
                     "header if absent; a file of other columns is refused). "
                     "To start afresh, remove PATH or name a new one."),
    "label": _opt("--label", metavar="NAME",
                  help="A name for the run (a kernel build, a patch), "
                       "recorded in every --csv row and shown by procvma "
                       "report, compare and plot."),
    "quiet": click.option("--quiet", "-q", is_flag=True,
                          help="No progress lines on stderr (a line per "
                               "sample on a terminal, per table elsewhere)."),
    "seed": _opt("--seed", type=SEED, metavar=SEED_METAVAR,
                 help="Seed of the mapper's random op stream (sample k uses "
                      "N+k-1). (default random)"),
    "preempt": _opt("--preempt", type=_choice(vocab.PREEMPT),
                    help="Simulator: the preemption model its kernel is booted "
                         "with; under none and voluntary a reader in read() is "
                         "switched out only at the kernel's preemption points. "
                         "(default this machine's, as dmesg or the kernel's "
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
                              "asleep too), fentry (the same sums from "
                              "fentry/fexit on the rwsem functions, cheaper for "
                              "the mapper; bpf's tracepoints where the kernel "
                              "refuses fentry) or tracefs (event text parsed "
                              "after each sample; the mapper's waits and the "
                              "read holds, no holder split, no mapper sleeps or "
                              "wake-ups, no CPU per pass). (default bpf, "
                              "tracefs where bpf cannot run)"),
    "locks": click.option("--locks", is_flag=True,
                          help="Print each sample's mmap_lock figures below its "
                               "table: the mapper's waits for the write lock, the "
                               "scanners' read holds."),
}

# The simulator's host-cost knobs (procvma/sim/calibration.py says what each is).
# --kernel: the same command inside a QEMU guest of another kernel
# (procvma/host/guest.py).  On run-proc-vs-map it implies --backend kernel.
KERNEL_OPTION = _opt(
    "--kernel", metavar="IMAGE|debian:VERSION|debian:latest",
    help="Run inside a QEMU guest (KVM where it works, else TCG, whose timings "
         "are emulated) of this kernel, whose root is this machine's /: an x86 "
         "kernel image, or Debian's kernel VERSION (6.1, 6.12, 7.3) or newest, "
         "fetched through apt into the per-user cache.  Rows name the guest's "
         "kernel and vm_accel.")
RUN_OPTIONS["kernel"] = KERNEL_OPTION

COST_OPTIONS = {
    "op_cost_ns": _opt("--op-cost-ns", type=click.FloatRange(min=0), metavar="NS",
                       help="Simulator: extra kernel work per mmap()/munmap(). "
                            "(default calibrated)"),
    "walk_cost_ns": _opt("--walk-cost-ns", type=click.FloatRange(min=0), metavar="NS",
                         help="Simulator: extra work per page of a smaps or "
                              "numa_maps page walk. (default calibrated)"),
    "text_cost_ns": _opt("--text-cost-ns", type=click.FloatRange(min=0), metavar="NS",
                         help="Simulator: extra work per byte of text a /proc "
                              "file's show writes, under its lock. (default "
                              "calibrated)"),
    "pass_cost_ns": _opt("--pass-cost-ns", type=click.FloatRange(min=0), metavar="NS",
                         help="Simulator: a scanner's work per pass outside any "
                              "lock. (default calibrated for --scanner)"),
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
