# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma compare and procvma gate on small hand-made results files.

The files carry every schema column; the figures are chosen so that the
outcome is known: the per-VMA design about 19x faster than the mmap_lock
design, like the seed's numbers, and a "regressed" copy whose vma rows are
5x slower.
"""

import math
import re

import pandas as pd
import pytest
from conftest import invoke as run

from procvma.cli.common import EXIT_INCONCLUSIVE
from procvma.cli.compare import compare_cmd
from procvma.cli.gate import gate_cmd
from procvma.cli.main import main
from procvma.results import schema, stats
from procvma.results.compare import WIDTH, compare_frames
from procvma.results.gate import parse_requirement

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
                    cpubusytasks=1, cpuscript=0, scanner="-", scanner_command="-",
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


def flat(text):
    """Output with its line wrapping undone, to search for sentences."""
    return " ".join(text.split())


def one_line_error(result):
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


# stats ------------------------------------------------------------------------

def test_median_of_even_count_is_mean_of_middle_two():
    assert stats.median([4, 1, 3, 2]) == 2.5
    assert stats.median([3, 1, 2]) == 2
    assert math.isnan(stats.median([]))


def test_ratio_interval_covers_the_ratio_and_is_repeatable():
    a = [0.17, 0.18, 0.175, 0.172, 0.169, 0.181]
    b = [0.009, 0.0085, 0.0095, 0.0091, 0.0088, 0.0092]
    lo, hi = stats.ratio_interval(a, b)
    assert lo < stats.median(b) / stats.median(a) < hi
    assert 0.04 < lo and hi < 0.06
    assert stats.ratio_interval(a, b) == (lo, hi)     # fixed seed


def test_ratio_interval_needs_min_samples_a_side():
    assert stats.MIN_SAMPLES == 4
    assert all(math.isnan(v) for v in stats.ratio_interval([1, 2, 3],
                                                          [4, 5, 6, 7]))
    assert not any(math.isnan(v) for v in stats.ratio_interval(
        [1, 2, 3, 4], [4, 5, 6, 7]))


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
        if r.config["lock"] == "vma":
            assert r.ratio == pytest.approx(5.0)
            assert r.ci[0] < 5.0 < r.ci[1]
            assert r.significance.significant
            assert r.verdict == "B slower"
        else:
            assert r.ratio == pytest.approx(1.0)
            assert r.ci[0] < 1.0 < r.ci[1]
            assert not r.significance.significant


def test_compare_cmd_table(base, slow_vma):
    result = run(compare_cmd, base, slow_vma)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert max(map(len, lines)) <= WIDTH
    vma_avg = [ln for ln in lines if ln.startswith("vma ") and " opavg " in ln]
    assert len(vma_avg) == 2
    for ln in vma_avg:
        assert "5.00x" in ln and "B slower" in ln
    mmap_avg = [ln for ln in lines if ln.startswith("mmap ")
                and " opavg " in ln]
    assert len(mmap_avg) == 2
    assert all("1.00x" in ln and "no change" in ln for ln in mmap_avg)


def test_compare_says_when_samples_are_too_few(tmp_path):
    a = write_csv(tmp_path / "a.csv", sample_rows(nsamples=3))
    b = write_csv(tmp_path / "b.csv", sample_rows(nsamples=3,
                                                  scale={"vma": 5.0}))
    result = run(compare_cmd, a, b)
    assert result.exit_code == 0
    vma = [ln for ln in result.output.splitlines() if ln.startswith("vma ")]
    # Neither a verdict nor an interval from 3 samples a side.
    assert vma and all(ln.endswith(" -  too few") for ln in vma), vma


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
    failed = [ln for ln in result.output.splitlines()
              if ln.endswith(" FAIL")]
    # Both procfiles' vma configurations failed, no mmap one did.
    assert len(failed) == 2
    assert all(ln.startswith("vma ") and "+400.0%" in ln for ln in failed)
    summary = flat(result.output.split("gate: FAIL")[1])
    assert "slower by more than +25.0%" in summary
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
    assert "opmax median 5.200 -> 10.400 ms" in flat(result.output)


def test_gate_cannot_pass_a_regression_hidden_in_noise(tmp_path):
    """+30 % on the median, with samples spread 0.1 to 0.7 ms: the interval
    straddles +25 %, so the gate can neither pass nor fail it."""
    ref = sample_rows(procfiles=("smaps_rollup",), locks=("mmap",))
    for i, row in enumerate(ref):
        row["opavg_ms"] = 0.1 * (i + 1)
    cur = [dict(r, opavg_ms=r["opavg_ms"] * 1.3) for r in ref]
    args = ["--reference", write_csv(tmp_path / "r.csv", ref),
            "--current", write_csv(tmp_path / "c.csv", cur)]
    result = run(gate_cmd, *args)
    assert result.exit_code == EXIT_INCONCLUSIVE, result.output
    assert "gate: INCONCLUSIVE (1)" in result.output
    assert "+30.0%" in result.output and "cannot rule out +25.0%" in \
        flat(result.output)
    assert "samples would decide" in flat(result.output)
    result = run(gate_cmd, *args, "--allow-inconclusive")
    assert result.exit_code == 0, result.output
    assert "gate: PASS, inconclusive allowed (1)" in result.output


def test_gate_too_few_samples_is_a_failure_of_its_own(tmp_path):
    """A 10x regression with 3 samples a side: no verdict, and no pass."""
    ref = write_csv(tmp_path / "r.csv", sample_rows(nsamples=3))
    cur = write_csv(tmp_path / "c.csv", sample_rows(nsamples=3,
                                                    scale={"vma": 10.0}))
    result = run(gate_cmd, "--reference", ref, "--current", cur)
    assert result.exit_code == EXIT_INCONCLUSIVE, result.output
    assert "gate: PASS" not in result.output
    assert "too few samples (3 and 3): at least 4 a side" in \
        flat(result.output)
    result = run(gate_cmd, "--reference", ref, "--current", cur,
                 "--allow-inconclusive")
    assert result.exit_code == 0
    result = run(gate_cmd, "--current", cur, "--require", "mmap/vma>=1")
    assert result.exit_code == EXIT_INCONCLUSIVE, result.output


# gate: --require ----------------------------------------------------------------

def test_require_passes_when_per_vma_is_10x_faster(base):
    # No --reference: the ratio is checked inside CUR alone.
    result = run(gate_cmd, "--current", base, "--require", "mmap/vma>=10")
    assert result.exit_code == 0, result.output
    assert "19.3x" in result.output


def test_require_fails_when_the_advantage_is_lost(slow_vma):
    result = run(gate_cmd, "--current", slow_vma,
                 "--require", "mmap/vma>=10")
    assert result.exit_code == 1
    summary = flat(result.output.split("gate: FAIL")[1])
    assert "procfile=smaps_rollup" in summary and "3.87x" in summary
    assert "95% CI 3.6" in summary
    # ... and a weaker requirement still holds for the same file.
    result = run(gate_cmd, "--current", slow_vma,
                 "--require", "mmap/vma>=3", "--require", "vma/mmap<0.5")
    assert result.exit_code == 0, result.output


def ratio_file(tmp_path, ratio, name="c.csv"):
    """A file whose mmap/vma opavg ratio is about ratio, its bootstrap
    interval a few percent wide (vma's samples spread +-9%)."""
    rows = sample_rows(procfiles=("smaps_rollup",))
    for i, row in enumerate(r for r in rows if r["lock"] == "vma"):
        row["opavg_ms"] = 0.174 / ratio * (1 + 0.03 * (i - 3))
    return write_csv(tmp_path / name, rows)


@pytest.mark.parametrize("ratio, status, verdict", [
    (10.6, EXIT_INCONCLUSIVE, "INCONCLUSIVE"),   # 9.80..11.5 spans 10
    (8.0, 1, "FAIL"),                           # wholly below 10
    (13.0, 0, "PASS"),                          # wholly above 10
])
def test_require_decides_only_what_its_interval_decides(tmp_path, ratio,
                                                        status, verdict):
    cur = ratio_file(tmp_path, ratio)
    result = run(gate_cmd, "--current", cur, "--require", "mmap/vma>=10")
    assert result.exit_code == status, result.output
    assert f"gate: {verdict}" in result.output
    lo, hi = (float(v) for v in re.search(
        r"([0-9.]+)\.\.([0-9.]+)\s+(ok|FAIL|inconclusive)",
        result.output).groups()[:2])
    assert (lo >= 10) == (verdict == "PASS")
    assert (hi < 10) == (verdict == "FAIL")


def test_inconclusive_advice_agrees_with_each_check(tmp_path):
    """One number of samples to decide, the same in the check's line and
    in the advice, and above what the file already has."""
    result = run(gate_cmd, "--current", ratio_file(tmp_path, 10.6),
                 "--require", "mmap/vma>=10")
    text = flat(result.output)
    said = set(re.findall(r"about (\d+) samples a side would decide", text))
    assert len(said) == 1 and int(said.pop()) > 7, text
    assert "at least" not in text


def test_require_without_both_designs_fails(tmp_path):
    cur = write_csv(tmp_path / "c.csv", sample_rows(locks=("mmap",)))
    result = run(gate_cmd, "--current", cur, "--require", "mmap/vma>=10")
    assert result.exit_code == 1
    assert "both lock=mmap and lock=vma" in flat(result.output)


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
    for bad, why in (("a lot", "not a percentage"), ("0.25", "ambiguous"),
                     ("-5%", "above 0")):
        result = run(main, "gate", "--reference", base, "--current", base,
                     "--max-regression", bad)
        assert result.exit_code == 2
        line = one_line_error(result)
        assert line.startswith("procvma gate: error: ") and why in line, line


@pytest.mark.parametrize("given, allowed", [
    ("25%", "+25.0%"), ("25", "+25.0%"), ("0.5%", "+0.5%"), ("150%", "+150.0%")])
def test_max_regression_is_a_percentage_one_way(base, slow_vma, given, allowed):
    result = run(gate_cmd, "--reference", base, "--current", slow_vma,
                 "--max-regression", given)
    assert result.exit_code == 1, result.output
    assert f"slower by more than {allowed}" in flat(result.output)


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


def test_compare_metric_and_by(base, slow_vma):
    result = run(compare_cmd, base, "--by", "lock", "--metric", "p99.9",
                 "--metric", "p50")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "A: lock=mmap in " in flat(result.output)
    assert "B: lock=vma in " in flat(result.output)
    rows = [ln.split() for ln in lines if ln.split()[:1] in
            (["maps"], ["smaps_rollup"])]
    assert sorted(r[1] for r in rows) == ["p50", "p50", "p99.9", "p99.9"]
    assert all(r[-2:] == ["B", "faster"] for r in rows)
    result = run(compare_cmd, base, slow_vma, "--metric", "p99")
    assert result.exit_code == 0
    assert " p99 " in result.output and " opavg " not in result.output
    result = run(main, "compare", base, "--metric", "p42", "--by", "lock")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert line.startswith("procvma compare: error: ") and "'p42'" in line
    result = run(compare_cmd, base, slow_vma, "--by", "lock")
    assert result.exit_code == 2
    assert "one file" in one_line_error(result)


def test_compare_and_gate_leave_hung_samples_out(tmp_path):
    rows = sample_rows()
    for row in rows[:2]:        # two mmap smaps_rollup samples hung, slowly
        row.update(hang=1, opavg_ms=50.0)
    path = write_csv(tmp_path / "h.csv", rows)
    result = run(compare_cmd, path, path)
    assert "28 samples, 2 hung (left out; --include-hangs keeps them)" in \
        flat(result.output)
    kept = [ln for ln in result.output.splitlines()
            if ln.startswith("mmap  smaps_rollup  opavg")]
    assert kept and kept[0].split()[3:5] == ["5", "5"]
    result = run(compare_cmd, path, path, "--include-hangs")
    assert "2 hung (kept: --include-hangs)" in flat(result.output)
    kept = [ln for ln in result.output.splitlines()
            if ln.startswith("mmap  smaps_rollup  opavg")]
    assert kept[0].split()[3:5] == ["7", "7"]
    result = run(gate_cmd, "--reference", path, "--current", path)
    assert result.exit_code == 0 and "2 hung (left out" in flat(result.output)


def test_output_fits_100_columns_with_many_configurations(tmp_path):
    rows = []
    for bd in (1, 2, 5):
        for tasks in (1, 2, 3):
            rows += [dict(r, busyduration=bd, nbusytasks=tasks, duration=bd,
                          scanner="cat", region_pages=1000 * tasks)
                     for r in sample_rows()]
    path = write_csv(tmp_path / "many.csv", rows)
    for result in (run(compare_cmd, path, path),
                   run(compare_cmd, path, "--by", "procfile"),
                   run(gate_cmd, "--reference", path, "--current", path,
                       "--require", "mmap/vma>=10")):
        assert result.exit_code == 0, result.output
        assert max(map(len, result.output.splitlines())) <= WIDTH


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


# configurations never mix ------------------------------------------------------

def with_config(rows, **changes):
    return [dict(r, **changes) for r in rows]


def test_cat_against_read_shares_nothing_and_says_why(tmp_path):
    cat = write_csv(tmp_path / "cat.csv", with_config(sample_rows(), scanner="cat",
                                                     pass_cost_ns=1037285.9))
    read = write_csv(tmp_path / "read.csv", with_config(sample_rows(), scanner="read",
                                                       pass_cost_ns=4864.7))
    result = run(compare_cmd, cat, read)
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "no configuration in common" in line
    assert "scanner (cat vs read)" in line and "pass_cost_ns" in line
    assert "significant" not in result.output


@pytest.mark.parametrize("column, other", [
    ("duration", 3), ("region_pages", 1024), ("holes", 100),
    ("op_cost_ns", 1.0), ("walk_cost_ns", 2.0), ("nbusytasks", 2),
])
def test_any_configuration_column_keeps_runs_apart(tmp_path, column, other):
    a = write_csv(tmp_path / "a.csv", sample_rows())
    b = write_csv(tmp_path / "b.csv", with_config(sample_rows(scale={"vma": 5.0}),
                                                 **{column: other}))
    result = run(compare_cmd, a, b)
    assert result.exit_code == 2
    assert f"differ in {column} (" in one_line_error(result)
    result = run(gate_cmd, "--reference", a, "--current", b)
    assert result.exit_code == 2
    assert f"differ in {column} (" in one_line_error(result)


def test_one_file_of_both_scanners_is_never_pooled(tmp_path):
    from procvma.results.csvio import read_results

    both = write_csv(tmp_path / "both.csv",
                     with_config(sample_rows(), scanner="cat")
                     + with_config(sample_rows(scale={"mmap": 10.0}), scanner="read"))
    df = read_results([both])
    rows = [r for r in compare_frames(df, df) if r.metric == "opavg_ms"]
    # Each scanner a configuration of its own per design and procfile,
    # with its own median: never one median between the two groups.
    assert len(rows) == 8
    medians = sorted((r.config["scanner"], r.config["lock"], round(r.median_a, 3))
                     for r in rows)
    assert medians[:4] == [("cat", "mmap", 0.174)] * 2 + [("cat", "vma", 0.009)] * 2
    assert medians[4:] == [("read", "mmap", 1.74)] * 2 + [("read", "vma", 0.009)] * 2


def test_older_files_read_with_their_implied_configuration(tmp_path):
    from procvma.results.csvio import read_results

    old = pd.DataFrame(with_config(sample_rows(nsamples=3), backend="kernel",
                                   lock="kernel"))
    old = old.drop(columns=["scanner", "holes", "op_cost_ns", "walk_cost_ns",
                            "pass_cost_ns"])
    old.to_csv(tmp_path / "old.csv", index=False)
    df = read_results([tmp_path / "old.csv"])
    # The kernel backend read in-process before it had --scanner.
    assert set(df["scanner"]) == {"read"}
    assert set(df["holes"]) == {0} and set(df["pass_cost_ns"]) == {0.0}
    # A simulator row that named no scanner paid cat's pass, or none.
    sim = write_csv(tmp_path / "sim.csv",
                    with_config(sample_rows(nsamples=1), pass_cost_ns=1e6)
                    + with_config(sample_rows(nsamples=1), pass_cost_ns=0.0))
    df = read_results([sim])
    assert list(df["scanner"]) == ["cat"] * 4 + ["read"] * 4


@pytest.mark.parametrize("ratio", [8.0, 10.6, 13.0])
def test_gate_json_says_what_the_text_says(tmp_path, ratio):
    import json

    cur = ratio_file(tmp_path, ratio)
    args = ["--current", cur, "--require", "mmap/vma>=10"]
    text = run(gate_cmd, *args)
    result = run(gate_cmd, *args, "--json")
    assert result.exit_code == text.exit_code
    doc = json.loads(result.output)         # one document, nothing else
    assert f"gate: {doc['verdict']}" in text.output
    assert doc["exit_status"] == text.exit_code
    (check,) = doc["checks"]
    assert check["requirement"] == "mmap/vma>=10"
    row = [ln for ln in text.output.splitlines() if ln.startswith("opavg ")]
    shown = re.search(r"(\S+)x\s+([0-9.]+)\.\.([0-9.]+)\s+(\w+)$",
                      row[0]).groups()
    assert f"{check['ratio']:#.3g}" == shown[0]
    assert f"{check['low']:#.3g}".rstrip(".") == shown[1]
    assert check["status"] == shown[3]
