# SPDX-License-Identifier: GPL-2.0-or-later
"""--nsamples auto's method keeps its error rate under optional stopping.

A/A replays: both "designs" are drawn, round by round, from one set of
recorded samples (tests/data/aa-*.csv: 40 samples of one configuration
each, the simulator's and this machine class's kernel), so there is no
difference to find.  The run's stopping rule looks after every round and
stops as soon as it may; a "significant" verdict is a false positive.
The confidence sequence must give at most 5% of them; the fixed-n 95%
interval of the same median (the sign test's), asked after every round
in the same replays, gives far more -- which is why it is not the
stopping rule.
"""

import math
import os

import numpy as np
import pytest

from procvma.results import sequential
from procvma.results.csvio import read_results

DATA = os.path.join(os.path.dirname(__file__), "data")
POOLS = ("aa-sim-mmap.csv", "aa-kernel.csv")
REPLAYS = 250
ROUNDS = 40


def pool(name):
    return read_results(os.path.join(DATA, name))["opavg_ms"].to_numpy()


def replays(values, seed):
    rng = np.random.default_rng(seed)
    for _ in range(REPLAYS):
        yield (rng.choice(values, ROUNDS), rng.choice(values, ROUNDS))


def auto_verdict(a, b):
    """What --nsamples auto ends with: stop at the first round the
    confidence sequence decides (either way), else at ROUNDS."""
    for n in range(1, ROUNDS + 1):
        c = sequential.compare_paired(a[:n], b[:n])
        if c.stops:
            break
    return c.significant


def fixed_n_ranks(n, alpha=sequential.ALPHA):
    """The order statistics (1-based) of the fixed-n 95% interval for a
    median (the sign test's): valid for one n chosen in advance."""
    from scipy.stats import binom

    k = int(binom.ppf(alpha / 2, n, 0.5))
    return (k, n + 1 - k) if k >= 1 else None


RANKS = {n: fixed_n_ranks(n) for n in range(1, ROUNDS + 1)}


def naive_verdict(a, b):
    """The same per-round log ratios, judged by the fixed-n interval of
    their median after every round, stopping at the first that excludes
    "no change"."""
    d = np.log(a) - np.log(b)
    for n in range(1, ROUNDS + 1):
        if RANKS[n]:
            s = np.sort(d[:n])
            lo, hi = s[RANKS[n][0] - 1], s[RANKS[n][1] - 1]
            if lo > 0 or hi < 0:
                return True
    return False


@pytest.mark.parametrize("name", POOLS)
def test_aa_replays_rarely_find_a_difference(name):
    values = pool(name)
    assert len(values) >= 40
    rate = np.mean([auto_verdict(a, b) for a, b in replays(values, 22)])
    assert rate <= 0.05, f"{name}: {rate:.1%} false positives"


@pytest.mark.parametrize("name", POOLS)
def test_a_fixed_n_test_asked_every_round_would_fail_the_same_replays(name):
    values = pool(name)
    rate = np.mean([naive_verdict(a, b) for a, b in replays(values, 22)])
    assert rate > 0.10, f"{name}: {rate:.1%}"


def test_two_files_aa_rarely_decide():
    """Two runs of one configuration, each stopped by the one-design
    rule (or at ROUNDS), compared unpaired as report and compare do."""
    values = pool(POOLS[0])
    rng = np.random.default_rng(7)

    def run():
        x = rng.choice(values, ROUNDS)
        for n in range(1, ROUNDS + 1):
            if sequential.median_precise(x[:n])[3]:
                break
        return x[:n]

    rate = np.mean([sequential.compare_unpaired(run(), run()).significant
                    for _ in range(REPLAYS)])
    assert rate <= 0.05


def test_the_median_sequence_covers_and_narrows():
    rng = np.random.default_rng(1)
    x = rng.lognormal(0, 0.2, 400)
    lo, hi = sequential.median_cs(x[:5])
    assert lo == -math.inf and hi == math.inf       # 5 samples bound nothing
    lo, hi = sequential.median_cs(x)
    assert lo < 1 < hi and hi - lo < 0.15
    # Intersected over prefixes: never wider with more samples.
    lo2, hi2 = sequential.median_cs(x[:200])
    assert lo2 <= lo and hi <= hi2


def test_a_real_difference_is_found_both_ways():
    rng = np.random.default_rng(2)
    a = rng.lognormal(math.log(0.2), 0.05, 30)
    b = rng.lognormal(math.log(0.01), 0.05, 30)
    c = sequential.compare_paired(a, b)
    assert c.verdict == sequential.DECIDED and 18 < c.low < 20 < c.high < 22
    c = sequential.compare_unpaired(b, a)
    assert c.high < 1 and c.significant


# Two files, and one --lock both file, from --nsamples auto runs ----------------

AUTO = ("run-proc-vs-map --nsamples auto --lock mmap --duration 1 "
        "--busyduration 2 --procfile smaps_rollup")


def auto_files(tmp_path, scale, nsamples=12, command=AUTO):
    from test_compare_gate import sample_rows, write_csv

    def rows(k):
        out = sample_rows(nsamples=nsamples, procfiles=("smaps_rollup",),
                          locks=("mmap",))
        for r in out:
            r.update(command=command, opavg_ms=r["opavg_ms"] * k,
                     cpus_online="0-1", procs_running=1)
        return out

    return (write_csv(tmp_path / "a.csv", rows(1.0)),
            write_csv(tmp_path / "b.csv", rows(scale)))


def test_report_of_two_auto_runs_decides_only_by_the_sequence(tmp_path):
    from conftest import invoke

    from procvma.cli.report import report_cmd

    # 15% apart, 12 samples a side: the fixed-n test calls it; after an
    # optional stop only the confidence sequence may, and it does not.
    fixed = auto_files(tmp_path, 1.15, command=AUTO.replace("auto", "12"))
    out = " ".join(invoke(report_cmd, *fixed).output.split())
    assert "Verdict: Patched is 1.15x slower in median opavg (95% CI" in out
    assert ("95% confidence sequence of Patched/Baseline (valid at "
            "any stop): 0.937x..1.41x: does not decide") in out
    assert "Rule: the 95% CI and the Mann-Whitney p decide" in out
    out = " ".join(invoke(report_cmd, *auto_files(tmp_path, 1.15)).output.split())
    assert ("Verdict: no clear change in median opavg (Patched/Baseline "
            "1.15x, 95% confidence sequence 0.937x to 1.41x).") in out
    assert "Rule: the confidence sequence decides" in out


def test_compare_and_gate_on_auto_runs_use_the_sequence(tmp_path):
    from conftest import invoke

    from procvma.cli.common import EXIT_INCONCLUSIVE
    from procvma.cli.compare import compare_cmd
    from procvma.cli.gate import gate_cmd

    a, b = auto_files(tmp_path, 1.15)
    out = invoke(compare_cmd, a, b, "--metric", "opavg").output
    row = [ln for ln in out.splitlines() if ln.startswith("opavg")][0]
    assert row.endswith("  0.937..1.41  0.000731  no change")
    assert "Rows from a --nsamples auto run" in out
    result = invoke(gate_cmd, "--reference", a, "--current", b)
    assert result.exit_code == EXIT_INCONCLUSIVE, result.output
    # Too few samples for the sequence to bound the ratio at all.
    a, b = auto_files(tmp_path, 1.15, nsamples=6)
    result = invoke(gate_cmd, "--reference", a, "--current", b)
    assert result.exit_code == EXIT_INCONCLUSIVE, result.output
    said = " ".join(result.output.split())
    # The fewest with which each side's sequence has both ends.
    assert "samples a side would decide" in said
    assert "measure again: about 11 samples a side would decide" in said
    # Clearly apart and enough samples: the sequence decides, and fails it.
    a, b = auto_files(tmp_path, 3.0, nsamples=30)
    result = invoke(gate_cmd, "--reference", a, "--current", b)
    assert result.exit_code == 1, result.output


def test_report_of_one_auto_run_pairs_its_rounds(tmp_path):
    from conftest import invoke
    from test_compare_gate import sample_rows, write_csv

    from procvma.cli.report import report_cmd

    rows = sample_rows(nsamples=12, procfiles=("smaps_rollup",))
    for r in rows:
        r.update(command=AUTO.replace("--lock mmap ", ""), cpus_online="0-1",
                 procs_running=1)
    out = " ".join(invoke(report_cmd, write_csv(tmp_path / "r.csv",
                                                rows)).output.split())
    # Round k of vma against round k of mmap: the same 19.3x each round.
    assert ("Verdict: Patched is 19.3x faster in median opavg (95% "
            "confidence sequence 19.3x to 19.3x).") in out
