# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma plot CSV... -o FILE: the figure for a patch cover letter.

Three panels, one line per (results file, configuration):

 * the per-sample worst call (opmax), sorted, and
 * the per-sample mean call (opavg), sorted -- the reference harness's
   plots: sorting shows the spread of the samples at a glance, and the
   middle of the line is the median the tables report;
 * the latency distribution from the histogram's percentiles, as the
   fraction of calls slower than a given latency (log-log), ending at the
   worst call, so the tail that the mmap_lock design stretches is visible.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, List, Sequence, Tuple

from procvma.results.fmt import fmt_value
from procvma.results import machines, schema, stats
from procvma.results.compare import BadInput

if TYPE_CHECKING:   # numpy and pandas load when a plot is drawn, not for --help
    import numpy as np
    import pandas as pd

FORMATS = ("png", "svg", "pdf")

# Percentile columns and the fraction of calls slower than each.
PERCENTILES = [("p50_ms", 0.5, "p50"), ("p90_ms", 0.1, "p90"),
               ("p99_ms", 0.01, "p99"), ("p999_ms", 0.001, "p99.9")]

DESIGN_NAMES = {"mmap": "mmap_lock", "vma": "per-VMA lock"}

# Configuration columns besides backend/lock/procfile/scanner (and its
# command), which every label names, with how a legend says them when they
# differ between lines (schema.CONFIG_KEY: every one of them).
PARAM_LABELS = {
    "nbusycpus": "{} busy CPU(s)",
    "nbusytasks": "{} scanner(s)/CPU",
    "busyduration": "busy {} ms",
    "duration": "{} s samples",
    "region_pages": "{} pages",
    "holes": "{} holes",
    "op_cost_ns": "op cost {} ns",
    "walk_cost_ns": "walk cost {} ns/page",
    "text_cost_ns": "text cost {} ns/byte",
    "pass_cost_ns": "pass cost {} ns",
    "preempt": "preempt {}",
}


class Series:
    """The samples of one configuration from one results file."""

    def __init__(self, path: str, config: Tuple, rows: pd.DataFrame,
                 machine: Tuple = ()):
        self.path = path
        self.config = dict(zip(schema.CONFIG_KEY, config))
        self.rows = rows
        self.machine = machine

    def values(self, column: str) -> np.ndarray:
        import numpy as np

        return np.sort(self.rows[column].dropna().to_numpy(dtype=float))

    def hung_points(self, column: str):
        """(x, y) of the hung samples on the sorted line of column."""
        import numpy as np

        rows = self.rows.dropna(subset=[column]).sort_values(
            column, kind="stable")
        hung = (rows["hang"] > 0).to_numpy()
        x = np.arange(1, len(rows) + 1)[hung]
        return x, rows[column].to_numpy(dtype=float)[hung]

    @property
    def hung(self) -> int:
        return int((self.rows["hang"] > 0).sum())

    @property
    def design(self) -> str:
        lock = str(self.config["lock"])
        if self.config["backend"] == "kernel":
            release = self.rows["kernel_release"].dropna()
            return f"Linux {release.iloc[0]}" if len(release) else "kernel"
        return DESIGN_NAMES.get(lock, lock)

    def label(self, varying: Sequence[str], several_files: bool,
              several_machines: bool = False) -> str:
        c = self.config
        parts = [str(c["backend"]), self.design, str(c["procfile"]),
                 schema.scanner_label(c["scanner"], c.get("scanner_command"))]
        parts += [PARAM_LABELS[k].format(fmt_value(c[k])) for k in varying]
        if several_machines:
            parts.append(machines.describe(self.machine))
        if several_files:
            parts.append(os.path.basename(self.path))
        n = len(self.rows)
        med = stats.median(self.rows["opavg_ms"])
        return (" · ".join(parts) +
                f"  (median opavg {med:.3f} ms, {n} sample{'s' * (n != 1)}"
                + (f", {self.hung} hung" if self.hung else "") + ")")


def _plural(n: str, what: str) -> str:
    return f"{n} {what}{'' if n == '1' else 's'}"


def load_series(frames: Sequence[Tuple[str, pd.DataFrame]]) -> List[Series]:
    """One series per configuration, file and machine: the rows of two
    machines are never drawn as one line."""
    out = []
    for path, df in frames:
        for machine, part in machines.split(df):
            for config, rows in part.groupby(schema.CONFIG_KEY, sort=False,
                                             dropna=False):
                out.append(Series(path, config, rows, machine))
    # Designs of one procfile next to each other, mmap_lock before per-VMA.
    out.sort(key=lambda s: (str(s.config["procfile"]),
                            str(s.config["backend"]) != "sim",
                            str(s.config["lock"]) != "mmap",
                            [str(s.config[k]) for k in PARAM_LABELS],
                            s.path))
    return out


def _varying(series: Sequence[Series]) -> List[str]:
    return [k for k in PARAM_LABELS
            if len({str(s.config[k]) for s in series}) > 1]


def _common_subtitle(series: Sequence[Series], varying: Sequence[str]) -> str:
    """What every line shares: busy-task layout, run length, host."""
    first = series[0].config
    bits = []
    if "nbusycpus" not in varying and "nbusytasks" not in varying:
        cpus = fmt_value(first["nbusycpus"])
        tasks = fmt_value(first["nbusytasks"])
        bits.append(f"{_plural(cpus, 'busy CPU')}, each running "
                    f"{_plural(tasks, 'scanner')} at nice 15 and "
                    f"{_plural(tasks, 'busy-waiter')}")
    if "busyduration" not in varying:
        bd = fmt_value(first["busyduration"])
        bits.append("busy-waiters spin forever" if bd == "0"
                    else f"busy-waiters spin {bd} ms, sleep 1 ms")
    durations = {fmt_value(d) for s in series
                 for d in s.rows["duration"].dropna()}
    if len(durations) == 1:
        bits.append(f"{durations.pop()} s per sample")
    hosts = {s.machine for s in series}
    if len(hosts) == 1:
        _, release, model = hosts.pop()
        bits.append(f"{model}, Linux {release}")
    return "; ".join(bits)


def _decades(arrays: Sequence[np.ndarray]) -> float:
    """How many powers of ten the positive values span."""
    import numpy as np

    vals = np.concatenate([np.asarray(a)[np.asarray(a) > 0] for a in arrays]
                          or [np.array([])])
    return float(np.log10(vals.max() / vals.min())) if vals.size else 0.0


def _plain_log_ticks(axis, decades):
    """Log axis ticks as 0.01, 0.02, 0.05, 0.1 rather than 10^-2: readers
    compare milliseconds, not exponents.  Over many decades only the
    powers of ten, or the labels run into each other."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    subs = (1.0, 2.0, 5.0) if decades <= 3 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


# How a hung sample is marked on the sorted lines: it measured the hang as
# much as the locking, and a reader must be able to tell it from the rest.
HUNG_STYLE = dict(linestyle="none", marker="X", markersize=11,
                  markerfacecolor="none", markeredgecolor="red",
                  markeredgewidth=1.6)


def _sorted_panel(ax, series, column, styles, title, ylabel):
    """Returns the series' lines, in order, for the legend."""
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    arrays = [s.values(column) for s in series]
    lines = []
    for s, vals, style in zip(series, arrays, styles):
        lines += ax.plot(np.arange(1, len(vals) + 1), vals, **style)
        x, y = s.hung_points(column)
        if len(x):
            ax.plot(x, y, **HUNG_STYLE)
    # Log scale when the lines span more than a decade: the per-VMA
    # design's opavg would otherwise be a flat line on the x axis.
    if _decades(arrays) > 1:
        ax.set_yscale("log")
        _plain_log_ticks(ax.yaxis, _decades(arrays))
    else:
        ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    ax.set_xlabel("sample, sorted by value")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    return lines


def _distribution_panel(ax, series, styles):
    """Exceedance curve: x = latency, y = fraction of calls slower.  Each
    percentile is the median over the samples; the band spans the samples'
    minimum to maximum.  The last point is the worst call, slower than
    none of the median sample's calls (plotted at 1/ncalls)."""
    from matplotlib.ticker import FixedLocator, NullLocator

    lowest = 1.0
    drawn = []
    for s, style in zip(series, styles):
        rows = s.rows
        cols = [c for c, _, _ in PERCENTILES] + ["opmax_ms"]
        calls = stats.median(rows["nmaps"] + rows["nunmaps"])
        fracs = [f for _, f, _ in PERCENTILES]
        if calls > 0 and 1 / calls < fracs[-1]:
            fracs.append(1 / calls)
        else:
            cols = cols[:-1]
        vals = rows[cols].astype(float)
        ok = vals.notna().all(axis=1)
        if not ok.any():
            continue
        vals = vals[ok]
        mid = vals.median().to_numpy()
        ax.fill_betweenx(fracs, vals.min().to_numpy(), vals.max().to_numpy(),
                         color=style["color"], alpha=0.12, linewidth=0)
        ax.plot(mid, fracs, **style)
        lowest = min(lowest, fracs[-1])
        drawn += [vals.min().to_numpy(), vals.max().to_numpy()]

    ax.set_xscale("log")
    _plain_log_ticks(ax.xaxis, _decades(drawn))
    ax.set_yscale("log")
    ticks = [f for _, f, _ in PERCENTILES]
    names = [f"{f * 100:g}% ({n})" for _, f, n in PERCENTILES]
    decade = 1e-4
    while decade >= lowest * 0.999:
        ticks.append(decade)
        names.append(f"{decade * 100:g}%")
        decade /= 10
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_yticklabels(names)
    ax.set_ylim(top=0.7, bottom=lowest / 2)
    ax.set_title("Latency distribution of all calls")
    ax.text(0.98, 0.98,
            "line: median over samples\nband: min–max over samples\n"
            "last point: the worst call",
            transform=ax.transAxes, ha="right", va="top", fontsize=8,
            color="0.35")
    ax.set_xlabel("mmap()/munmap() latency (ms)")
    ax.set_ylabel("share of calls slower than that")
    ax.grid(True, which="both", alpha=0.3)


def render(frames: Sequence[Tuple[str, pd.DataFrame]], out: str, fmt: str):
    from matplotlib import colormaps, rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series = load_series(frames)
    varying = _varying(series)
    several_files = len({path for path, _ in frames}) > 1
    # A line style per file and machine: one file's two machines must not
    # draw the same configuration alike.
    files = list(dict.fromkeys((s.path, s.machine) for s in series))

    # One colour per configuration, one line style per file: the same
    # configuration measured twice (before/after, sim/kernel) reads as a pair.
    configs = list(dict.fromkeys(tuple(map(str, s.config.values()))
                                 for s in series))
    palette = colormaps["tab10" if len(configs) <= 10 else "tab20"].colors
    linestyles = ["-", "--", ":", "-."]
    markers = ["o", "s", "^", "D", "v"]
    styles = []
    for s in series:
        c = configs.index(tuple(map(str, s.config.values())))
        f = files.index((s.path, s.machine))
        styles.append(dict(color=palette[c % len(palette)],
                           linestyle=linestyles[f % len(linestyles)],
                           marker=markers[f % len(markers)],
                           markersize=4, linewidth=1.6))

    fig = Figure(figsize=(16, 5.6 + 0.25 * len(series)),
                 layout="constrained")
    FigureCanvasAgg(fig)    # no display, no pyplot state: Agg renders
    axes = fig.subplots(1, 3)
    _sorted_panel(axes[0], series, "opmax_ms", styles,
                  "Worst call per sample (opmax)",
                  "slowest mmap()/munmap() in the sample (ms)")
    opavg_lines = _sorted_panel(axes[1], series, "opavg_ms", styles,
                  "Mean call per sample (opavg)",
                  "mean mmap()/munmap() latency (ms)")
    _distribution_panel(axes[2], series, styles)

    procfiles = sorted({str(s.config["procfile"]) for s in series})
    names = procfiles[0] if len(procfiles) == 1 else \
        "{" + ",".join(procfiles) + "}"
    fig.suptitle(f"mmap()/munmap() latency while other tasks read "
                 f"/proc/PID/{names}", fontsize=14, fontweight="bold")
    subtitle = _common_subtitle(series, varying)
    handles = list(opavg_lines)
    several_machines = len({s.machine for s in series}) > 1
    labels = [s.label(varying, several_files, several_machines)
              for s in series]
    if any(s.hung for s in series):
        from matplotlib.lines import Line2D
        handles.append(Line2D([], [], **HUNG_STYLE))
        labels.append("hung sample (still running 5 s past its end; "
                      "the table's #Hangs)")
    fig.legend(handles, labels, loc="outside lower center",
               ncols=1 if len(series) > 2 else 2, frameon=False,
               title=subtitle or None)
    # Undated metadata and fixed SVG ids: the same data give the same
    # bytes.  SVG keeps its text as text, to be edited and searched.
    metadata = {"Date": None} if fmt == "svg" else \
        {"CreationDate": None} if fmt == "pdf" else {}
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "procvma"}):
        fig.savefig(out, format=fmt, dpi=120, metadata=metadata)


def output_format(path: str) -> str:
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise BadInput(f"{path}: unknown output format "
                       f"{('.' + ext) if ext else '(no extension)'}; use "
                       f"{', '.join('.' + f for f in FORMATS)}")
    return ext


def check_writable(path: str):
    """Fail before plotting, not after: a missing directory or one we may
    not write to."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise BadInput(f"{path}: cannot write: directory {parent} does not "
                       f"exist")
    if os.path.isdir(path):
        raise BadInput(f"{path}: cannot write: is a directory")
    if not os.access(parent, os.W_OK) or \
            (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise BadInput(f"{path}: cannot write: permission denied")
