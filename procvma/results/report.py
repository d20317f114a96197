# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma report CSV [CSV...]: the block a patch author pastes into a
cover letter, in the seed's form -- the command lines, the reference's
rawdata blocks headed "Baseline:" and "Patched:", and a verdict -- with
what a reviewer asks next: which kernel, CPUs and preemption model, the
medians with each ratio's 95% interval, the Mann-Whitney p, the p99
change, and which rule decided.

This module finds the sections (a configuration, its baseline and every
design or file measured against it) and their figures, and gives them as
one JSON document; report_text.py writes the same as text or Markdown.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional

from procvma import vocab
from procvma.results.fmt import fmt_ms, fmt_ratio, fmt_value
from procvma.results import machines, schema, stats
from procvma.results.compare import BadInput, Side, config_groups

if TYPE_CHECKING:
    import pandas as pd

# What the two sides of the seed's form are called; with more than one
# design against the baseline, each is called by its design word.
BASELINE, PATCHED = "Baseline", "Patched"

# Options that only say where output goes, not what was measured: a
# command line shown to a reader leaves them out.
OUTPUT_ONLY = {"--csv": True, "-q": False, "--quiet": False}


@dataclass
class Group:
    """One configuration: its baseline and what is measured against it."""
    config: dict                # what every side shares
    sides: List[Side]           # sides[0] is the baseline
    machine: str = ""           # which machines, when a file holds several
    files: bool = False         # the sides come from different files

    @property
    def baseline(self) -> Side:
        return self.sides[0]

    @property
    def others(self) -> List[Side]:
        return self.sides[1:]


def lock_order(word: str):
    words = [str(w) for w in vocab.LOCK]
    return (words.index(word) if word in words else len(words), word)


def groups_in_one(df: pd.DataFrame, path: str, include_hangs,
                  baseline: str) -> List[Group]:
    """Within one file: --lock BASELINE against every other design, for
    every configuration of the other columns measured with the baseline
    and at least one other design, machine by machine: rows of two
    machines are never paired or pooled."""
    key = [c for c in schema.CONFIG_KEY if c != "lock"]
    parts = machines.split(df)
    out = []
    for machine, part in parts:
        for config, rows in config_groups(part, key).items():
            locks = sorted({str(v) for v in rows["lock"]}, key=lock_order)
            if baseline not in locks or len(locks) < 2:
                continue
            others = [w for w in locks if w != baseline]
            names = [PATCHED] if len(others) == 1 else others
            sides = [Side.of(BASELINE, path, rows[rows["lock"] == baseline],
                             include_hangs)]
            sides += [Side.of(n, path, rows[rows["lock"] == w], include_hangs)
                      for n, w in zip(names, others)]
            out.append(Group(dict(zip(key, config)), sides,
                             machines.describe(machine)
                             if len(parts) > 1 else ""))
    if not out:
        raise BadInput(f"{path}: no configuration was measured with "
                       f"--lock {baseline} and another design"
                       + (" on one machine" if len(parts) > 1 else "")
                       + "; give two files to report one against the other")
    return out


def groups_in_files(frames: List[pd.DataFrame], paths: List[str],
                    include_hangs) -> List[Group]:
    """The first file is the baseline, each other file is measured
    against it, configuration by configuration; a file that holds several
    machines, one machine at a time."""
    parts = [machines.split(df) for df in frames]
    several = any(len(p) > 1 for p in parts)
    names = [BASELINE] + ([PATCHED] if len(paths) == 2 else
                          [f"File {i}" for i in range(2, len(paths) + 1)])
    out = []
    for m0, rows0 in parts[0]:
        base = config_groups(rows0)
        for c in sorted(base, key=str):
            for combo in _machine_combos(parts[1:]):
                groups = [config_groups(rows) for _, rows in combo]
                if not all(c in g for g in groups):
                    continue
                sides = [Side.of(BASELINE, paths[0], base[c], include_hangs)]
                sides += [Side.of(n, p, g[c], include_hangs)
                          for n, p, g in zip(names[1:], paths[1:], groups)]
                where = ", ".join(f"{n} on {machines.describe(m)}" for n, m in
                                  zip(names, [m0] + [m for m, _ in combo]))
                out.append(Group(dict(zip(schema.CONFIG_KEY, c)), sides,
                                 where if several else "", True))
    if not out:
        ca, cb = next(iter(config_groups(frames[0]))), \
            next(iter(config_groups(frames[1])))
        differ = [f"{k} {fmt_value(x)} against {fmt_value(y)}"
                  for k, x, y in zip(schema.CONFIG_KEY, ca, cb)
                  if fmt_value(x) != fmt_value(y)]
        raise BadInput(f"{paths[0]} and {', '.join(paths[1:])} share no "
                       f"configuration: " + ("; ".join(differ) or
                                             "none within one machine of each"))
    return out


def _machine_combos(parts):
    import itertools
    return itertools.product(*parts)


# ---- what a section says ----------------------------------------------------

def first(rows: pd.DataFrame, column: str) -> str:
    values = [str(v) for v in (rows[column] if column in rows else [])
              if str(v) not in ("", "nan")]
    return values[0] if values else ""


def values(rows: pd.DataFrame, column: str) -> List[str]:
    return list(dict.fromkeys(str(v) for v in (rows[column] if column in rows
                                               else [])
                              if str(v) not in ("", "nan")))


def design_text(lock: str) -> str:
    """--lock WORD, /proc walk under ...: the design as its word says it."""
    if lock in vocab.LOCK:
        return vocab.LOCK[lock].help.split(": ", 1)[-1]
    return f"--lock {lock}"


def measured(side: Side, with_label: bool = True) -> str:
    """What was measured, as the rawdata block's heading says it; the
    run's label too where the sides' labels differ."""
    rows = side.rows if len(side.rows) else side.all_rows
    if first(rows, "backend") == vocab.BACKEND.kernel:
        scanner = first(rows, "scanner")
        text = (f"Linux {first(rows, 'kernel_release')}"
                + (", " + schema.scanner_label(scanner,
                                               first(rows, "scanner_command"))
                   if scanner not in ("", "-") else ""))
    else:
        text = f"simulated, {design_text(first(rows, 'lock'))}"
    label = label_of(side)
    return text + (f" [{label}]" if with_label and label != "-" else "")


def label_of(side: Side) -> str:
    return " + ".join(values(side.all_rows, "label")) or "-"


def one_or_each(group: Group, text) -> str:
    """text(side) for the baseline, or "a -> b -> c" when sides differ."""
    said = [text(s) for s in group.sides]
    return said[0] if len(set(said)) == 1 else " -> ".join(said)


def kernel_line(group: Group) -> str:
    def one(side):
        rows = side.all_rows
        release = first(rows, "kernel_release") or "unknown"
        accel = first(rows, "vm_accel")
        if first(rows, "backend") == vocab.BACKEND.kernel:
            return f"Linux {release}" + (f" ({accel} guest)" if accel in ("kvm", "tcg")
                                         else "")
        return (f"simulated (procvma {first(rows, 'procvma_version')}) on "
                f"Linux {release}")
    return one_or_each(group, one)


def cpu_line(group: Group) -> str:
    def one(side):
        rows = side.all_rows
        model = first(rows, "cpu_model") or "unknown CPU"
        cpus = first(rows, "cpus_online")
        if not cpus:
            return model
        n = len(cpulist(cpus))
        return f"{model}, {n} CPU{'s' * (n != 1)} online ({cpus})"
    return one_or_each(group, one)


def preempt_line(group: Group) -> str:
    def one(side):
        rows = side.all_rows
        model = first(rows, "preempt") or "unknown"
        if first(rows, "backend") == vocab.BACKEND.kernel:
            return f"{model} (as the kernel was booted)"
        return f"{model} (the simulated kernel's)"
    return one_or_each(group, one)


def label_line(group: Group) -> str:
    said = [label_of(s) for s in group.sides]
    if all(x == "-" for x in said):
        return "none (run-proc-vs-map --label NAME names a run)"
    return said[0] if len(set(said)) == 1 else " -> ".join(said)


def cpulist(text):
    from procvma.host.hostinfo import parse_cpulist
    try:
        return parse_cpulist(text)
    except ValueError:
        return []


def layout_line(group: Group) -> str:
    rows = group.baseline.all_rows
    c = group.config

    def num(column):
        return fmt_value(rows[column].iloc[0]) if column in rows else "?"

    ncpus, ntasks = num("nbusycpus"), num("nbusytasks")
    start = int(rows["cpubusytasks"].iloc[0])
    busy = ",".join(str(start + i) for i in range(int(float(ncpus))))
    bd = fmt_value(c.get("busyduration", rows["busyduration"].iloc[0]))
    spin = "spinning" if bd == "0" else f"spin {bd} ms, sleep 1 ms"
    text = (f"mapper on CPU {num('cpumapper')}, driver on CPU "
            f"{num('cpuscript')}; {ncpus} busy CPU"
            f"{'s' * (ncpus != '1')} ({busy or '-'}), each with {ntasks} "
            f"scanner{'s' * (ntasks != '1')} at nice 15 and {ntasks} "
            f"busy-waiter{'s' * (ntasks != '1')} ({spin})")
    scanner = fmt_value(c.get("scanner", ""))
    command = fmt_value(c.get("scanner_command", "-"))
    if command not in ("", "-"):
        text += f"; scanner command: {command}"
    elif scanner not in ("", "-"):
        text += f"; scanner: {scanner}"
    return text


def samples_line(group: Group) -> str:
    dur = fmt_value(group.config.get("duration", float("nan")))
    counts = " and ".join(f"{len(s.rows)} {s.name}" for s in group.sides)
    text = (f"{counts} samples of {dur} s, reading "
            f"/proc/PID/{group.config.get('procfile')}")
    loads = [v for s in group.sides for v in s.all_rows["loadavg1"].dropna()]
    if loads:
        text += (f"; 1-min load average {min(loads):.2f}-{max(loads):.2f} "
                 f"at sample start")
    return text


def hung_line(group: Group) -> str:
    if not any(s.hung for s in group.sides):
        return "none hung"
    how = "kept (--include-hangs)" if group.baseline.hung_kept else \
        "left out (--include-hangs keeps them)"
    return (", ".join(f"{s.name} {s.hung}" for s in group.sides)
            + f" hung; {how}")


def warnings(group: Group) -> List[str]:
    """The lines a reader must not miss: other machines, starved readers,
    a busy machine."""
    out = machine_warnings(group)
    for s in group.sides:
        n = no_pass_count(s)
        if n:
            out.append(f"{s.name}: {n} sample(s) in which no scanner "
                       f"completed a pass")
    return out + busy_lines(group)


def machine_warnings(group: Group) -> List[str]:
    """A line when the sides ran on other hosts, CPU models or kernels.
    An A/B of kernels differs in the kernel and nothing else; a change of
    host or CPU model is in the figures along with the patch."""
    out = []
    base = machines.of_row(group.baseline.all_rows.iloc[0].to_dict())
    for s in group.others:
        other = machines.of_row(s.all_rows.iloc[0].to_dict())
        differ = {c: (x, y) for c, x, y in zip(machines.COLUMNS, base, other)
                  if x != y}
        if not differ:
            continue
        what = "; ".join(f"{machines.WHAT[c]} {x} -> {y}"
                         for c, (x, y) in differ.items())
        if set(differ) == {"kernel_release"}:
            why = "as an A/B of kernels should, and in nothing else"
        else:
            why = ("the difference in the figures is the machine's as much "
                   "as the change's")
        out.append(f"{BASELINE} and {s.name} ran on different machines "
                   f"({what}): {why}")
    return out


def busy_lines(group: Group) -> List[str]:
    """run-proc-vs-map's busy-machine warning, from what the rows
    recorded: for the one run all sides came from, or for each file."""
    from procvma.results.machines import machine_was_busy

    def busy(frames):
        rows = [r for f in frames for r in f.to_dict("records")]
        if not rows or "others_running" not in rows[0]:
            return None
        online = cpulist(first(frames[0], "cpus_online"))
        return machine_was_busy(rows, rows[0], online) if online else None

    if not group.files:
        said = busy([s.all_rows for s in group.sides])
        return [said] if said else []
    return [f"{s.name}: {said}" for s in group.sides
            for said in [busy([s.all_rows])] if said]


def no_pass_count(side: Side) -> int:
    rows = side.all_rows
    return int((rows["no_pass"] > 0).sum()) if "no_pass" in rows else 0


def shown_command(command: str) -> str:
    """A command line without the options that only say where output
    goes (--csv PATH, -q): what a reader needs to run the same
    experiment."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
            continue
        name = w.split("=", 1)[0]
        if name in OUTPUT_ONLY:
            skip = OUTPUT_ONLY[name] and "=" not in w
            continue
        out.append(w)
    return shlex.join(out)


def commands(group: Group) -> List[tuple]:
    """(label, command line) for each command that ran the samples: a
    results file appended to by several runs holds several; with several
    files, each file's."""
    def of(side):
        return list(dict.fromkeys(shown_command(c) for c in
                                  values(side.all_rows, "command"))) or [""]

    if not group.files:
        return [("Execution command:", c)
                for c in dict.fromkeys(c for s in group.sides for c in of(s))]
    return [(f"{s.name} command:", c) for s in group.sides for c in of(s)]


# ---- figures ----------------------------------------------------------------

@dataclass
class Figures:
    """One side against the baseline."""
    name: str
    n_base: int
    n: int
    opavg: tuple        # (baseline, this, this/baseline, ci)
    p99: tuple
    opmax: tuple        # (baseline max, this max)
    significance: stats.Significance
    # opavg's this/baseline by the always-valid method, and whether a
    # --nsamples auto run (an optional stop) wrote the rows, which makes
    # it the rule that decides.
    sequential: object = None
    auto: bool = False
    # The sides (this one, the baseline) measured in a TCG guest: their
    # timings are emulated, so no speed verdict is drawn.
    emulated: tuple = ()

    @property
    def estimate(self) -> float:
        """The ratio of the medians, whichever rule decides."""
        return self.opavg[2]

    @property
    def faster(self) -> bool:
        """The direction every ratio of this side is given in: the
        verdict's, baseline/this when this is faster."""
        if self.outcome in ("faster", "slower"):
            return self.outcome == "faster"
        return self.estimate < 1

    @property
    def direction(self) -> str:
        return (f"{BASELINE}/{self.name}" if self.faster
                else f"{self.name}/{BASELINE}")

    def shown(self, r: float) -> float:
        return (1 / r if r else math.inf) if self.faster else r

    def shown_ci(self, ci) -> tuple:
        lo, hi = ci
        if not self.faster:
            return lo, hi
        return (1 / hi if hi else math.inf), (1 / lo if lo > 0 else math.inf)

    @property
    def rule(self) -> str:
        return "confidence sequence" if self.auto else "fixed-n interval"

    @property
    def outcome(self) -> str:
        """faster, slower, no change, too few, or emulated (a side ran
        in a TCG guest: behaviour, not speed)."""
        if self.emulated:
            return "emulated"
        if self.auto:
            c = self.sequential
            if not c.significant:
                return "no change"
            return "faster" if c.high < 1 else "slower"
        _, _, r, (lo, hi) = self.opavg
        s = self.significance
        if s.verdict == stats.TOO_FEW or math.isnan(lo):
            return "too few"
        if not s.significant or lo <= 1 <= hi:
            return "no change"
        return "faster" if r < 1 else "slower"


def figures(group: Group, side: Side) -> Figures:
    b, a = group.baseline.rows, side.rows

    def medians(col):
        vb, va = b[col].dropna(), a[col].dropna()
        mb, ma = stats.median(vb), stats.median(va)
        return mb, ma, stats.ratio(ma, mb), stats.ratio_interval(vb, va)

    def biggest(col):
        v = b[col].dropna(), a[col].dropna()
        return tuple(float(x.max()) if len(x) else math.nan for x in v)

    ok_b, ok_a = b.dropna(subset=["opavg_ms"]), a.dropna(subset=["opavg_ms"])
    seq = stats.sequential_ratio(
        ok_b["opavg_ms"], ok_a["opavg_ms"],
        *((ok_b["seed"].tolist(), ok_a["seed"].tolist())
          if not group.files and "seed" in b else ()))
    cmds = values(group.baseline.all_rows, "command") + \
        values(side.all_rows, "command")
    return Figures(side.name, len(b), len(a), medians("opavg_ms"),
                   medians("p99_ms"), biggest("opmax_ms"),
                   stats.mann_whitney(b["opavg_ms"], a["opavg_ms"]),
                   seq, stats.from_auto_run(dict.fromkeys(cmds)),
                   emulated_sides(group, side))


def emulated_sides(group: Group, side: Side) -> tuple:
    """Of the baseline and side, those measured in a TCG guest (--kernel
    where KVM does not work)."""
    return tuple(s.name for s in (group.baseline, side)
                 if first(s.all_rows, "vm_accel") == "tcg")


def read_under_line(group: Group) -> str:
    """Which lock each side's kernel read its procfile under, where --trace
    counted the scanners' mmap_lock read acquisitions in samples whose
    scanners completed passes (behaviour, which holds in a TCG guest too);
    "" where no side says."""
    def one(side):
        rows = side.all_rows
        if "reader_mmap_locks" not in rows or "walks" not in rows:
            return None
        walked = rows[(rows["walks"] > 0) & rows["reader_mmap_locks"].notna()]
        if not len(walked) or first(rows, "backend") != vocab.BACKEND.kernel:
            return None
        return "mmap_lock" if (walked["reader_mmap_locks"] > 0).any() \
            else "not mmap_lock"

    said = [(side.name, one(side)) for side in group.sides]
    if not any(lock for _, lock in said):
        return ""
    procfile = group.config.get("procfile", "the procfile")
    return f"{procfile} read under " + ", ".join(
        f"{lock} ({name})" for name, lock in said if lock)


def p_text(f: Figures) -> str:
    s = f.significance
    if s.pvalue is None:
        return f"- (too few samples: {f.n_base} and {f.n})"
    return f"{s.pvalue:.2g}"


def fmt_interval(f: Figures, low, high) -> str:
    """An interval of f's ratio, in f's direction: 8.10x..10.5x."""
    if math.isnan(low) or math.isnan(high):
        return "-"
    if low <= 0 and math.isinf(high):
        from procvma.results import sequential
        return (f"unbounded yet (it takes {sequential.fewest_bounded(0.025)} "
                f"samples a side)")
    lo, hi = f.shown_ci((low, high))
    return f"{fmt_ratio(lo)}..{fmt_ratio(hi)}"


def sequence_text(f: Figures) -> str:
    c = f.sequential
    return (f"{fmt_interval(f, c.low, c.high)}: "
            f"{'decides' if c.significant else 'does not decide'}")


def rule_text(f: Figures) -> str:
    if f.auto:
        return ("the confidence sequence decides: the run chose when to "
                "stop (--nsamples auto: when its samples decided, or at "
                "--max-samples), and after such a stop only the confidence "
                "sequence is valid, not the fixed-n CI or p")
    return ("the 95% CI and the Mann-Whitney p decide: the sample count "
            "was fixed before the run; the confidence sequence is for runs "
            "that stop when the samples decide (--nsamples auto)")


def verdict(f: Figures) -> str:
    """The verdict, its ratio in f's direction."""
    how = "95% confidence sequence" if f.auto else "95% CI"
    ratio = fmt_ratio(f.shown(f.estimate))
    if f.auto:
        lo, hi = f.sequential.low, f.sequential.high
        tail = "."
    else:
        lo, hi = f.opavg[3]
        tail = f", p = {p_text(f)}."
    interval = f"{how} " + fmt_interval(f, lo, hi).replace("..", " to ")
    if f.auto and lo <= 0 and math.isinf(hi):
        from procvma.results import sequential
        interval = (f"the {how} is unbounded below "
                    f"{sequential.fewest_bounded(0.025)} samples a side")
    if f.outcome == "emulated":
        return (f"no speed verdict: {' and '.join(f.emulated)} ran in a TCG "
                f"guest, whose timings are emulated (it keeps a kernel's "
                f"behaviour, not its speed).")
    if f.outcome == "too few":
        return (f"too few samples to judge ({f.n_base} and {f.n}; at least "
                f"{stats.MIN_SAMPLES} a side are needed).")
    if f.outcome == "no change":
        return (f"no clear change in median opavg ({f.direction} {ratio}, "
                f"{interval}){tail}")
    return (f"{f.name} is {ratio} {f.outcome} in median opavg "
            f"({interval}){tail}")


def why(side: Side) -> Optional[str]:
    """Why the mapper stalled, from the lock figures, in one sentence:
    "the mapper waited 0.360 of 0.380 ms per op; the readers held
    mmap_lock 920.000 ms per sample, 71% of it preempted" (medians over the
    samples).  None where the rows have no lock figures (the kernel
    backend without --trace); the holder's part only where its split is
    known."""
    rows = side.rows
    if "mapper_wait_ms" not in rows or rows["mapper_wait_ms"].isna().all():
        return None
    ok = rows.dropna(subset=["mapper_wait_ms"])
    ops = ok["nmaps"] + ok["nunmaps"]
    wait = stats.median((ok["mapper_wait_ms"] / ops.where(ops > 0)).dropna())
    text = (f"the mapper waited {fmt_ms(wait)} of "
            f"{fmt_ms(stats.median(ok['opavg_ms']))} ms per op")
    hold = (ok["reader_hold_avg_ms"] * ok["reader_mmap_locks"]).dropna()
    if len(hold):
        text += (f"; the readers held mmap_lock "
                 f"{fmt_ms(stats.median(hold))} ms per sample")
    parts = ["reader_hold_running_ms", "reader_hold_preempted_ms",
             "reader_hold_sleeping_ms"]
    if all(c in ok for c in parts):
        split = ok[parts].dropna()
        split = split[split.sum(axis=1) > 0]
        if len(split):
            total = split.sum(axis=1)
            pre = stats.median(split["reader_hold_preempted_ms"] / total)
            asleep = stats.median(split["reader_hold_sleeping_ms"] / total)
            text += f", {pre:.0%} of it preempted"
            if asleep >= 0.005:
                text += f", {asleep:.0%} asleep"
    return text
