# SPDX-License-Identifier: GPL-2.0-or-later
"""--json on compare and info: one JSON document on stdout, with the
figures and verdicts the text prints (report's: test_report.py)."""

import json

from click.testing import CliRunner
from conftest import invoke
from test_compare_gate import sample_rows, write_csv

from procvma.cli.compare import compare_cmd
from procvma.results.fmt import fmt_ms, fmt_ratio


def test_compare_json_has_the_table_figures(tmp_path):
    a = write_csv(tmp_path / "a.csv", [dict(r, label="old")
                                       for r in sample_rows()])
    b = write_csv(tmp_path / "b.csv", [dict(r, opavg_ms=r["opavg_ms"] * 2,
                                            label="new")
                                       for r in sample_rows()])
    text = invoke(compare_cmd, a, b).output
    result = invoke(compare_cmd, a, b, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [s["labels"] for s in doc["sides"]] == [["old"], ["new"]]
    assert "[label old]" in text and "[label new]" in text
    rows = doc["tables"][0]["rows"]
    assert len(rows) == 8       # 2 procfiles x 2 locks x opavg, opmax
    lines = text.splitlines()
    for r in rows:
        cells = [fmt_ms(r["median_a_ms"]), fmt_ms(r["median_b_ms"]),
                 fmt_ratio(r["ratio_b_a"]), r["verdict"]]
        assert any(all(c in ln for c in cells) for ln in lines), r
    opavg = [r for r in rows if r["metric"] == "opavg"]
    assert {r["verdict"] for r in opavg} == {"B slower"}
    assert all(abs(r["ratio_b_a"] - 2) < 1e-9 for r in opavg)


def test_compare_by_lock_takes_the_baseline(tmp_path):
    path = write_csv(tmp_path / "a.csv", sample_rows(procfiles=("maps",)))
    doc = json.loads(invoke(compare_cmd, path, "--by", "lock", "--json",
                            "--metric", "opavg").output)
    (row,) = doc["tables"][0]["rows"]
    assert (row["a"], row["b"], row["verdict"]) == ("mmap", "vma", "B faster")
    doc = json.loads(invoke(compare_cmd, path, "--by", "lock", "--json",
                            "--metric", "opavg", "--baseline", "vma").output)
    (row,) = doc["tables"][0]["rows"]
    assert (row["a"], row["b"], row["verdict"]) == ("vma", "mmap", "B slower")


def test_info_json_has_every_line():
    from procvma.cli import main as cli
    text = CliRunner().invoke(cli.main, ["info"])
    r = CliRunner().invoke(cli.main, ["info", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    lines = text.stdout.splitlines()
    assert f"kernel release:      {doc['kernel_release']}" in lines
    assert f"CPU model:           {doc['cpu_model']}" in lines
    for name, lock in doc["procfile_locks"].items():
        assert f"procfile {name}: {lock}" in lines
