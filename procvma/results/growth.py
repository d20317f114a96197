# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma growth CSV... [-o FILE]: how the stall grows with the address
space, from sweeps over region size (--mb/--gb) and holes (--holes).

One line per design (the simulator's two, the kernel's own), each point
the median over its samples:

 * against region size, at no holes: opavg and p99 of the mapper's calls,
   and the scanner's walk time per resident page, whose constancy is what
   "linear in resident pages" means;
 * against the VMAs the region starts with (holes + 1), at the size the
   holes were swept at.

It prints the figures as a table, with the exponent k of a least-squares
fit opavg ~ size^k (log-log) per design, and draws them with -o.
"""

from __future__ import annotations

import math
from typing import Dict, List, Sequence

from procvma import vocab
from procvma.results import machines, schema, stats
from procvma.results.compare import format_table

PAGE_SIZE = 4096
# What one line is: every configuration column but the two swept here.
LINE_KEY = [c for c in schema.CONFIG_KEY if c not in ("region_pages", "holes")]
METRICS = [("opavg_ms", "median opavg"), ("p99_ms", "median p99")]


def size_label(pages: float) -> str:
    nbytes = int(pages) * PAGE_SIZE
    for shift, unit in ((40, "TiB"), (30, "GiB"), (20, "MiB")):
        if nbytes >= 1 << shift:
            return f"{nbytes / (1 << shift):g} {unit}"
    return f"{nbytes >> 10} KiB"


class Line:
    """The points of one design: per (region_pages, holes), the medians
    of its samples."""

    def __init__(self, config: Dict, rows):
        self.config = config
        self.machine = ""       # which machine, when the lines are of several
        self.points = []
        for (pages, holes), g in rows.groupby(["region_pages", "holes"], sort=True):
            walk = stats.median(g["walk_avg_ms"])
            self.points.append({
                "pages": int(pages), "holes": int(holes), "n": len(g),
                "opavg_ms": stats.median(g["opavg_ms"]),
                "p99_ms": stats.median(g["p99_ms"]),
                "walk_ms": walk,
                # Resident pages: the region less its holes.
                "walk_ns_page": walk * 1e6 / (pages - holes) if walk > 0 else math.nan,
                "vmas": stats.median(g["vmas"]),
            })

    @property
    def label(self) -> str:
        c = self.config
        if c["backend"] == "kernel":
            # Several machines: which one says which kernel.
            return self.machine or f"Linux {c.get('kernel_release', '')} " \
                "(this machine)".replace("  ", " ")
        text = ("simulator, " + (vocab.LOCK[c["lock"]].lock_name
                                 if c["lock"] in vocab.LOCK else c["lock"]))
        return f"{text} on {self.machine}" if self.machine else text

    def by_size(self) -> List[Dict]:
        return [p for p in self.points if p["holes"] == 0]

    def holes_sweeps(self) -> Dict[int, List[Dict]]:
        """Region size -> its points by holes, for sizes swept over holes."""
        swept = {p["pages"] for p in self.points if p["holes"] > 0}
        return {pages: [p for p in self.points if p["pages"] == pages]
                for pages in sorted(swept)}

    def exponent(self, metric: str = "opavg_ms") -> float:
        """k in metric ~ size^k, least squares on the log-log points (NaN
        with fewer than three sizes)."""
        import numpy as np

        pts = [p for p in self.by_size() if p[metric] > 0]
        if len(pts) < 3:
            return math.nan
        x = np.log([p["pages"] for p in pts])
        y = np.log([p[metric] for p in pts])
        return float(np.polyfit(x, y, 1)[0])


def load_lines(df) -> List[Line]:
    """A line per design and machine: two machines' samples are never
    one median."""
    lines = []
    parts = machines.split(df)
    for machine, part in parts:
        for config, rows in part.groupby(LINE_KEY, sort=True, dropna=False):
            config = dict(zip(LINE_KEY, config))
            config["kernel_release"] = machine[1]
            lines.append(Line(config, rows))
            if len(parts) > 1:
                lines[-1].machine = machines.describe(machine)
    return lines


def _ms(v: float) -> str:
    return "-" if not v == v else f"{v:.3f}"


def format_report(lines: Sequence[Line]) -> str:
    out = ["How the stall grows (medians over samples; times in ms)", ""]
    rows = []
    for line in lines:
        for p in line.points:
            rows.append([line.label, size_label(p["pages"]), str(p["holes"]),
                         str(p["n"]), _ms(p["opavg_ms"]), _ms(p["p99_ms"]),
                         _ms(p["walk_ms"]),
                         "-" if p["walk_ns_page"] != p["walk_ns_page"]
                         else f"{p['walk_ns_page']:.1f}",
                         f"{p['vmas']:g}"])
    out.append(format_table(["design", "region", "holes", "samples", "opavg",
                             "p99", "walk", "walk ns/page", "vmas at end"], rows))
    fits = [(line.label, line.exponent("opavg_ms"), line.exponent("walk_ms"))
            for line in lines]
    fits = [f for f in fits if f[1] == f[1] or f[2] == f[2]]
    if fits:
        out.append("")
        out.append("Fitted on the sizes without holes (log-log least squares):")
        for label, k_op, k_walk in fits:
            out.append(f"  {label}: opavg ~ size^{k_op:.2f}, walk ~ size^{k_walk:.2f}")
    return "\n".join(out) + "\n"


def render(lines: Sequence[Line], output: str, fmt: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5), sharey="row")
    # One marker and dash a design, in the vocabulary's order; the kernel's last.
    shapes = ["o-", "s--", "D:", "v-", "^-."]
    styles = {w: shapes[i % (len(shapes) - 1)] for i, w in enumerate(vocab.LOCK)}
    for line in lines:
        style = styles.get(line.config["lock"], shapes[-1])
        sizes = line.by_size()
        for row, (metric, name) in enumerate(METRICS):
            if sizes:
                axes[row][0].plot([p["pages"] * PAGE_SIZE / (1 << 30) for p in sizes],
                                  [p[metric] for p in sizes], style, label=line.label)
            for pages, pts in line.holes_sweeps().items():
                axes[row][1].plot([p["holes"] + 1 for p in pts], [p[metric] for p in pts],
                                  style, label=f"{line.label}, {size_label(pages)}")
    sizes = []
    for pages in sorted({p["pages"] for line in lines for p in line.by_size()}):
        # Named ticks at least 2.5x apart, so that no two labels overlap.
        if not sizes or pages >= 2.5 * sizes[-1]:
            sizes.append(pages)
    for row, (metric, name) in enumerate(METRICS):
        for col, xlabel in enumerate(["region size, no holes",
                                      "VMAs at the start (holes + 1)"]):
            ax = axes[row][col]
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
            ax.set_xlabel(xlabel)
            if col == 0 and sizes:
                # The sizes run, named as --mb/--gb name them.
                ax.set_xticks([p * PAGE_SIZE / (1 << 30) for p in sizes])
                ax.set_xticklabels([size_label(p) for p in sizes])
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            if col == 0:
                ax.set_ylabel(f"{name} of mmap()/munmap() (ms)")
            if ax.lines:
                ax.legend(fontsize=8)
    fig.suptitle("How the mapper's stall grows with the address space "
                 "(smaps_rollup readers)" if all(
                     line.config["procfile"] == "smaps_rollup" for line in lines)
                 else "How the mapper's stall grows with the address space")
    fig.tight_layout()
    fig.savefig(output, format=fmt, dpi=110)
    plt.close(fig)
