# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma report --json: the report as one JSON document, the same
figures and verdicts as the text (report_text.py), ratios in the
direction each verdict reads ("direction")."""

from __future__ import annotations

import math
from typing import Dict, List

from procvma.results import stats
from procvma.results.compare import Side
from procvma.results.report import (
    Figures, Group, commands, cpu_line, figures, hung_line, kernel_line,
    label_line, label_of, layout_line, measured, preempt_line, samples_line,
    verdict, warnings, why)


def _num(v):
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) \
        else float(v)


def side_json(side: Side) -> Dict:
    rows = side.rows
    return {
        "name": side.name, "source": side.what,
        "measured": measured(side, False),
        "label": label_of(side), "samples": len(rows), "hung": side.hung,
        "median_opavg_ms": _num(stats.median(rows["opavg_ms"].dropna())),
        "median_p99_ms": _num(stats.median(rows["p99_ms"].dropna())),
        "max_opmax_ms": _num(rows["opmax_ms"].max()) if len(rows) else None,
        "opavg_ms": sorted(map(float, rows["opavg_ms"].dropna())),
        "opmax_ms": sorted(map(float, rows["opmax_ms"].dropna())),
        "why": why(side),
    }


def against_json(f: Figures) -> Dict:
    c = f.sequential
    return {
        "direction": f.direction,
        "opavg_ratio": _num(f.shown(f.opavg[2])),
        "opavg_ci": [_num(v) for v in f.shown_ci(f.opavg[3])],
        "p99_ratio": _num(f.shown(f.p99[2])),
        "p99_ci": [_num(v) for v in f.shown_ci(f.p99[3])],
        "opmax_ratio": _num(f.shown(stats.ratio(f.opmax[1], f.opmax[0]))),
        "mann_whitney_p": f.significance.pvalue,
        "confidence_sequence": [_num(v) for v in f.shown_ci((c.low, c.high))],
        "confidence_sequence_decides": bool(c.significant),
        "rule": f.rule,
        "outcome": f.outcome,
        "verdict": verdict(f),
    }


def document(groups: List[Group], notes=()) -> Dict:
    """The report as one JSON-ready dict: the same figures and verdicts
    as the text."""
    sections = []
    for g in groups:
        sides = [side_json(s) for s in g.sides]
        for s, j in zip(g.others, sides[1:]):
            j["against_baseline"] = against_json(figures(g, s))
        sections.append({
            "configuration": {k: (v if isinstance(v, str) else _num(v))
                              for k, v in g.config.items()},
            "machine": g.machine,
            "commands": [{"of": lab.rstrip(":"), "command": cmd}
                         for lab, cmd in commands(g)],
            "kernel": kernel_line(g), "cpu": cpu_line(g),
            "preempt": preempt_line(g), "label": label_line(g),
            "layout": layout_line(g), "samples": samples_line(g),
            "hung": hung_line(g), "warnings": warnings(g),
            "baseline": sides[0], "against": sides[1:],
        })
    return {"notes": [n for n in notes if n], "sections": sections}
