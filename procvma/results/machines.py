# SPDX-License-Identifier: GPL-2.0-or-later
"""Which machine a results row came from, and keeping machines apart.

Every row records the host that ran it (hostname), its kernel
(kernel_release) and its CPU model (cpu_model): schema.MACHINE_COLUMNS.
Rows that differ in any of them are samples of different machines, whose
figures differ for reasons no configuration column names, so report,
compare, gate and plot never pool them into one side: they split a side
by machine and say so, or refuse (exit 2) where a split makes no sense.
A results file is appended to from another machine only with a warning.

An older file without one of these columns reads it as "unknown"
(schema.implied_host): its rows are taken as one host per kernel and CPU
model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Sequence, Tuple

from procvma.host import hostinfo
from procvma.results import schema

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = schema.MACHINE_COLUMNS

# How a difference names each column.
WHAT = {"hostname": "host", "kernel_release": "kernel",
        "cpu_model": "CPU model"}

Machine = Tuple[str, ...]


def of_row(row: Dict) -> Machine:
    return tuple(str(row.get(c) or "") or schema.implied_host(c)
                 for c in COLUMNS)


def split(df: pd.DataFrame) -> List[Tuple[Machine, pd.DataFrame]]:
    """df's rows by machine, in the order the machines first appear."""
    if df.empty:
        return []
    keys = list(zip(*(df[c].astype(str) for c in COLUMNS)))
    order = list(dict.fromkeys(keys))
    if len(order) == 1:
        return [(order[0], df)]
    import pandas as pd
    index = pd.Series([order.index(k) for k in keys], index=df.index)
    return [(m, df[index == i]) for i, m in enumerate(order)]


def describe(m: Machine) -> str:
    """host NAME, Linux RELEASE, MODEL."""
    host, release, model = m
    return (f"host {host}" if host != schema.implied_host("hostname")
            else "unknown host") + f", Linux {release}, {model}"


def difference(there: Machine, here: Machine,
               names: Sequence[str] = ("there", "here")) -> str:
    """What differs between two machines, column by column:
    "kernel 6.1 there, 6.18 here; host a there, b here"."""
    a, b = names
    return "; ".join(f"{WHAT[c]} {x} {a}, {y} {b}"
                     for c, x, y in zip(COLUMNS, there, here) if x != y)


def split_note(what: str, parts: Sequence[Tuple[Machine, object]]) -> str:
    """The line saying that @what was split by machine, or "" when it
    holds one machine."""
    if len(parts) < 2:
        return ""
    return (f"{what} holds rows from {len(parts)} machines, kept apart: "
            + "; ".join(f"[{i}] {describe(m)}"
                        for i, (m, _) in enumerate(parts, 1)))


def one_machine(what: str, df: pd.DataFrame) -> str:
    """Why @what (one side that must be a single machine) cannot be used,
    or "" when its rows are of one machine."""
    parts = split(df)
    if len(parts) < 2:
        return ""
    first, second = parts[0][0], parts[1][0]
    return (f"{what} holds rows from {len(parts)} machines "
            f"({difference(first, second, ('in some rows', 'in others'))});"
            f" its samples cannot be pooled: give the rows of one machine")


def append_warning(path: str, file_machines: Sequence[Machine],
                   here: Machine) -> str:
    """The warning for appending to @path, whose rows came from
    @file_machines, a row measured on @here; "" when they include it."""
    if not file_machines or here in file_machines:
        return ""
    there = file_machines[-1]
    return (f"--csv {path}: its rows were written on another machine "
            f"({difference(there, here)}); appending, and report, compare, "
            f"gate and plot keep the machines apart")


def machine_was_busy(rows, params, cpus_online=None):
    """A sentence when other work competed for the CPUs during the run,
    else None.

    The run keeps the mapper's CPU and the busy CPUs occupied (the driver
    sleeps), so other tasks disturb it once there are more of them than
    CPUs left over.  Each row says how many tasks that are not the run's
    own were runnable as its sample started (others_running, the fewest
    of a few looks: runner._machine_load).  A look can still catch a
    short-lived kernel thread, so the run counts as busy when a quarter
    of its samples started that way.  The 1-minute load average is
    reported but not judged: from the second sample on it counts our own
    tasks too."""
    online = cpus_online or hostinfo.cpus_online()
    used = {params["cpumapper"]} | set(range(
        params["cpubusytasks"], params["cpubusytasks"] + params["nbusycpus"]))
    spare = max(0, len(online) - len(used & set(online)))
    others = [r["others_running"] for r in rows
              if r.get("others_running") == r.get("others_running")]  # not NaN
    crowded = [n for n in others if n > spare]
    if not crowded or 4 * len(crowded) < len(others):
        return None
    loads = [r["loadavg1"] for r in rows if r["loadavg1"] == r["loadavg1"]]
    span = (f"{min(crowded):g}" if min(crowded) == max(crowded)
            else f"{min(crowded):g}-{max(crowded):g}")
    return (f"the machine was busy: at the start of {len(crowded)} of "
            f"{len(others)} samples, {span} other task(s) were runnable, with "
            f"{spare} CPU(s) to spare besides the run's "
            f"{len(used)}" + (f" (1-min load average up to {max(loads):.2f})"
                              if loads else "")
            + "; their interference is in the figures")
