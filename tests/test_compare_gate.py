# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma compare and procvma gate on small hand-made results files.

The files carry every schema column; the figures are chosen so that the
outcome is known: the per-VMA design about 19x faster than the mmap_lock
design, like the seed's numbers, and a "regressed" copy whose vma rows are
5x slower.
"""

import math

import pandas as pd
import pytest
from click.testing import CliRunner

from procvma import schema, stats
from procvma.compare import compare_cmd, compare_frames
from procvma.gate import gate_cmd, parse_requirement

# Median opavg (ms) of each design, as in the seed's tables.
OPAVG = {"mmap": 0.174, "vma": 0.009}
OPMAX = {"mmap": 5.2, "vma": 3.2}


def sample_rows(nsamples=7, procfiles=("smaps_rollup", "maps"),
                locks=("mmap", "vma"), scale=None):
    """Rows for each (procfile, lock), opavg spread by up to +-6 % around
    the design's median; scale multiplies one design's latencies."""
    scale = scale or {}
    rows = []
    for procfile in procfiles:
        for lock in locks:
            k = scale.get(lock, 1.0)
            for i in range(nsamples):
                spread = 1 + 0.02 * (i - nsamples // 2)
                row = dict.fromkeys(schema.COLUMNS, 0)
                avg = OPAVG[lock] * spread * k
                row.update(
                    backend="sim", lock=lock, procfile=procfile,
                    sample=i + 1, nbusycpus=1, nbusytasks=1, busyduration=2,
                    duration=5, region_pages=32768, seed=i, cpumapper=0,
                    cpubusytasks=1, cpuscript=0, scanner="-",
                    nmaps=100000, nunmaps=100000,
                    opavg_ms=avg, opmax_ms=OPMAX[lock] * spread * k,
                    p50_ms=avg / 2, p90_ms=avg, p99_ms=avg * 4,
                    p999_ms=avg * 20, kernel_release="6.18.0",
                    cpu_model="Test CPU", procvma_version="0.1.0",
                    timestamp="2025-01-01T00:00:00+00:00")
                rows.append(row)
    return rows


def write_csv(path, rows):
    pd.DataFrame(rows, columns=schema.COLUMNS).to_csv(path, index=False)
    return str(path)


@pytest.fixture
def base(tmp_path):
    return write_csv(tmp_path / "base.csv", sample_rows())


@pytest.fixture
def slow_vma(tmp_path):
    return write_csv(tmp_path / "slow-vma.csv",
                     sample_rows(scale={"vma": 5.0}))


def run(cmd, *args):
    result = CliRunner().invoke(cmd, [str(a) for a in args])
    # Exit statuses come from the command, never from an escaped exception.
    assert result.exception is None or isinstance(result.exception,
                                                  SystemExit), result.output
    return result


def one_line_error(result):
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


# stats ------------------------------------------------------------------------

def test_median_of_even_count_is_mean_of_middle_two():
    assert stats.median([4, 1, 3, 2]) == 2.5
    assert stats.median([3, 1, 2]) == 2
    assert math.isnan(stats.median([]))


def test_three_against_three_samples_cannot_be_significant():
    # Even a perfect separation of 3 vs 3 values has p = 0.1 two-sided.
    s = stats.mann_whitney([1, 2, 3], [10, 11, 12])
    assert s.verdict == stats.TOO_FEW and s.pvalue is None
    s = stats.mann_whitney([1, 2, 3, 4], [10, 11, 12, 13])
    assert s.verdict == stats.SIGNIFICANT and s.pvalue < 0.05


# compare ----------------------------------------------------------------------

def test_compare_frames_file_against_itself(base):
    df = pd.read_csv(base)
    rows = compare_frames(df, df)
    # 2 procfiles x 2 designs x (opavg, opmax)
    assert len(rows) == 8
    for r in rows:
        assert r.ratio == pytest.approx(1.0)
        assert r.significance.verdict == stats.NOT_SIGNIFICANT
        assert r.significance.pvalue == pytest.approx(1.0)


def test_compare_frames_finds_the_slower_design(base, slow_vma):
    rows = compare_frames(pd.read_csv(base), pd.read_csv(slow_vma))
    for r in rows:
        lock = r.config[schema.CONFIG_KEY.index("lock")]
        if lock == "vma":
            assert r.ratio == pytest.approx(5.0)
            assert r.significance.significant
            assert r.verdict == "significant: B slower"
        else:
            assert r.ratio == pytest.approx(1.0)
            assert not r.significance.significant


def test_compare_cmd_table(base, slow_vma):
    result = run(compare_cmd, base, slow_vma)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    vma_avg = [ln for ln in lines if " vma " in ln and "opavg_ms" in ln]
    assert len(vma_avg) == 2
    for ln in vma_avg:
        assert "5.00x" in ln and "significant: B slower" in ln
    mmap_avg = [ln for ln in lines if " mmap " in ln and "opavg_ms" in ln]
    assert all("1.00x" in ln and "not significant" in ln for ln in mmap_avg)


def test_compare_says_when_samples_are_too_few(tmp_path):
    a = write_csv(tmp_path / "a.csv", sample_rows(nsamples=3))
    b = write_csv(tmp_path / "b.csv", sample_rows(nsamples=3,
                                                  scale={"vma": 5.0}))
    result = run(compare_cmd, a, b)
    assert result.exit_code == 0
    vma = [ln for ln in result.output.splitlines() if " vma " in ln]
    assert vma and all("too few samples" in ln for ln in vma)


def test_compare_lists_configurations_in_one_file_only(tmp_path, base):
    only_rollup = write_csv(tmp_path / "r.csv",
                            sample_rows(procfiles=("smaps_rollup",)))
    result = run(compare_cmd, base, only_rollup)
    assert result.exit_code == 0
    assert "only in " + base in result.output
    assert "procfile=maps" in result.output


def test_compare_nothing_in_common_is_an_error(tmp_path):
    a = write_csv(tmp_path / "a.csv", sample_rows(procfiles=("maps",)))
    b = write_csv(tmp_path / "b.csv", sample_rows(procfiles=("smaps",)))
    result = run(compare_cmd, a, b)
    assert result.exit_code == 2
    assert "no configuration in common" in one_line_error(result)


# gate: regression -------------------------------------------------------------

def test_gate_against_itself_passes(base):
    result = run(gate_cmd, "--reference", base, "--current", base)
    assert result.exit_code == 0, result.output
    assert "gate: PASS" in result.output
    assert "FAIL" not in result.output


def test_gate_fails_on_5x_slower_vma_and_names_it(base, slow_vma):
    result = run(gate_cmd, "--reference", base, "--current", slow_vma)
    assert result.exit_code == 1, result.output
    failed = [ln for ln in result.output.splitlines() if "FAIL" in ln
              and "slower by" in ln]
    # Both procfiles' vma configurations failed, no mmap one did.
    assert len(failed) == 2
    assert all(" vma " in ln and "+400.0%" in ln for ln in failed)
    summary = result.output.split("gate: FAIL")[1]
    assert "lock=vma procfile=smaps_rollup" in summary
    assert "lock=vma procfile=maps" in summary
    assert "lock=mmap" not in summary


def test_gate_threshold_is_respected(base, slow_vma):
    result = run(gate_cmd, "--reference", base, "--current", slow_vma,
                 "--max-regression", "450%")
    assert result.exit_code == 0, result.output


def test_gate_on_opmax(base, tmp_path):
    cur = write_csv(tmp_path / "c.csv",
                    sample_rows(scale={"mmap": 2.0}))
    result = run(gate_cmd, "--reference", base, "--current", cur,
                 "--metric", "opmax_ms")
    assert result.exit_code == 1
    assert "opmax_ms" in result.output


def test_gate_ignores_a_regression_that_is_only_noise(tmp_path):
    """+30 % on the median, but the samples overlap: not significant."""
    ref = sample_rows(procfiles=("smaps_rollup",), locks=("mmap",))
    for i, row in enumerate(ref):
        row["opavg_ms"] = 0.1 * (i + 1)
    cur = [dict(r, opavg_ms=r["opavg_ms"] * 1.3) for r in ref]
    result = run(gate_cmd, "--reference", write_csv(tmp_path / "r.csv", ref),
                 "--current", write_csv(tmp_path / "c.csv", cur))
    assert result.exit_code == 0, result.output
    assert "+30.0%" in result.output and "not significant" in result.output


def test_gate_too_few_samples_warns_but_does_not_fail(tmp_path):
    ref = write_csv(tmp_path / "r.csv", sample_rows(nsamples=2))
    cur = write_csv(tmp_path / "c.csv", sample_rows(nsamples=2,
                                                    scale={"vma": 5.0}))
    result = run(gate_cmd, "--reference", ref, "--current", cur)
    assert result.exit_code == 0
    assert "too few samples" in result.output


# gate: --require ----------------------------------------------------------------

def test_require_passes_when_per_vma_is_10x_faster(base):
    # No --reference: the ratio is checked inside CUR alone.
    result = run(gate_cmd, "--current", base, "--require", "mmap/vma>=10")
    assert result.exit_code == 0, result.output
    assert "19.33x" in result.output


def test_require_fails_when_the_advantage_is_lost(slow_vma):
    result = run(gate_cmd, "--current", slow_vma,
                 "--require", "mmap/vma>=10")
    assert result.exit_code == 1
    summary = result.output.split("gate: FAIL")[1]
    assert "procfile=smaps_rollup" in summary and "3.87x" in summary
    # ... and a weaker requirement still holds for the same file.
    result = run(gate_cmd, "--current", slow_vma,
                 "--require", "mmap/vma>=3", "--require", "vma/mmap<0.5")
    assert result.exit_code == 0, result.output


def test_require_without_both_designs_fails(tmp_path):
    cur = write_csv(tmp_path / "c.csv", sample_rows(locks=("mmap",)))
    result = run(gate_cmd, "--current", cur, "--require", "mmap/vma>=10")
    assert result.exit_code == 1
    assert "both lock=mmap and lock=vma" in result.output


def test_require_and_regression_together(base, slow_vma):
    result = run(gate_cmd, "--reference", base, "--current", base,
                 "--require", "mmap/vma>=10")
    assert result.exit_code == 0
    result = run(gate_cmd, "--reference", base, "--current", slow_vma,
                 "--require", "mmap/vma>=3")
    assert result.exit_code == 1    # the regression alone fails it


@pytest.mark.parametrize("expr", [
    "mmap/vma", "mmap/vma>=", "mmap/vma>=ten", "mmap/vma=10",
    "mmap/foo>=10", "vma/vma>=1", "mmap-vma>=10", ""])
def test_bad_require_expression(base, expr):
    result = run(gate_cmd, "--current", base, "--require", expr)
    assert result.exit_code == 2
    assert "--require" in one_line_error(result)


def test_parse_requirement():
    r = parse_requirement(" mmap / vma >= 12.5 ")
    assert (r.num, r.den, r.op, r.bound) == ("mmap", "vma", ">=", 12.5)
    assert r.holds(12.5) and not r.holds(12.4) and not r.holds(math.nan)


def test_gate_usage_errors(base):
    result = run(gate_cmd, "--current", base)
    assert result.exit_code == 2
    assert "nothing to check" in one_line_error(result)
    result = run(gate_cmd, "--reference", base, "--current", base,
                 "--max-regression", "a lot")
    assert result.exit_code == 2
    assert "--max-regression" in one_line_error(result)


# malformed input ----------------------------------------------------------------

def _malformed(tmp_path, kind):
    df = pd.DataFrame(sample_rows(), columns=schema.COLUMNS)
    if kind == "missing column":
        df = df.drop(columns=["opavg_ms"])
    else:
        df["opavg_ms"] = df["opavg_ms"].astype(object)
        df.loc[3, "opavg_ms"] = "fast"
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("kind", ["missing column", "non-numeric"])
@pytest.mark.parametrize("which", ["compare", "gate", "require"])
def test_malformed_csv_is_one_line_naming_file_and_column(
        tmp_path, base, kind, which):
    bad = _malformed(tmp_path, kind)
    if which == "compare":
        result = run(compare_cmd, base, bad)
    elif which == "gate":
        result = run(gate_cmd, "--reference", bad, "--current", base)
    else:
        result = run(gate_cmd, "--current", bad, "--require", "mmap/vma>=10")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert bad in line and "opavg_ms" in line


def test_missing_file(tmp_path, base):
    missing = str(tmp_path / "nope.csv")
    result = run(compare_cmd, missing, base)
    assert result.exit_code == 2
    assert missing in one_line_error(result)
