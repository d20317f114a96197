# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma report CSV [CSV]: the block a patch author pastes into a cover
letter, in the seed's form -- the command line, the reference's rawdata
blocks headed "Baseline:" and "Patched:", and a verdict -- with what a
reviewer asks next: which kernel and CPUs, the medians with the ratio's
95% interval, the Mann-Whitney p and the p99 change.  Every line fits 72
columns, as mail does; --markdown gives the same for a pull request.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Sequence

from procvma.results.fmt import fmt_ci, fmt_ms, fmt_pct, fmt_ratio, fmt_value
from procvma.results import machines, schema, stats, table
from procvma.results.compare import BadInput, Side, config_groups, describe

WIDTH = 72

DESIGNS = {"mmap": "--lock mmap (/proc walk under mmap_lock)",
           "vma": "--lock vma (/proc walk under per-VMA locks)"}

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Pair:
    """One configuration measured before and after."""
    config: dict                # what both sides share
    before: Side
    after: Side
    machine: str = ""           # which machines, when a file holds several


def pairs_in_one(df: pd.DataFrame, path: str, include_hangs) -> List[Pair]:
    """Within one file: --lock mmap before, --lock vma after, for every
    configuration of the other columns measured in both, machine by
    machine: rows of two machines are never paired or pooled."""
    key = [c for c in schema.CONFIG_KEY if c != "lock"]
    parts = machines.split(df)
    out = []
    for machine, part in parts:
        for config, rows in config_groups(part, key).items():
            mmap, vma = rows[rows["lock"] == "mmap"], rows[rows["lock"] == "vma"]
            if len(mmap) and len(vma):
                out.append(Pair(dict(zip(key, config)),
                                Side.of("Baseline", path, mmap, include_hangs),
                                Side.of("Patched", path, vma, include_hangs),
                                machines.describe(machine)
                                if len(parts) > 1 else ""))
    if not out:
        raise BadInput(f"{path}: no configuration was measured with both "
                       f"--lock mmap and --lock vma"
                       + (" on one machine" if len(parts) > 1 else "")
                       + "; give two files to report one against the other")
    return out


def pairs_in_two(a: pd.DataFrame, b: pd.DataFrame, path_a: str,
                 path_b: str, include_hangs) -> List[Pair]:
    """The first file before, the second after, configuration by
    configuration; a file that holds several machines, one machine at a
    time against each of the other's."""
    parts_a, parts_b = machines.split(a), machines.split(b)
    several = len(parts_a) > 1 or len(parts_b) > 1
    out = []
    for ma, rows_a in parts_a:
        for mb, rows_b in parts_b:
            groups_a, groups_b = config_groups(rows_a), config_groups(rows_b)
            where = (f"Baseline on {machines.describe(ma)}, Patched on "
                     f"{machines.describe(mb)}" if several else "")
            out += [Pair(dict(zip(schema.CONFIG_KEY, c)),
                         Side.of("Baseline", path_a, groups_a[c],
                                 include_hangs),
                         Side.of("Patched", path_b, groups_b[c],
                                 include_hangs), where)
                    for c in sorted(groups_a.keys() & groups_b.keys(),
                                    key=str)]
    if not out:
        groups_a, groups_b = config_groups(a), config_groups(b)
        ca, cb = next(iter(groups_a)), next(iter(groups_b))
        differ = [f"{k} {fmt_value(x)} against {fmt_value(y)}"
                  for k, x, y in zip(schema.CONFIG_KEY, ca, cb)
                  if fmt_value(x) != fmt_value(y)]
        raise BadInput(f"{path_a} and {path_b} share no configuration: "
                       + ("; ".join(differ) or "none within one machine "
                          "of each"))
    return out


# ---- what a pair says --------------------------------------------------------

def first(rows: pd.DataFrame, column: str) -> str:
    values = [str(v) for v in (rows[column] if column in rows else [])
              if str(v) not in ("", "nan")]
    return values[0] if values else ""


def measured(side: Side) -> str:
    """What was measured, as the rawdata block's heading says it."""
    rows = side.rows if len(side.rows) else side.all_rows
    lock = first(rows, "lock")
    if first(rows, "backend") == "kernel":
        scanner = first(rows, "scanner")
        return (f"Linux {first(rows, 'kernel_release')}"
                + (", " + schema.scanner_label(scanner, first(rows, "scanner_command"))
                   if scanner not in ("", "-") else ""))
    return f"simulated kernel, {DESIGNS.get(lock, '--lock ' + lock)}"


def kernel_line(pair: Pair) -> str:
    def one(side):
        rows = side.all_rows
        release = first(rows, "kernel_release") or "unknown"
        accel = first(rows, "vm_accel")
        if first(rows, "backend") == "kernel":
            return f"Linux {release}" + (f" ({accel} guest)" if accel in ("kvm", "tcg")
                                         else "")
        return (f"simulated (procvma {first(rows, 'procvma_version')}) on "
                f"Linux {release}")

    a, b = one(pair.before), one(pair.after)
    return a if a == b else f"{a} -> {b}"


def cpu_line(pair: Pair) -> str:
    def one(side):
        rows = side.all_rows
        model = first(rows, "cpu_model") or "unknown CPU"
        cpus = first(rows, "cpus_online")
        if not cpus:
            return model
        n = len(_cpulist(cpus))
        return f"{model}, {n} CPU{'s' * (n != 1)} online ({cpus})"

    a, b = one(pair.before), one(pair.after)
    return a if a == b else f"{a} -> {b}"


def _cpulist(text):
    from procvma.host.hostinfo import parse_cpulist
    try:
        return parse_cpulist(text)
    except ValueError:
        return []


def layout_line(pair: Pair) -> str:
    rows = pair.before.all_rows
    c = pair.config

    def num(column, rows=rows):
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


def samples_line(pair: Pair) -> str:
    b, a = pair.before, pair.after
    dur = fmt_value(pair.config.get("duration", float("nan")))
    text = (f"{len(b.rows)} baseline and {len(a.rows)} patched samples of "
            f"{dur} s, reading /proc/PID/{pair.config.get('procfile')}")
    loads = [v for s in (b, a) for v in s.all_rows["loadavg1"].dropna()]
    if loads:
        text += (f"; 1-min load average {min(loads):.2f}-{max(loads):.2f} "
                 f"at sample start")
    return text


def hung_line(pair: Pair) -> str:
    sides = [pair.before, pair.after]
    if not any(s.hung for s in sides):
        return "none hung"
    how = "kept (--include-hangs)" if pair.before.hung_kept else \
        "left out (--include-hangs keeps them)"
    return (", ".join(f"{s.name} {s.hung}" for s in sides)
            + f" hung; {how}")


def busy_lines(pair: Pair) -> List[str]:
    """run-proc-vs-map's busy-machine warning, from what the rows
    recorded: for the one run both sides came from, or for each file."""
    from procvma.results.machines import machine_was_busy

    def busy(frames):
        rows = [r for f in frames for r in f.to_dict("records")]
        if not rows or "others_running" not in rows[0]:
            return None
        online = _cpulist(first(frames[0], "cpus_online"))
        return machine_was_busy(rows, rows[0], online) if online else None

    b, a = pair.before, pair.after
    if b.what == a.what:
        said = busy([b.all_rows, a.all_rows])
        return [said] if said else []
    return [f"{s.name}: {said}" for s in (b, a)
            for said in [busy([s.all_rows])] if said]


def no_pass_count(side: Side) -> int:
    rows = side.all_rows
    return int((rows["no_pass"] > 0).sum()) if "no_pass" in rows else 0


@dataclass
class Figures:
    n_before: int
    n_after: int
    opavg: tuple        # (before, after, ratio, ci)
    p99: tuple
    opmax: tuple        # (before max, after max)
    significance: stats.Significance
    # opavg's Patched/Baseline by the always-valid method, and whether a
    # --nsamples auto run (an optional stop) wrote the rows, which makes
    # it the verdict's.
    sequential: object = None
    auto: bool = False


def figures(pair: Pair) -> Figures:
    b, a = pair.before.rows, pair.after.rows

    def medians(col):
        vb, va = b[col].dropna(), a[col].dropna()
        mb, ma = stats.median(vb), stats.median(va)
        return mb, ma, stats.ratio(ma, mb), stats.ratio_interval(vb, va)

    def biggest(col):
        v = b[col].dropna(), a[col].dropna()
        return tuple(float(x.max()) if len(x) else math.nan for x in v)

    ok_b, ok_a = b.dropna(subset=["opavg_ms"]), a.dropna(subset=["opavg_ms"])
    one_run = pair.before.what == pair.after.what and "seed" in b
    seq = stats.sequential_ratio(
        ok_b["opavg_ms"], ok_a["opavg_ms"],
        *((ok_b["seed"].tolist(), ok_a["seed"].tolist()) if one_run else ()))
    commands = [c for side in (pair.before, pair.after)
                for c in (side.all_rows["command"] if "command" in
                          side.all_rows else [])]
    return Figures(len(b), len(a), medians("opavg_ms"), medians("p99_ms"),
                   biggest("opmax_ms"),
                   stats.mann_whitney(b["opavg_ms"], a["opavg_ms"]),
                   seq, stats.from_auto_run(dict.fromkeys(commands)))


def why_line(side: Side):
    """Why the mapper stalled, from the lock figures, in one sentence:
    "the mapper waited 0.36 of 0.38 ms per op; the readers held mmap_lock
    0.92 s per sample, 71% of it preempted" (medians over the samples).
    None where the rows have no lock figures (the kernel backend without
    --trace); the holder's part only where its split is known."""
    rows = side.rows
    if "mapper_wait_ms" not in rows or rows["mapper_wait_ms"].isna().all():
        return None
    ok = rows.dropna(subset=["mapper_wait_ms"])
    ops = ok["nmaps"] + ok["nunmaps"]
    wait = stats.median((ok["mapper_wait_ms"] / ops.where(ops > 0)).dropna())
    text = (f"the mapper waited {wait:.3g} of {stats.median(ok['opavg_ms']):.3g} "
            f"ms per op")
    hold = (ok["reader_hold_avg_ms"] * ok["reader_mmap_locks"]).dropna()
    if len(hold):
        text += (f"; the readers held mmap_lock "
                 f"{stats.median(hold) / 1000:.3g} s per sample")
    parts = ["reader_hold_running_ms", "reader_hold_preempted_ms",
             "reader_hold_sleeping_ms"]
    if all(c in ok for c in parts):
        split = ok[parts].dropna()
        total = split.sum(axis=1)
        split = split[total > 0]
        if len(split):
            total = split.sum(axis=1)
            pre = stats.median(split["reader_hold_preempted_ms"] / total)
            asleep = stats.median(split["reader_hold_sleeping_ms"] / total)
            text += f", {pre:.0%} of it preempted"
            if asleep >= 0.005:
                text += f", {asleep:.0%} asleep"
    return text


def sequential_line(f: Figures) -> str:
    c = f.sequential
    return (f"95% confidence sequence of opavg's Patched/Baseline (valid "
            f"at any stop): {fmt_interval(c)}: "
            f"{'decides' if c.significant else 'does not decide'}")


def fmt_interval(c) -> str:
    if math.isnan(c.low):
        return "-"
    if c.low <= 0 and math.isinf(c.high):
        from procvma.results import sequential
        return (f"unbounded yet (it takes {sequential.fewest_bounded(0.025)} "
                f"samples a side)")
    hi = "inf" if math.isinf(c.high) else fmt_ratio(c.high).rstrip("x")
    return f"{fmt_ratio(c.low).rstrip('x')}..{hi}"


def auto_verdict(f: Figures) -> str:
    """The verdict on the samples of a run that stopped when they
    decided: by the confidence sequence, which that stop keeps valid."""
    c = f.sequential
    if not c.significant:
        return (f"no clear change in median opavg ({fmt_ratio(c.estimate)}, "
                f"95% confidence sequence {fmt_interval(c)}: the samples do "
                f"not decide).")
    if c.high < 1:
        low = fmt_ratio(1 / c.high)
        high = fmt_ratio(1 / c.low) if c.low > 0 else "inf"
        return (f"Patched is {fmt_ratio(1 / c.estimate)} faster in median "
                f"opavg (95% confidence sequence {low} to {high}).")
    high = "inf" if math.isinf(c.high) else fmt_ratio(c.high)
    return (f"Patched is {fmt_ratio(c.estimate)} slower in median opavg "
            f"(95% confidence sequence {fmt_ratio(c.low)} to {high}).")


def verdict(f: Figures) -> str:
    if f.auto:
        return auto_verdict(f)
    _, _, r, (lo, hi) = f.opavg
    s = f.significance
    if s.verdict == stats.TOO_FEW or math.isnan(lo):
        return (f"too few samples to judge ({f.n_before} and {f.n_after}; "
                f"at least {stats.MIN_SAMPLES} a side are needed).")
    if not s.significant or lo <= 1 <= hi:
        return (f"no clear change in median opavg ({fmt_ratio(r)}, 95% "
                f"CI {fmt_ci((lo, hi))}, p = {p_text(f)}).")
    if r < 1:
        return (f"Patched is {fmt_ratio(1 / r)} faster in median opavg "
                f"(95% CI {fmt_ratio(1 / hi)} to {fmt_ratio(1 / lo)}), "
                f"p = {p_text(f)}.")
    return (f"Patched is {fmt_ratio(r)} slower in median opavg (95% CI "
            f"{fmt_ratio(lo)} to {fmt_ratio(hi)}), p = {p_text(f)}.")


# ---- guests (--kernel) ---------------------------------------------------------

def emulated_sides(pair: Pair) -> List[str]:
    """The sides measured in a TCG guest (--kernel where KVM does not
    work): their timings are emulated, so no speed verdict is drawn."""
    return [side.name for side in (pair.before, pair.after)
            if first(side.all_rows, "vm_accel") == "tcg"]


def pair_verdict(pair: Pair, f: Figures) -> str:
    """verdict(f), unless a side's timings are emulated: then what the
    kernels did still counts (the Why lines, read_under_line), not how
    fast."""
    emulated = emulated_sides(pair)
    if not emulated:
        return verdict(f)
    return (f"no speed verdict: {' and '.join(emulated)} ran in a TCG "
            f"guest, whose timings are emulated (it keeps a kernel's "
            f"behaviour, not its speed).")


def read_under_line(pair: Pair) -> str:
    """Which lock each side's kernel read its procfile under, where --trace
    counted the scanners' mmap_lock read acquisitions in samples whose
    scanners completed passes; "" where no side says."""
    def one(side):
        rows = side.all_rows
        if "reader_mmap_locks" not in rows or "walks" not in rows:
            return None
        walked = rows[(rows["walks"] > 0) & rows["reader_mmap_locks"].notna()]
        if not len(walked) or first(rows, "backend") != "kernel":
            return None
        taken = (walked["reader_mmap_locks"] > 0).any()
        return "mmap_lock" if taken else "not mmap_lock"

    said = [(side.name, one(side)) for side in (pair.before, pair.after)]
    if not any(lock for _, lock in said):
        return ""
    procfile = pair.config.get("procfile", "the procfile")
    return f"{procfile} read under " + ", ".join(
        f"{lock} ({name})" for name, lock in said if lock)


# ---- text ----------------------------------------------------------------------

def wrap_command(command: str, lead: str) -> List[str]:
    """A command line in shell continuation lines of at most WIDTH
    columns, an option kept with its value."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    units = []
    for w in map(shlex.quote, words):
        if units and not w.startswith("-") and units[-1].startswith("-") \
                and " " not in units[-1] and units[-1] != "--":
            units[-1] += " " + w
        else:
            units.append(w)
    if not units:
        return [(lead + " " if lead else "") + "(not recorded in the results file)"]
    lines, line = [], lead
    for u in units:
        if line.strip() and len(line) + 1 + len(u) + 2 > WIDTH:
            lines.append(line + " \\")
            line = "    " + u
        else:
            line = (line + " " + u) if line.strip() else line + u
    lines.append(line)
    return lines


def wrap_field(label: str, text: str, pad: int = 9) -> List[str]:
    """label: text, wrapped to WIDTH under the text's first column."""
    import textwrap
    return textwrap.wrap(text, WIDTH,
                         initial_indent=f"{label + ':':<{pad - 1}} ",
                         subsequent_indent=" " * pad,
                         break_on_hyphens=False)


def wrap_text(text: str) -> List[str]:
    import textwrap
    return textwrap.wrap(text, WIDTH, break_on_hyphens=False)


def commands(pair: Pair) -> List[tuple]:
    """(label, command line) for each command that ran the samples: a
    results file appended to by several runs holds several."""
    def of(side):
        rows = side.all_rows
        found = [str(c) for c in rows["command"]] if "command" in rows else []
        return list(dict.fromkeys(c for c in found if c not in ("", "nan"))) \
            or [""]

    b, a = of(pair.before), of(pair.after)
    if a == b:
        return [("Execution command:", c) for c in b]
    return [("Baseline command:", c) for c in b] + \
        [("Patched command:", c) for c in a]


def rawdata(side: Side) -> str:
    rows = side.rows
    samples = [(r.opavg_ms, r.opmax_ms, r.hang) for r in rows.itertuples()]
    nbusy = int(rows["nbusycpus"].iloc[0]) if len(rows) else 0
    return table.format_table({nbusy: samples}, rawdata=True) if samples \
        else "\n(no samples)\n\n"


def stats_rows(f: Figures):
    ob, oa, r, ci = f.opavg
    pb, pa, pr, pci = f.p99
    return [
        ("median opavg (ms)", fmt_ms(ob), fmt_ms(oa),
         f"{fmt_ratio(r)} ({fmt_ci(ci)})"),
        ("median p99 (ms)", fmt_ms(pb), fmt_ms(pa),
         f"{fmt_ratio(pr)} ({fmt_ci(pci)})"),
        ("max opmax (ms)", fmt_ms(f.opmax[0]), fmt_ms(f.opmax[1]),
         fmt_ratio(stats.ratio(f.opmax[1], f.opmax[0]))),
    ]


def p_text(f: Figures) -> str:
    s = f.significance
    if s.pvalue is None:
        return f"- (too few samples: {f.n_before} and {f.n_after})"
    return f"{s.pvalue:.2g}"


def section_text(pair: Pair) -> List[str]:
    f = figures(pair)
    out = []
    for label, cmd in commands(pair):
        out += wrap_command(cmd, label)
    out.append("")
    out += wrap_field("Kernel", kernel_line(pair))
    out += wrap_field("CPU", cpu_line(pair))
    out += wrap_field("Layout", layout_line(pair))
    out += wrap_field("Samples", samples_line(pair) + "; "
                      + hung_line(pair))
    for side in (pair.before, pair.after):
        if no_pass_count(side):
            out += wrap_field("Warning", f"{side.name}: {no_pass_count(side)}"
                              f" sample(s) in which no scanner completed a "
                              f"pass")
    for said in busy_lines(pair):
        out += wrap_field("Warning", said)
    for side in (pair.before, pair.after):
        out.append("")
        out += wrap_text(f"{side.name}: {measured(side)}")
        out += rawdata(side).rstrip("\n").split("\n")
    whys = [(side.name, why_line(side)) for side in (pair.before, pair.after)]
    if any(why for _, why in whys):
        out.append("")
        for name, why in whys:
            if why:
                out += wrap_field("Why", f"{name}: {why}")
    out.append("")
    rows = stats_rows(f)
    out.append(f"{'':18} {'Baseline':>9} {'Patched':>9}  "
               f"Patched/Baseline (95% CI)")
    for label, b, a, r in rows:
        out.append(f"{label:18} {b:>9} {a:>9}  {r}")
    out.append("")
    out += wrap_text(f"Mann-Whitney U on opavg, two-sided: p = {p_text(f)}")
    out += wrap_text(sequential_line(f))
    pb, pa = f.p99[0], f.p99[1]
    out += wrap_text(f"p99 change: {fmt_pct(stats.ratio(pa, pb) - 1)} "
                     f"(median p99 {fmt_ms(pb)} -> {fmt_ms(pa)} ms)")
    if read_under_line(pair):
        out += wrap_field("Locks", read_under_line(pair))
    out.append("")
    out += wrap_field("Verdict", pair_verdict(pair, f))
    return out


def section_markdown(pair: Pair) -> List[str]:
    f = figures(pair)
    out = []
    for label, cmd in commands(pair):
        out += [f"**{label}**", "", "```", *wrap_command(cmd, ""), "```", ""]
    out += ["| | |", "|---|---|",
            f"| Kernel | {kernel_line(pair)} |",
            f"| CPU | {cpu_line(pair)} |",
            f"| Layout | {layout_line(pair)} |",
            f"| Samples | {samples_line(pair)}; {hung_line(pair)} |"]
    for side in (pair.before, pair.after):
        if no_pass_count(side):
            out.append(f"| Warning | {side.name}: {no_pass_count(side)} "
                       f"sample(s) in which no scanner completed a pass |")
    out += [f"| Warning | {said} |" for said in busy_lines(pair)]
    for side in (pair.before, pair.after):
        out += ["", f"**{side.name}:** {measured(side)}", "", "```",
                *rawdata(side).strip("\n").split("\n"), "```"]
    whys = [(side.name, why_line(side)) for side in (pair.before, pair.after)]
    out += [x for name, why in whys if why
            for x in ("", f"**Why ({name}):** {why}")]
    out += ["", "| | Baseline | Patched | Patched/Baseline (95% CI) |",
            "|---|---:|---:|---|"]
    out += [f"| {label} | {b} | {a} | {r} |"
            for label, b, a, r in stats_rows(f)]
    pb, pa = f.p99[0], f.p99[1]
    c = f.sequential
    out += [f"| Mann-Whitney p (opavg, two-sided) | | | {p_text(f)} |",
            f"| 95% confidence sequence (opavg, any stop) | | | "
            f"{fmt_interval(c)}: "
            f"{'decides' if c.significant else 'does not decide'} |",
            f"| p99 change | | | {fmt_pct(stats.ratio(pa, pb) - 1)} |",
            "", f"**Verdict:** {pair_verdict(pair, f)}"]
    if read_under_line(pair):
        out[-1:-1] = [f"**Locks:** {read_under_line(pair)}", ""]
    return out


def render(pairs: List[Pair], markdown: bool = False,
           notes: Sequence[str] = ()) -> str:
    out = []
    for note in notes:
        out += [note, ""] if markdown else wrap_text(note) + [""]
    for i, pair in enumerate(pairs):
        if len(pairs) > 1:
            head = (f"Configuration {i + 1} of {len(pairs)}"
                    + (f" ({pair.machine})" if pair.machine else "")
                    + ": " + describe(pair.config))
            if markdown:
                out += [f"### {head}", ""]
            else:
                import textwrap
                out += textwrap.wrap(head, WIDTH, break_on_hyphens=False)
                out.append("")
        out += section_markdown(pair) if markdown else section_text(pair)
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
