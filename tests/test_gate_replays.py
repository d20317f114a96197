# SPDX-License-Identifier: GPL-2.0-or-later
"""The CI gate's error rates, from replays of a recorded run.

make bench-gate measures both designs in rounds until the requirement
'mmap/vma>=10' is decided by the ratio's confidence sequence, or for at
most GATE_ROUNDS rounds, then gate judges the rows by the same sequence.
Here that rule is replayed on rounds drawn (with replacement, each
round's pair of samples kept together) from tests/data/gate-pool.csv:
40 rounds of the gate's configuration recorded on a 2-CPU machine while
other work kept it busy (load average 5-9), the conditions in which the
gate once failed an unchanged tree.

 * Unchanged tree: the designs as recorded.  A FAIL is a false alarm.
 * Real regression: the per-VMA design reading under mmap_lock, i.e. the
   mmap design's recorded samples on both sides (--lock mmap twice).  A
   PASS or an undecided gate is a miss.

Each replay ends as the make target does: the verdict after the first
round that decides, or INCONCLUSIVE at the cap.  The rates asserted are
counts over fixed-seed replays; no test here times anything.
"""

import os
import re

import numpy as np
import pytest

from procvma.results import gate
from procvma.results.csvio import read_results
from procvma.run.autostop import judge_requirement

DATA = os.path.join(os.path.dirname(__file__), "data", "gate-pool.csv")
MAKEFILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "Makefile")
REPLAYS = 400


def make_setting(name):
    with open(MAKEFILE) as f:
        return re.search(rf"^{name}\s*:=\s*(.+)$", f.read(), re.M).group(1).strip()


GATE_ROUNDS = int(make_setting("GATE_ROUNDS"))
REQUIREMENT = gate.parse_requirement(make_setting("GATE_REQUIRE").strip("'"))


def pool():
    df = read_results(DATA)
    by = {str(lock): rows.sort_values("sample")["opavg_ms"].to_numpy()
          for lock, rows in df.groupby("lock")}
    return by[REQUIREMENT.num], by[REQUIREMENT.den]


def replay(num, den, rng):
    """One gate run: (verdict, rounds)."""
    rounds = rng.integers(0, len(num), GATE_ROUNDS)
    a, b = num[rounds], den[rounds]
    for n in range(1, GATE_ROUNDS + 1):
        status = judge_requirement(a[:n], b[:n], REQUIREMENT)[0]
        if status != gate.INCONCLUSIVE:
            return status, n
    return status, GATE_ROUNDS


def outcomes(num, den, seed):
    rng = np.random.default_rng(seed)
    return [replay(num, den, rng) for _ in range(REPLAYS)]


def test_the_pool_is_the_gate_s_configuration():
    df = read_results(DATA)
    assert set(df["lock"]) == {REQUIREMENT.num, REQUIREMENT.den}
    assert (df["op_cost_ns"] == 0).all() and (df["busyduration"] == 2).all()
    assert (df["procfile"] == "smaps_rollup").all()
    assert len(df) == 80


def test_an_unchanged_tree_is_never_failed():
    num, den = pool()
    got = outcomes(num, den, 28)
    fails = sum(1 for v, _ in got if v == gate.FAIL)
    passes = sum(1 for v, _ in got if v == gate.OK)
    # No false alarm in 400 replays of a busy machine: at most 1% would
    # still be a gate to trust; what the sequence lets through is 0.
    assert fails == 0, f"{fails}/{REPLAYS} false FAILs"
    # Noise costs rounds: some replays reach the cap undecided, and none
    # of them is a FAIL.
    assert passes > 0


def test_a_real_regression_is_failed_in_the_fewest_rounds():
    num, _ = pool()
    got = outcomes(num, num, 29)     # --lock mmap on both sides
    fails = [n for v, n in got if v == gate.FAIL]
    assert len(fails) == REPLAYS, f"missed {REPLAYS - len(fails)}/{REPLAYS}"
    # A ratio near 1 against a bound of 10 needs no more than the
    # sequence's fewest rounds.
    assert max(fails) <= 12


@pytest.mark.parametrize("factor", [2.0, 4.0])
def test_a_partial_regression_is_not_passed(factor):
    """The per-VMA design made factor times slower (its ratio about 14x
    on this busy pool becomes 7x or 3.5x): never PASS; from 4x on, FAIL."""
    num, den = pool()
    got = outcomes(num, den * factor, 30)
    passes = sum(1 for v, _ in got if v == gate.OK)
    fails = sum(1 for v, _ in got if v == gate.FAIL)
    assert passes <= REPLAYS // 100, f"{passes} passes"
    if factor >= 4:
        assert fails >= REPLAYS * 0.95, f"{fails} fails"
