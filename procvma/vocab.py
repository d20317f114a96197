# SPDX-License-Identifier: GPL-2.0-or-later
"""The vocabulary: every closed set of words a configuration is made of,
each defined here once, with its default, the C core's constant for each
word and the constraints that come with a word.

    BACKEND   --backend    sim | kernel
    LOCK      --lock       mmap | vma | speculate (maps only) (| both:
                           mmap and vma); a comma list of them
                           (parse_list); BASELINE the design the others
                           are compared against
    PROCFILE  --procfile   maps | smaps | smaps_rollup | numa_maps (the
                           simulator's; the kernel backend reads any
                           /proc/PID file)
    SCANNER   --scanner    cat | read | query (query reads maps alone);
                           custom: --scanner-command (kernel backend)
    PREEMPT   --preempt    none | voluntary | full | lazy (default: the
                           host's, hostinfo.preempt_model())
    TRACE_ENGINE --trace-engine  bpf | fentry | tracefs
    INJECT    torture --inject   the faults the simulator can inject

A word is a str (it goes into a CSV, a dict key or a comparison as the
word itself) that also carries its C constant's name and what it means.
Adding a word to a set is one entry here; the C constant it names must
exist in the C core's headers (kernel/uapi.h, harness/api.h), which
tests/test_vocab.py checks.

Pure Python, so that options can be checked, and --help listed, before
the C core is loaded; simmm pairs each word with the constant's value.
"""

from typing import Dict, Iterator, Optional, Sequence


class Word(str):
    """One word of a closed set: the word itself, the name of the C core's
    constant for it (None where the C core has none) and its help.
    chosen_by: the option that selects it, where that is not the set's
    own (which then does not take it)."""

    const: Optional[str]
    help: str
    chosen_by: Optional[str]

    def __new__(cls, word, const=None, help="", chosen_by=None):
        self = super().__new__(cls, word)
        self.const = const
        self.help = help
        self.chosen_by = chosen_by
        return self


class Scanner(Word):
    """A way for a scanner to read.  procfile: the only file it can read
    (None: any); pass_cost_as: the scanner whose calibrated per-pass cost
    it pays outside any lock (None: its own, measured by calibrate);
    backend: the only backend that has it (None: both)."""

    procfile: Optional[str]
    pass_cost_as: Optional[str]
    backend: Optional[str]

    def __new__(cls, word, const=None, help="", procfile=None, pass_cost_as=None,
                backend=None, chosen_by=None):
        self = super().__new__(cls, word, const, help, chosen_by)
        self.procfile = procfile
        self.pass_cost_as = pass_cost_as
        self.backend = backend
        return self


class Design(Word):
    """A reader locking design (csrc/kernel/proc_lock_*.c).  lock_name:
    what a reader holds, as legends and tables call it; procfiles: the
    only files it reads (None: every one); why_not: why it cannot read
    the others; query: whether it answers PROCMAP_QUERY."""

    lock_name: str
    procfiles: Optional[tuple]
    why_not: str
    query: bool

    def __new__(cls, word, const=None, help="", lock_name="", procfiles=None,
                why_not="", query=True):
        self = super().__new__(cls, word, const, help)
        self.lock_name = lock_name or word
        self.procfiles = None if procfiles is None else tuple(procfiles)
        self.why_not = why_not
        self.query = query
        return self


class Vocabulary:
    """A closed set of words, in order, as --OPTION takes them.  every: a
    word that means several of them (--lock both), every_means: which (all
    of them when None); default: the word (or every) an option left out
    takes, or None where it is found out at run time (default_from says
    how)."""

    def __init__(self, option: str, words: Sequence[Word],
                 default: Optional[str] = None, every: Optional[str] = None,
                 default_from: Optional[str] = None,
                 baseline: Optional[str] = None,
                 every_means: Optional[Sequence[str]] = None):
        self.option = option
        self.words = tuple(words)
        self._by_name = {str(w): w for w in self.words}
        assert len(self._by_name) == len(self.words), option
        assert default is None or default == every or default in self._by_name
        self.default = self._by_name.get(default, default)
        self.every = every
        self._every_means = (self.words if every_means is None
                             else tuple(self._by_name[w] for w in every_means))
        self.default_from = default_from
        assert baseline is None or baseline in self._by_name
        # The word the others are compared against (--baseline's default).
        self.baseline = self._by_name.get(baseline)

    def __iter__(self) -> Iterator[Word]:
        return iter(self.words)

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self._by_name

    def __getitem__(self, word) -> Word:
        return self._by_name[word]

    def __getattr__(self, word) -> Word:
        # SCANNER.read: a word by name, where code means that one word.
        try:
            return self.__dict__["_by_name"][word]
        except KeyError:
            raise AttributeError(f"{self.__dict__.get('option')}: no word {word!r}")

    def selectable(self):
        """The words the set's own option takes: all but those another
        option selects (Word.chosen_by)."""
        return [w for w in self.words if w.chosen_by is None]

    def choices(self):
        """What the option accepts: its words, then every's word."""
        return [*self.selectable(), *([self.every] if self.every else [])]

    def expand(self, word) -> list:
        """[word], or the words every's word means."""
        return list(self._every_means) if word == self.every else [self[word]]

    def parse_list(self, text) -> list:
        """The words of a comma list ("mmap,vma"; every's word for all of
        them), in the order given, each once; ValueError naming the option,
        the bad item and the set."""
        out = []
        for item in str(text).split(","):
            item = item.strip()
            if not item:
                raise ValueError(f"{self.option} {text}: an empty item")
            if item != self.every and item not in self.selectable():
                raise ValueError(f"{self.option} {item}: not one of "
                                 + ", ".join(self.choices()))
            out += [w for w in self.expand(item) if w not in out]
        return out

    def check(self, word) -> Word:
        """The Word for word, or ValueError naming the option and the set."""
        if word not in self._by_name:
            raise ValueError(f"{self.option} {word}: not one of "
                             + ", ".join(self.choices()))
        return self._by_name[word]

    def constants(self, lib) -> Dict[str, int]:
        """{word: value of its C constant in lib}, for the words that have one."""
        return {w: getattr(lib, w.const) for w in self.words if w.const}

    def describe(self) -> str:
        """'w1, help; w2, help' for --help."""
        return "; ".join(f"{w}, {w.help}" if w.help else str(w) for w in self.words)


_sim = Word("sim", "PV_BACKEND_SIM", "the simulated kernel")
_kernel = Word("kernel", "PV_BACKEND_KERNEL", "this machine's kernel")
BACKEND = Vocabulary("--backend", [_sim, _kernel], default=_sim)

# The simulator's /proc files, in PV_PROC_* order.  The kernel backend
# reads any /proc/PID file this kernel has (hostinfo.procfile_exists).
_maps = Word("maps", "PV_PROC_MAPS", "one line per VMA")

# The designs (docs/design-hooks.md), in PV_LOCK_* order: "before", the whole
# walk under mmap_lock; "after", per-VMA locks under RCU (the seed's
# patch); and the RFC per-VMA reading replaced, maps under RCU with
# mmap_lock speculation.  "both" is the first two.
LOCK = Vocabulary("--lock", [
    Design("mmap", "PV_LOCK_MMAP", "before: --lock mmap, /proc walk under mmap_lock",
           lock_name="mmap_lock"),
    Design("vma", "PV_LOCK_VMA", "after: --lock vma, /proc walk under per-VMA locks (RCU)",
           lock_name="per-VMA locks"),
    Design("speculate", "PV_LOCK_SPECULATE",
           "RFC: --lock speculate, maps read under RCU, a page made again "
           "whenever the mm changed (mmap_lock speculation)",
           lock_name="mmap_lock speculation",
           procfiles=(_maps,),
           why_not="their page-table walk is not RCU-safe", query=False),
], default="both", every="both", baseline="mmap", every_means=("mmap", "vma"))

PROCFILE = Vocabulary("--procfile", [
    _maps,
    Word("smaps", "PV_PROC_SMAPS", "maps plus each VMA's page walk"),
    Word("smaps_rollup", "PV_PROC_SMAPS_ROLLUP",
         "the whole page walk summed in one block"),
    Word("numa_maps", "PV_PROC_NUMA_MAPS",
         "one line per VMA with its page walk's counts per NUMA node"),
], default=_maps)

_cat = Scanner("cat", "PV_SCANNER_CAT",
               "a shell loop running cat per pass like the reference's "
               "scanpid.sh")
_read = Scanner("read", "PV_SCANNER_READ",
                "an in-process open, read to EOF, close")
SCANNER = Vocabulary("--scanner", [
    _cat,
    _read,
    # The queries the model does step by step; the open() and close()
    # around them cost what read's do.
    Scanner("query", "PV_SCANNER_QUERY",
            "open maps once per pass and ask PROCMAP_QUERY for every VMA, "
            "as symbolizers do", procfile=_maps, pass_cost_as=_read),
    # The user's own reader: the kernel backend runs it per pass in cat's
    # shell loop.  The simulator cannot run a program against its mm.
    Scanner("custom", "PV_SCANNER_COMMAND",
            "the user's command per pass, {pid} the mapper's, in cat's shell loop",
            backend=_kernel, chosen_by="--scanner-command"),
], default=_cat)

# The kernel's preemption models (docs/design.md; dmesg: "Dynamic Preempt: ...").
PREEMPT = Vocabulary("--preempt", [
    Word("none", "PV_PREEMPT_NONE",
         "switched out only at cond_resched(), sleeping or the return to user"),
    Word("voluntary", "PV_PREEMPT_VOLUNTARY",
         "none, plus the might_resched() points"),
    Word("full", "PV_PREEMPT_FULL", "switched out anywhere outside a lock"),
    Word("lazy", "PV_PREEMPT_LAZY",
         "full for real-time tasks, at the tick or return to user for the rest"),
], default_from="the host's (hostinfo.preempt_model())")

# How --trace collects the kernel's mmap_lock figures.
TRACE_ENGINE = Vocabulary("--trace-engine", [
    Word("bpf", None, "summed in the kernel by a BPF program (libbpf CO-RE)"),
    Word("fentry", None, "the bpf engine with fentry/fexit on the rwsem functions "
         "(the write lock's contended slowpath only) for the mmap_lock tracepoints"),
    Word("tracefs", None, "every event through tracefs, summed in Python"),
], default_from="bpf where it loads, tracefs otherwise")

# Faults that break the simulated kernel on purpose (procvma torture).
INJECT = Vocabulary("--inject", [
    Word("no-resume-check", "PV_INJECT_NO_RESUME_CHECK",
         "the rollup re-walks what it already counted"),
    Word("no-vma-lock", "PV_INJECT_NO_VMA_LOCK",
         "per-VMA readers skip vma_start_read()"),
    Word("no-drain", "PV_INJECT_NO_DRAIN",
         "vma_start_write() does not wait for readers"),
    Word("skip-merged", "PV_INJECT_SKIP_MERGED",
         "maps/smaps skip a VMA grown across the resume point"),
    Word("no-speculate-retry", "PV_INJECT_NO_SPECULATE_RETRY",
         "--lock speculate lets a page out without checking mm_lock_seq"),
])

# Every set, for the check that the C core has each constant.
VOCABULARIES = (BACKEND, LOCK, PROCFILE, SCANNER, PREEMPT, TRACE_ENGINE, INJECT)
del _sim, _kernel, _maps, _cat, _read


def check_scanner_procfile(scanner, procfile):
    """ValueError when scanner cannot read procfile (query: maps alone)."""
    need = SCANNER.check(scanner).procfile
    if need is not None and procfile != need:
        raise ValueError(f"{SCANNER.option} {scanner} reads /proc/PID/{need} alone: "
                         f"use --procfile {need}, not {procfile}")


def check_lock_procfile(lock, procfile, query=False):
    """ValueError when design lock cannot read procfile, or with query
    cannot answer PROCMAP_QUERY on it (the C core says the same with
    -EOPNOTSUPP)."""
    design = LOCK.check(lock)
    if query and not design.query:
        raise ValueError(f"{LOCK.option} {lock} does not answer PROCMAP_QUERY")
    if design.procfiles is not None and procfile not in design.procfiles:
        raise ValueError(f"{LOCK.option} {lock} reads "
                         + ", ".join(f"/proc/PID/{f}" for f in design.procfiles)
                         + f" alone, not {procfile}: {design.why_not}")


def pass_cost_scanner(scanner) -> Word:
    """The scanner whose calibrated pass cost scanner pays."""
    w = SCANNER.check(scanner)
    return SCANNER[w.pass_cost_as] if w.pass_cost_as else w


# The scanners calibrate measures a pass cost for, the default first: the
# simulator's, that pay no other's.
CALIBRATED_SCANNERS = tuple(w for w in SCANNER
                            if w.pass_cost_as is None and w.backend is None)
