# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma compare: has anything changed, and is it more than noise?

Two files, configuration by configuration (A.csv against B.csv), or one
file, one configuration column against itself (--by lock: the mmap_lock
design against per-VMA reading in a --lock both run).  For each pair: the
medians of a per-sample figure, their ratio B/A with its 95% confidence
interval, and whether the difference is significant (Mann-Whitney U) --
two runs always differ a little, and the question a reader has is whether
this difference is more than noise.

Hung samples (a sample still running 5 s past its end) measure the hang,
not the locking, so they are counted and left out unless --include-hangs.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Iterable, List, Sequence, Tuple

import click

from procvma import vocab
from procvma.results.fmt import fmt_ci, fmt_ms, fmt_ratio, fmt_value
from procvma.results import schema, stats

WIDTH = 100     # columns of a terminal the tables must fit

COMPARE_METRICS = ("opavg_ms", "opmax_ms")

# What --by can compare within one file, each value in the order it is
# compared against the first (before -> after, the reference's scanner
# first).
BY_ORDER = {
    "lock": list(vocab.LOCK),
    "scanner": list(vocab.SCANNER),
    "procfile": list(vocab.PROCFILE),
}

# Short names of the figures, as --metric takes them and tables show them.
METRIC_LABELS = {col: name for name, col in schema.METRIC_NAMES.items()}

if TYPE_CHECKING:
    import pandas as pd


class BadInput(click.ClickException):
    """Input that cannot be judged: a one-line error and exit 2, like a
    usage error but without click's usage banner."""
    exit_code = 2


def include_hangs_option(f):
    return click.option(
        "--include-hangs", is_flag=True,
        help="Keep hung samples (left out by default: they measure the "
             "hang, not the locking).")(f)


# ---- samples and configurations -------------------------------------------

@dataclass
class Side:
    """The samples one side of a comparison holds, hung ones left out
    unless asked for."""
    name: str               # "A", "B", "REF", ...
    what: str               # the file, or file and value for --by
    rows: pd.DataFrame      # the samples judged
    hung: int               # hung samples among all_rows
    hung_kept: bool
    all_rows: pd.DataFrame  # hung or not

    @classmethod
    def of(cls, name, what, rows, include_hangs):
        hung = rows["hang"] > 0
        kept = rows if include_hangs else rows[~hung]
        return cls(name, what, kept, int(hung.sum()), include_hangs, rows)

    @property
    def labels(self) -> List[str]:
        """The --label names of its runs, "-" for none."""
        rows = self.all_rows
        found = [str(v) for v in (rows["label"] if "label" in rows else [])]
        return list(dict.fromkeys(v for v in found if v not in ("", "nan"))) \
            or ["-"]

    def describe(self) -> str:
        n = len(self.rows) + (0 if self.hung_kept else self.hung)
        label = " + ".join(self.labels)
        text = (f"{self.name}: {self.what}"
                + (f" [label {label}]" if label != "-" else "")
                + f": {n} sample{'s' * (n != 1)}")
        if self.hung:
            text += (f", {self.hung} hung "
                     + ("(kept: --include-hangs)" if self.hung_kept else
                        "(left out; --include-hangs keeps them)"))
        else:
            text += ", none hung"
        return text


def config_groups(df: pd.DataFrame, key=schema.CONFIG_KEY) -> dict:
    """Rows of df by configuration: {config tuple: DataFrame}."""
    if df.empty:
        return {}
    return {k if isinstance(k, tuple) else (k,): rows
            for k, rows in df.groupby(list(key), sort=True, dropna=False)}


@dataclass(frozen=True)
class CompareRow:
    config: Dict                # the configuration both sides share
    a: str                      # what differs: A's value (--by), else ""
    b: str
    metric: str
    n_a: int
    n_b: int
    median_a: float
    median_b: float
    ratio: float                # median_b / median_a
    ci: Tuple[float, float]     # its 95% confidence interval
    significance: stats.Significance
    # A side from a --nsamples auto run (stopped when its samples
    # decided): ci is the always-valid confidence sequence, and the
    # verdict follows it rather than the fixed-n test.
    auto: bool = False

    @property
    def verdict(self) -> str:
        s = self.significance
        if self.auto:
            lo, hi = self.ci
            if not (lo > 1 or hi < 1):
                return "no change"
            return "B slower" if lo > 1 else "B faster"
        if not s.significant:
            return "too few" if s.verdict == stats.TOO_FEW else "no change"
        return "B slower" if self.ratio > 1 else "B faster"


def compare_values(config, a, b, metric, va, vb, auto=False,
                   seeds=None) -> CompareRow:
    """va, vb: the two sides' values, in the order measured.  auto: they
    came from a --nsamples auto run; seeds: (A's, B's) where both came
    from one run, so that its rounds pair."""
    ma, mb = stats.median(va.dropna()), stats.median(vb.dropna())
    if auto:
        keep = va.notna(), vb.notna()
        seq = stats.sequential_ratio(
            va[keep[0]], vb[keep[1]],
            *((seeds[0][keep[0]].tolist(), seeds[1][keep[1]].tolist())
              if seeds else ()))
        ci = (seq.low, seq.high)
    va, vb = va.dropna(), vb.dropna()
    return CompareRow(config, a, b, metric, len(va), len(vb), ma, mb,
                      stats.ratio(mb, ma),
                      ci if auto else stats.ratio_interval(va, vb),
                      stats.mann_whitney(va, vb), auto)


def auto_rows(*frames) -> bool:
    """Whether a --nsamples auto run wrote any of these rows."""
    return stats.from_auto_run(dict.fromkeys(
        c for f in frames if "command" in f for c in f["command"]))


def compare_frames(a: pd.DataFrame, b: pd.DataFrame,
                   metrics: Sequence[str] = COMPARE_METRICS
                   ) -> List[CompareRow]:
    """One row per (configuration present in both, metric), in
    configuration order."""
    groups_a, groups_b = config_groups(a), config_groups(b)
    out = []
    for config in sorted(groups_a.keys() & groups_b.keys(), key=str):
        shared = dict(zip(schema.CONFIG_KEY, config))
        auto = auto_rows(groups_a[config], groups_b[config])
        for metric in metrics:
            out.append(compare_values(shared, "", "", metric,
                                      groups_a[config][metric],
                                      groups_b[config][metric], auto))
    return out


def by_values(df: pd.DataFrame, by: str, first: str = None) -> List[str]:
    """The values of column by in df, the first one the baseline: @first
    where df has it, else the vocabulary's first."""
    present = [str(v) for v in df[by].dropna().unique()]
    order = BY_ORDER[by]
    return sorted(present, key=lambda v: (v != first, order.index(v)
                                          if v in order else len(order), v))


def compare_by(df: pd.DataFrame, by: str,
               metrics: Sequence[str] = COMPARE_METRICS,
               baseline: str = None) -> List[CompareRow]:
    """Within one file: for every configuration of the other columns,
    each value of column by against the first (@baseline, else the
    vocabulary's first: the baseline design)."""
    key = [c for c in schema.CONFIG_KEY if c != by]
    out = []
    for config, rows in config_groups(df, key).items():
        shared = dict(zip(key, config))
        values = by_values(rows, by, baseline)
        auto = auto_rows(rows)
        for other in values[1:]:
            first = rows[rows[by].astype(str) == values[0]]
            then = rows[rows[by].astype(str) == other]
            seeds = (first["seed"], then["seed"]) if "seed" in rows else None
            for metric in metrics:
                out.append(compare_values(
                    shared, values[0], other, metric, first[metric],
                    then[metric], auto, seeds))
    return out


def differences(a: Tuple, b: Tuple) -> List[Tuple[str, object, object]]:
    """(column, value in a, value in b) for each configuration column in
    which configurations a and b (tuples over schema.CONFIG_KEY) differ."""
    return [(k, va, vb) for k, va, vb in zip(schema.CONFIG_KEY, a, b)
            if fmt_value(va) != fmt_value(vb)]


def no_common_config(name_a: str, a: pd.DataFrame, name_b: str,
                     b: pd.DataFrame) -> str:
    """Why two results files cannot be paired: what differs between the
    closest of their configurations."""
    pairs = [(ca, cb) for ca in config_groups(a) for cb in config_groups(b)]
    text = f"{name_a} and {name_b} have no configuration in common"
    if not pairs:
        return text
    closest = min(pairs, key=lambda p: (len(differences(*p)), str(p)))
    return text + "; the closest differ in " + ", ".join(
        f"{k} ({fmt_value(va)} vs {fmt_value(vb)})"
        for k, va, vb in differences(*closest))


def only_in(a: pd.DataFrame, b: pd.DataFrame) -> List[Tuple]:
    """Configurations of a that b lacks."""
    return sorted(config_groups(a).keys() - config_groups(b).keys(), key=str)


def describe(config: Dict) -> str:
    return " ".join(f"{k}={fmt_value(v)}" for k, v in config.items())


def varying(configs: Sequence[Dict]) -> List[str]:
    """The configuration columns whose values differ between configs."""
    keys = [k for k in schema.CONFIG_KEY if configs and k in configs[0]]
    return [k for k in keys
            if len({fmt_value(c.get(k)) for c in configs}) > 1]


def common(configs: Sequence[Dict]) -> Dict:
    """What every configuration in configs shares."""
    vary = set(varying(configs))
    return {k: v for k, v in configs[0].items() if k not in vary} \
        if configs else {}


def wrap(text: str, width: int = WIDTH, indent: str = "  ") -> str:
    return "\n".join(textwrap.wrap(text, width, subsequent_indent=indent,
                                   break_on_hyphens=False))


def format_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Plain columns: text left-aligned, numbers right-aligned."""
    rows = [list(map(str, r)) for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows))
              for i, h in enumerate(header)]

    def numeric(cell):
        try:
            float(cell.rstrip("x%").split("..")[-1])
            return True
        except ValueError:
            return cell == "-"

    def line(cells, is_header=False):
        out = []
        for cell, w, col in zip(cells, widths, range(len(widths))):
            right = (not is_header and numeric(cell)) or \
                (is_header and rows and all(numeric(r[col]) for r in rows))
            out.append(cell.rjust(w) if right else cell.ljust(w))
        return "  ".join(out).rstrip()

    return "\n".join([line(header, True)] + [line(r) for r in rows])


def config_table(configs: Sequence[Dict], header: Sequence[str],
                 cells: Sequence[Sequence[str]]) -> str:
    """A table whose rows belong to configs: the configuration columns
    that vary go in front, what all share goes in a line above.  When the
    table would be wider than WIDTH, each configuration gets a number and
    a line of its own below instead."""
    vary = varying(configs)
    shared = common(configs)
    lines = [wrap("configuration: " + describe(shared))] if shared else []
    inline = format_table(
        [schema.CONFIG_HEADINGS[k] for k in vary] + list(header),
        [[fmt_value(c[k]) for k in vary] + list(r)
         for c, r in zip(configs, cells)])
    if max(len(ln) for ln in inline.splitlines()) <= WIDTH:
        return "\n".join(lines + ["", inline])
    numbers = {}
    for c in configs:
        numbers.setdefault(describe({k: c[k] for k in vary}),
                           len(numbers) + 1)
    table = format_table(
        ["cfg"] + list(header),
        [[f"#{numbers[describe({k: c[k] for k in vary})]}"] + list(r)
         for c, r in zip(configs, cells)])
    legend = [wrap(f"#{n}: {text}", indent="     ")
              for text, n in numbers.items()]
    return "\n".join(lines + ["", table, ""] + legend)


def render(rows: Sequence[CompareRow], by: str = None) -> str:
    configs = [r.config for r in rows]
    several = by and len({(r.a, r.b) for r in rows}) > 1
    header = (["A", "B"] if several else []) + [
        "metric", "n_A", "n_B", "median_A", "median_B", "B/A", "95% CI",
        "p", "verdict"]
    cells = [([r.a, r.b] if several else []) + [
        METRIC_LABELS[r.metric], r.n_a, r.n_b, fmt_ms(r.median_a),
        fmt_ms(r.median_b), fmt_ratio(r.ratio), fmt_ci(r.ci),
        r.significance.pvalue_text(), r.verdict] for r in rows]
    return config_table(configs, header, cells)


LEGEND = (f"B/A: ratio of the medians, with its {stats.CONFIDENCE:.0%} "
          f"confidence interval (bootstrap); p: Mann-Whitney U, two-sided; "
          f"significant below {stats.ALPHA:g}; too few: under "
          f"{stats.MIN_SAMPLES} samples a side.")


AUTO_LEGEND = ("Rows from a --nsamples auto run, which stopped when its "
               "samples decided: the 95% CI is the confidence sequence "
               "(valid at any stop; Howard & Ramdas 2022), and the verdict "
               "follows it: no change unless it lies wholly on one side "
               "of 1.")


# ---- a whole comparison: what compare computes, then writes ----------------

@dataclass
class Comparison:
    """What procvma compare found: the sides, notes on files split by
    machine, the tables (a heading and rows each) and the configurations
    only one file has."""
    sides: List[Side]
    notes: List[str]
    blocks: List[Tuple[str, List[CompareRow]]]
    by: str = None
    only: List[Tuple[str, Dict]] = None


def compare_within(path: str, df: pd.DataFrame, by: str, metrics,
                   include_hangs, baseline=None) -> Comparison:
    """One file, the values of column @by against the first (--by)."""
    from procvma.results import machines

    values = by_values(df, by, baseline if by == "lock" else None)
    if len(values) < 2:
        raise BadInput(f"{path}: only {by}={values[0]}; --by {by} "
                       f"needs two values to compare")
    sides = [Side.of("A" if i == 0 else "B", f"{by}={v} in {path}",
                     df[df[by].astype(str) == v], include_hangs)
             for i, v in enumerate(values)]
    import pandas as pd
    parts = machines.split(pd.concat([s.rows for s in sides]))
    blocks = []
    for m, part in parts:
        rows = compare_by(part, by, metrics, values[0])
        if rows:
            blocks.append((f"on {machines.describe(m)}:"
                           if len(parts) > 1 else "", rows))
    if not blocks:
        raise BadInput(f"{path}: no configuration was measured with more "
                       f"than one {by}"
                       + (" on one machine" if len(parts) > 1 else ""))
    return Comparison(sides, [machines.split_note(path, machines.split(df))],
                      blocks, by, [])


def compare_two(a: str, df_a: pd.DataFrame, b: str, df_b: pd.DataFrame,
                metrics, include_hangs) -> Comparison:
    """Two files, configuration by configuration, machine by machine."""
    from procvma.results import machines

    sides = [Side.of("A", a, df_a, include_hangs),
             Side.of("B", b, df_b, include_hangs)]
    parts_a, parts_b = (machines.split(s.rows) for s in sides)
    several = len(parts_a) > 1 or len(parts_b) > 1
    blocks = []
    for ma, rows_a in parts_a:
        for mb, rows_b in parts_b:
            rows = compare_frames(rows_a, rows_b, metrics)
            if rows:
                blocks.append((f"A on {machines.describe(ma)}, B on "
                               f"{machines.describe(mb)}:" if several else "",
                               rows))
    if not blocks:
        raise BadInput(no_common_config(a, sides[0].rows, b, sides[1].rows))
    only = [(path, dict(zip(schema.CONFIG_KEY, config)))
            for path, missing in ((a, only_in(df_a, df_b)),
                                  (b, only_in(df_b, df_a)))
            for config in missing]
    return Comparison(sides, [machines.split_note(a, machines.split(df_a)),
                              machines.split_note(b, machines.split(df_b))],
                      blocks, None, only)


def render_comparison(c: Comparison) -> str:
    out = [wrap(s.describe()) for s in c.sides]
    out += [wrap(note) for note in c.notes if note]
    for heading, rows in c.blocks:
        if heading:
            out += ["", wrap(heading)]
        out.append(render(rows, c.by))
    out += ["", wrap(LEGEND, indent="")]
    if any(r.auto for _, rows in c.blocks for r in rows):
        out.append(wrap(AUTO_LEGEND, indent=""))
    out += [wrap(f"only in {path}: " + describe(config))
            for path, config in c.only or ()]
    return "\n".join(out) + "\n"


def comparison_json(c: Comparison) -> Dict:
    """The comparison as one JSON-ready dict: the same figures and
    verdicts as the tables."""
    def config(d):
        return {k: (v if isinstance(v, str) else float(v))
                for k, v in d.items()}

    def row(r: CompareRow):
        return {"configuration": config(r.config), "a": r.a, "b": r.b,
                "metric": METRIC_LABELS[r.metric], "n_a": r.n_a,
                "n_b": r.n_b, "median_a_ms": r.median_a,
                "median_b_ms": r.median_b, "ratio_b_a": r.ratio,
                "ci": list(r.ci), "p": r.significance.pvalue,
                "interval": ("confidence sequence" if r.auto
                             else "bootstrap"),
                "verdict": r.verdict}

    return {
        "sides": [{"name": s.name, "source": s.what, "labels": s.labels,
                   "samples": len(s.rows), "hung": s.hung,
                   "hung_kept": s.hung_kept} for s in c.sides],
        "notes": [n for n in c.notes if n],
        "tables": [{"machines": heading.rstrip(":"),
                    "rows": [row(r) for r in rows]}
                   for heading, rows in c.blocks],
        "only_in": [{"file": path, "configuration": config(cfg)}
                    for path, cfg in c.only or ()],
    }
