# SPDX-License-Identifier: GPL-2.0-or-later
"""How figures are written, in every table, report and verdict: one
place, so that a ratio, a change or an interval reads the same in
compare, gate, report, plot and fidelity.

A missing figure (None, or NaN: no samples) is written "-".
"""

import math
from typing import Callable, Optional, Tuple


def is_number(v) -> bool:
    """A figure that was measured: not None and not NaN (infinity counts:
    a ratio to nothing is a figure, if not a finite one)."""
    return v is not None and v == v


def is_finite(v) -> bool:
    """A figure that was measured and is finite."""
    return v is not None and math.isfinite(v)


def fmt_ms(value: float) -> str:
    """Milliseconds, as the reference prints them: three decimals."""
    return "-" if not is_number(value) else f"{value:.3f}"


def _sig3(v: float) -> str:
    """Three significant digits: 0.0517 and 19.3 alike; no exponent."""
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:#.3g}".rstrip(".") if abs(v) < 1000 else f"{v:.0f}"


def fmt_sig(value: float) -> str:
    """A figure to three significant digits, unit left to the caller:
    0.0517, 19.3, 1234."""
    return "-" if not is_number(value) else _sig3(value)


def fmt_p(value) -> str:
    """A p-value: two significant digits (0.00058)."""
    return "-" if not is_number(value) else f"{value:.2g}"


def fmt_ratio(value: float) -> str:
    """A ratio of two medians: 9.28x, 0.108x."""
    return "-" if not is_number(value) else _sig3(value) + "x"


def fmt_ci(ci: Tuple[float, float],
           fmt: Optional[Callable[[float], str]] = None) -> str:
    """An interval as "low..high", in the unit of fmt (a bare ratio by
    default)."""
    fmt = fmt or _sig3
    lo, hi = ci
    if not is_number(lo) or not is_number(hi):
        return "-"
    return f"{fmt(lo)}..{fmt(hi)}"


def fmt_pct(value: float) -> str:
    """A change as a signed percentage: 0.25 -> +25.0%."""
    if not is_number(value):
        return "-"
    if math.isinf(value):
        return "+inf%" if value > 0 else "-inf%"
    return f"{value * 100:+.1f}%"


def fmt_change_ci(ci: Tuple[float, float]) -> str:
    """An interval of CUR/REF as changes: 1.05..1.40 -> +5%..+40%."""
    return fmt_ci(ci, lambda v: "+inf%" if math.isinf(v) else f"{(v - 1) * 100:+.0f}%")


def fmt_value(v) -> str:
    """A configuration value as a user typed it: 2.0 -> '2'."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, float) and math.isnan(v):
        return "-"
    return str(v)
