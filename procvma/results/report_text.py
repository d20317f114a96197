# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma report as text a mail takes (every line at most 72 columns)
or as Markdown for a pull request: the sections report.py finds, their
figures written by fmt.py."""

from __future__ import annotations

import shlex
import textwrap
from typing import List, Sequence

from procvma.results import stats, table
from procvma.results.compare import Side, describe
from procvma.results.fmt import fmt_ms, fmt_pct, fmt_ratio
from procvma.results.report import (
    BASELINE, Figures, Group, commands, cpu_line, figures, hung_line, kernel_line,
    label_line, label_of, layout_line, measured, p_text, preempt_line, read_under_line,
    rule_text, samples_line, sequence_text, verdict, warnings, why
)

WIDTH = 72


# Rawdata's columns, as the reference prints them (one head per column).
RAWDATA_HEAD = "%9s %9s %9s" % ("median", "opavg", "opmax")
RAWDATA_NOTE = ("Rawdata (ms), as the reference prints it: the median "
                "opavg, then the opavg and the opmax column, each sorted "
                "on its own, so that a row is not one sample.")


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
    return textwrap.wrap(text, WIDTH,
                         initial_indent=f"{label + ':':<{pad - 1}} ",
                         subsequent_indent=" " * pad,
                         break_on_hyphens=False)


def wrap_text(text: str, indent: str = "") -> List[str]:
    return textwrap.wrap(text, WIDTH, break_on_hyphens=False,
                         subsequent_indent=indent)


def rawdata(side: Side) -> List[str]:
    """The reference's rawdata block, its columns headed."""
    rows = side.rows
    samples = [(r.opavg_ms, r.opmax_ms, r.hang) for r in rows.itertuples()]
    if not samples:
        return ["", "(no samples)"]
    nbusy = int(rows["nbusycpus"].iloc[0])
    lines = table.format_table({nbusy: samples}, rawdata=True) \
        .rstrip("\n").split("\n")
    return [lines[0], RAWDATA_HEAD] + lines[1:]


def fields(g: Group) -> List[tuple]:
    out = [("Kernel", kernel_line(g)), ("CPU", cpu_line(g)),
           ("Preempt", preempt_line(g)), ("Label", label_line(g)),
           ("Layout", layout_line(g)),
           ("Samples", samples_line(g) + "; " + hung_line(g))]
    if read_under_line(g):
        out.append(("Locks", read_under_line(g)))
    return out + [("Warning", w) for w in warnings(g)]


def medians_rows(g: Group) -> List[tuple]:
    sides = g.sides
    return [
        ("median opavg (ms)",
         [fmt_ms(stats.median(s.rows["opavg_ms"].dropna())) for s in sides]),
        ("median p99 (ms)",
         [fmt_ms(stats.median(s.rows["p99_ms"].dropna())) for s in sides]),
        ("max opmax (ms)",
         [fmt_ms(s.rows["opmax_ms"].max() if len(s.rows) else None)
          for s in sides]),
    ]


def ratio_rows(f: Figures) -> List[tuple]:
    def with_ci(r, ci):
        lo, hi = f.shown_ci(ci)
        return (f"{fmt_ratio(f.shown(r))} ({fmt_ratio(lo)}.."
                f"{fmt_ratio(hi)})" if lo == lo and hi == hi
                else fmt_ratio(f.shown(r)))
    return [("median opavg", with_ci(f.opavg[2], f.opavg[3])),
            ("median p99", with_ci(f.p99[2], f.p99[3])),
            ("max opmax", fmt_ratio(f.shown(stats.ratio(f.opmax[1],
                                                        f.opmax[0]))))]


def against_text(f: Figures) -> List[str]:
    out = wrap_text(f"{f.name} against {BASELINE}, as {f.direction} "
                    f"(95% CI):")
    out += [f"  {label:16} {value}" for label, value in ratio_rows(f)]
    out += wrap_text(f"Mann-Whitney U on opavg, two-sided: p = {p_text(f)}")
    out += wrap_text(f"95% confidence sequence of {f.direction} (valid at "
                     f"any stop): {sequence_text(f)}", indent="    ")
    pb, pa = f.p99[0], f.p99[1]
    out += wrap_text(f"p99 change: {fmt_pct(stats.ratio(pa, pb) - 1)} "
                     f"(median p99 {fmt_ms(pb)} -> {fmt_ms(pa)} ms)")
    out += wrap_field("Rule", rule_text(f), pad=9)
    out += wrap_field("Verdict", verdict(f))
    return out


def section_text(g: Group) -> List[str]:
    out = []
    for label, cmd in commands(g):
        out += wrap_command(cmd, label)
    out.append("")
    for label, text in fields(g):
        out += wrap_field(label, text)
    out.append("")
    out += wrap_text(RAWDATA_NOTE)
    labelled = len({label_of(s) for s in g.sides}) > 1
    for side in g.sides:
        out.append("")
        out += wrap_text(f"{side.name}: {measured(side, labelled)}")
        out += rawdata(side)
    whys = [(side.name, why(side)) for side in g.sides]
    if any(w for _, w in whys):
        out.append("")
        for name, w in whys:
            if w:
                out += wrap_field("Why", f"{name}: {w}")
    out.append("")
    widths = [max(9, len(s.name)) for s in g.sides]
    out.append(f"{'':18}" + "".join(f" {s.name:>{w}}"
                                    for s, w in zip(g.sides, widths)))
    for label, cells in medians_rows(g):
        out.append(f"{label:18}" + "".join(f" {c:>{w}}"
                                           for c, w in zip(cells, widths)))
    for side in g.others:
        out.append("")
        out += against_text(figures(g, side))
    return out


def section_markdown(g: Group) -> List[str]:
    out = []
    for label, cmd in commands(g):
        out += [f"**{label}**", "", "```", *wrap_command(cmd, ""), "```", ""]
    out += ["| | |", "|---|---|"]
    out += [f"| {label} | {text} |" for label, text in fields(g)]
    out += ["", RAWDATA_NOTE]
    for side in g.sides:
        labelled = len({label_of(s) for s in g.sides}) > 1
        out += ["", f"**{side.name}:** {measured(side, labelled)}", "", "```",
                *[ln for ln in rawdata(side) if ln], "```"]
    out += [x for side in g.sides for w in [why(side)] if w
            for x in ("", f"**Why ({side.name}):** {w}")]
    out += ["", "| | " + " | ".join(s.name for s in g.sides) + " |",
            "|---|" + "---:|" * len(g.sides)]
    out += [f"| {label} | " + " | ".join(cells) + " |"
            for label, cells in medians_rows(g)]
    for side in g.others:
        f = figures(g, side)
        pb, pa = f.p99[0], f.p99[1]
        out += ["", f"| {side.name} against {BASELINE} | {f.direction} "
                f"(95% CI) |", "|---|---|"]
        out += [f"| {label} | {value} |" for label, value in ratio_rows(f)]
        out += [f"| Mann-Whitney p (opavg, two-sided) | {p_text(f)} |",
                f"| 95% confidence sequence (opavg, any stop) | "
                f"{sequence_text(f)} |",
                f"| p99 change | {fmt_pct(stats.ratio(pa, pb) - 1)} |",
                "", f"**Rule:** {rule_text(f)}",
                "", f"**Verdict:** {verdict(f)}"]
    return out


def render(groups: List[Group], markdown: bool = False,
           notes: Sequence[str] = ()) -> str:
    out = []
    for note in notes:
        out += [note, ""] if markdown else wrap_text(note) + [""]
    for i, g in enumerate(groups):
        if len(groups) > 1:
            head = (f"Configuration {i + 1} of {len(groups)}"
                    + (f" ({g.machine})" if g.machine else "")
                    + ": " + describe(g.config))
            out += [f"### {head}", ""] if markdown else \
                textwrap.wrap(head, WIDTH, break_on_hyphens=False) + [""]
        out += section_markdown(g) if markdown else section_text(g)
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
