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
from typing import TYPE_CHECKING, Dict, List, Sequence, Tuple

from procvma.results.fmt import fmt_ms, fmt_value
from procvma import vocab
from procvma.results import machines, schema, stats
from procvma.results.compare import BadInput

if TYPE_CHECKING:   # numpy and pandas load when a plot is drawn, not for --help
    import numpy as np
    import pandas as pd

FORMATS = ("png", "svg", "pdf")

# Percentile columns and the fraction of calls slower than each.
PERCENTILES = [("p50_ms", 0.5, "p50"), ("p90_ms", 0.1, "p90"),
               ("p99_ms", 0.01, "p99"), ("p999_ms", 0.001, "p99.9")]

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


# The cost knobs: the simulator's alone; a kernel row's are 0 and say
# nothing about it.
SIM_ONLY = ("op_cost_ns", "walk_cost_ns", "text_cost_ns", "pass_cost_ns")

# Facts some lines do not have (a kernel line has no cost knobs, its
# design names its kernel, an old file names no host): they differ only
# where lines have them.
OPTIONAL = SIM_ONLY + ("host_kernel", "host")

# Above this many lines the sorted panels become a tangle: the figure is
# a summary instead, one row per line.
MAX_LINES = 8


class Series:
    """The samples of one configuration from one results file, of one
    machine and one --label."""

    def __init__(self, path: str, config: Tuple, rows: pd.DataFrame,
                 machine: Tuple = (), label: str = "-"):
        self.path = path
        self.config = dict(zip(schema.CONFIG_KEY, config))
        self.rows = rows
        self.machine = machine
        self.run_label = label

    @property
    def source(self) -> Tuple:
        """What a colour stands for: one file, machine and label."""
        return (self.path, self.machine, self.run_label)

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
        """The simulator's --lock word, or the kernel that ran."""
        if self.config["backend"] == "kernel":
            return f"Linux {self.machine[1]}" if self.machine else "kernel"
        return f"simulator --lock {self.config['lock']}"

    def facts(self) -> Dict[str, str]:
        """Everything a legend could say of this line, by what it is."""
        c = self.config
        out = {"design": self.design, "procfile": str(c["procfile"]),
               "scanner": schema.scanner_label(c["scanner"],
                                               c.get("scanner_command")),
               "label": self.run_label if self.run_label != "-" else "",
               "file": os.path.basename(self.path)}
        host, release, model = self.machine or ("", "", "")
        out["host"] = f"host {host}" if host not in ("", "unknown") else ""
        # The simulator's host kernel; a kernel line's design names it.
        out["host_kernel"] = "" if c["backend"] == vocab.BACKEND.kernel \
            else f"on Linux {release}"
        out["cpu"] = model
        for k in PARAM_LABELS:
            value = fmt_value(c[k])
            if (k in SIM_ONLY and c["backend"] == vocab.BACKEND.kernel) \
                    or value in ("", "-", "nan"):
                out[k] = ""     # not known, or not the kernel's
            elif k == "busyduration" and value == "0":
                out[k] = "busy spinning"    # 0: spin forever, no sleeps
            else:
                out[k] = PARAM_LABELS[k].format(value)
        return out

    def label(self, differ: Sequence[str], median: bool = True) -> str:
        """The facts that tell this line from the others, then its median
        (unless the figure shows it) and sample count."""
        facts = self.facts()
        parts = [facts[k] for k in differ if facts[k]]
        n = len(self.rows)
        med = stats.median(self.rows["opavg_ms"])
        return (" · ".join(parts) + " (" +
                (f"median opavg {fmt_ms(med)} ms, " if median else "") +
                f"{n} sample{'s' * (n != 1)}"
                + (f", {self.hung} hung" if self.hung else "") + ")")


def _plural(n: str, what: str) -> str:
    return f"{n} {what}{'' if n == '1' else 's'}"


def load_series(frames: Sequence[Tuple[str, pd.DataFrame]]) -> List[Series]:
    """One series per configuration, file and machine: the rows of two
    machines are never drawn as one line."""
    out = []
    for path, df in frames:
        for machine, part in machines.split(df):
            labels = part["label"].astype(str) if "label" in part else None
            for label in (labels.unique() if labels is not None else ["-"]):
                rows = part if labels is None else part[labels == label]
                for config, group in rows.groupby(schema.CONFIG_KEY,
                                                  sort=False, dropna=False):
                    out.append(Series(path, config, group, machine, label))
    # Files in the order given; within one, designs of one procfile next
    # to each other, in the vocabulary's order.
    order = [str(w) for w in vocab.LOCK]
    files = list(dict.fromkeys(s.source for s in out))
    # Lines of one configuration next to each other: designs, then files.
    out.sort(key=lambda s: (str(s.config["procfile"]),
                            [str(s.config[k]) for k in PARAM_LABELS
                             if k not in SIM_ONLY],
                            str(s.config["backend"]) != vocab.BACKEND.sim,
                            order.index(s.config["lock"])
                            if s.config["lock"] in order else len(order),
                            files.index(s.source)))
    return out


def differing(series: Sequence[Series]) -> List[str]:
    """The facts that differ between the lines: what their labels say.
    The file name only where nothing else tells two files apart."""
    facts = [s.facts() for s in series]
    keys = [k for k in facts[0] if k != "file"
            and len({f[k] for f in facts if f[k] or k not in OPTIONAL}) > 1]
    sources = {s.source for s in series}
    told = {tuple(f[k] for k in keys) for f in facts}
    if len(sources) > 1 and len(told) < len(series):
        keys.append("file")
    return keys or ["design"]


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
    runs = {s.run_label for s in series}
    if len(runs) == 1 and runs != {"-"}:
        bits.append(f"label {runs.pop()}")
    models = {s.machine[2] for s in series}
    releases = {s.machine[1] for s in series}
    if len(models) == 1:
        bits.append(models.pop() + (f", Linux {releases.pop()}"
                                    if len(releases) == 1 else ""))
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


def _sorted_panel(ax, series, column, styles, title, ylabel, scale=None):
    """Returns the series' lines, in order, for the legend.  scale: log,
    linear, or None: log when the lines span more than a decade."""
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
    if scale == "log" or (scale is None and _decades(arrays) > 1):
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


# What each figure column is called in a panel's title and axis.
METRIC_TITLES = {
    "opavg_ms": ("Mean call per sample (opavg)",
                 "mean mmap()/munmap() latency (ms)"),
    "opmax_ms": ("Worst call per sample (opmax)",
                 "slowest mmap()/munmap() in the sample (ms)"),
}


def _metric_title(column):
    name = {c: n for n, c in schema.METRIC_NAMES.items()}.get(column, column)
    return METRIC_TITLES.get(column, (f"{name} per sample, sorted",
                                      f"per-sample {name} (ms)"))


def styles_for(series: Sequence[Series]) -> List[dict]:
    """A colour per file (and machine and label), a line style and marker
    per configuration within it; one file alone: a colour per line, or
    with more lines than a figure tells apart, per design."""
    from matplotlib import colormaps

    sources = list(dict.fromkeys(s.source for s in series))

    def colour_key(s):
        if len(sources) > 1:
            return s.source
        if len(series) > MAX_LINES:
            return s.design
        return tuple(map(str, s.config.values()))

    by_colour = list(dict.fromkeys(colour_key(s) for s in series))
    palette = colormaps["tab10" if len(by_colour) <= 10 else "tab20"].colors
    linestyles = ["-", "--", ":", "-."]
    markers = ["o", "s", "^", "D", "v"]
    out, seen = [], {}
    for s in series:
        key = colour_key(s)
        n = seen.setdefault(s.source, [])
        k = len(n)
        n.append(s)
        c = by_colour.index(key)
        mark = k if len(sources) > 1 or len(series) <= MAX_LINES else c
        out.append(dict(color=palette[c % len(palette)],
                        linestyle=linestyles[k % len(linestyles)]
                        if len(sources) > 1 else "-",
                        marker=markers[mark % len(markers)],
                        markersize=4, linewidth=1.6))
    return out


def _wrap(label: str, width: int) -> str:
    import textwrap
    return "\n".join(textwrap.wrap(label, width, break_on_hyphens=False))


def _summary(fig, series, styles, labels, metrics, scale):
    """Many lines: one row per line, its median as a dot and its
    samples' range as a bar, one panel per metric."""
    import numpy as np

    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    y = np.arange(len(series))[::-1]
    for ax, column in zip(axes, metrics):
        for yi, s, st in zip(y, series, styles):
            v = s.values(column)
            if not len(v):
                continue
            ax.plot([v.min(), v.max()], [yi, yi], color=st["color"],
                    linewidth=2.5, alpha=0.45, solid_capstyle="round")
            ax.plot([stats.median(v)], [yi], marker=st["marker"],
                    color=st["color"], markersize=6, linestyle="none")
        arrays = [s.values(column) for s in series]
        if scale == "log" or (scale is None and _decades(arrays) > 1):
            ax.set_xscale("log")
            _plain_log_ticks(ax.xaxis, _decades(arrays))
        title, _ = _metric_title(column)
        ax.set_title(title.replace(" per sample", ": median and range"))
        ax.set_xlabel(f"{_metric_title(column)[1]}")
        ax.grid(True, axis="x", which="major", alpha=0.3)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels([_wrap(lab, 70) for lab in labels], fontsize=8)
    axes[0].set_ylim(-0.7, len(series) - 0.3)


def render(frames: Sequence[Tuple[str, pd.DataFrame]], out: str, fmt: str,
           metrics: Sequence[str] = ("opmax_ms", "opavg_ms"),
           scale: str = None):
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series = load_series(frames)
    differ = differing(series)
    varying = [k for k in differ if k in PARAM_LABELS]
    styles = styles_for(series)
    if scale is None:
        # One scale for every panel, so that they read alike: log where
        # any spans more than a decade (the per-VMA design's opavg would
        # otherwise be a flat line on the axis).
        scale = "log" if any(_decades([s.values(m) for s in series]) > 1
                             for m in metrics) else "linear"
    many = len(series) > MAX_LINES
    labels = [s.label(differ, median=not many) for s in series]
    scanners = {s.facts()["scanner"] for s in series}
    subtitle = "; ".join(filter(None, [
        scanners.pop() if len(scanners) == 1 else "",
        _common_subtitle(series, varying)]))
    procfiles = sorted({str(s.config["procfile"]) for s in series})
    names = procfiles[0] if len(procfiles) == 1 else \
        "{" + ",".join(procfiles) + "}"
    title = (f"mmap()/munmap() latency while other tasks read "
             f"/proc/PID/{names}")

    if many:
        fig = Figure(figsize=(16, 2.2 + 0.3 * len(series)),
                     layout="constrained")
        FigureCanvasAgg(fig)
        _summary(fig, series, styles, labels, metrics, scale)
        fig.suptitle(title + f" ({len(series)} configurations)",
                     fontsize=14, fontweight="bold")
        if subtitle:
            fig.supxlabel(_wrap(subtitle, 150), fontsize=9, color="0.3")
    else:
        fig = Figure(figsize=(16, 6.4 + 0.3 * len(series)),
                     layout="constrained")
        FigureCanvasAgg(fig)    # no display, no pyplot state: Agg renders
        axes = fig.subplots(1, len(metrics) + 1)
        lines = []
        for ax, column in zip(axes, metrics):
            lines = _sorted_panel(ax, series, column, styles,
                                  *_metric_title(column), scale=scale)
        _distribution_panel(axes[-1], series, styles)
        fig.suptitle(title, fontsize=14, fontweight="bold")
        handles = list(lines)
        shown = list(labels)
        if any(s.hung for s in series):
            from matplotlib.lines import Line2D
            handles.append(Line2D([], [], **HUNG_STYLE))
            shown.append("hung sample (still running 5 s past its end; "
                         "the table's #Hangs)")
        ncols = 2 if max(map(len, shown)) <= 80 and len(shown) > 1 else 1
        fig.legend(handles, [_wrap(x, 100 if ncols == 2 else 180)
                             for x in shown],
                   loc="outside lower center", ncols=ncols, frameon=False,
                   title=_wrap(subtitle, 180) or None, fontsize=9,
                   title_fontsize=9)
    # Undated metadata and fixed SVG ids: the same data give the same
    # bytes.  SVG keeps its text as text, to be edited and searched.
    metadata = {"Date": None} if fmt == "svg" else \
        {"CreationDate": None} if fmt == "pdf" else {}
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "procvma"}):
        fig.savefig(out, format=fmt, dpi=120, metadata=metadata,
                    bbox_inches="tight", pad_inches=0.25)


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
