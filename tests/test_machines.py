# SPDX-License-Identifier: GPL-2.0-or-later
"""Results that know where they came from: every row carries the format
and the machine (host, kernel, CPU model); a file is appended to from
another machine only with a warning; report, compare, gate and plot never
pool two machines' rows into one side.  The files are hand-made, the
second kernel's samples three times slower, so that a pooled median would
show."""

import glob
import os

import pandas as pd
import pytest
from conftest import invoke
from test_compare_gate import sample_rows, write_csv

from procvma.cli.compare import compare_cmd
from procvma.cli.gate import gate_cmd
from procvma.cli.plot import plot_cmd
from procvma.cli.report import report_cmd
from procvma.results import schema
from procvma.results.csvio import (
    ResultsError, ResultsWriter, host_metadata, read_results
)
from procvma.results.plot import load_series

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OLD, NEW = "6.1.0-old", "6.18.0-new"


def two_kernels(path, locks=("mmap", "vma")):
    """Rows of one configuration from two kernels of one host, the new
    kernel's three times slower."""
    rows = []
    for release, scale in ((OLD, 1.0), (NEW, 3.0)):
        for r in sample_rows(procfiles=("smaps_rollup",), locks=locks,
                             scale={lock: scale for lock in locks}):
            rows.append(dict(r, kernel_release=release, hostname="box",
                             format=schema.FORMAT))
    return write_csv(path, rows)


def one_kernel(path, release=OLD, locks=("mmap", "vma")):
    rows = [dict(r, kernel_release=release, hostname="box",
                 format=schema.FORMAT)
            for r in sample_rows(procfiles=("smaps_rollup",), locks=locks)]
    return write_csv(path, rows)


def one_line_error(result):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_report_gives_each_kernel_a_section_of_its_own(tmp_path):
    out = invoke(report_cmd, two_kernels(tmp_path / "two.csv")).output
    assert "two.csv holds rows from 2 machines, kept apart" in \
        " ".join(out.split())
    sections = out.split("Configuration ")[1:]
    assert len(sections) == 2
    for section, release, scale in zip(sections, (OLD, NEW), (1, 3)):
        flat = " ".join(section.split())
        assert f"Kernel: simulated (procvma 0.1.0) on Linux {release}" in flat
        # 7 samples a side, the kernel's own medians: nothing pooled.
        assert "7 Baseline and 7 Patched samples" in flat
        assert f"median opavg (ms) {0.174 * scale:.3f} {0.009 * scale:.3f}" \
            in flat
    # Baseline from one kernel and Patched from the other is no pair.
    rows = [dict(r, kernel_release=OLD if r["lock"] == "mmap" else NEW)
            for r in sample_rows(procfiles=("smaps_rollup",))]
    line = one_line_error(invoke(report_cmd, write_csv(tmp_path / "x.csv",
                                                       rows)))
    assert "no configuration was measured with --lock mmap and another " \
        "design on one machine" in line


def test_compare_compares_one_kernel_at_a_time(tmp_path):
    a = two_kernels(tmp_path / "a.csv")
    b = one_kernel(tmp_path / "b.csv")
    out = invoke(compare_cmd, a, b, "--metric", "opavg").output
    flat = " ".join(out.split())
    assert "a.csv holds rows from 2 machines, kept apart" in flat
    assert f"A on host box, Linux {OLD}, Test CPU, B on host box, Linux " \
        f"{OLD}, Test CPU:" in flat
    assert f"A on host box, Linux {NEW}, Test CPU, B on host box" in flat
    # Per kernel, 7 samples a side: the old kernel's rows are B's, the new
    # kernel's three times slower; a pooled A would hold 14.
    table = [ln.split()[1:] for ln in out.splitlines()
             if ln.startswith(("mmap  opavg", "vma   opavg"))]
    assert [(t[1], t[2], t[5]) for t in table] == \
        [("7", "7", "1.00x"), ("7", "7", "1.00x"),
         ("7", "7", "0.333x"), ("7", "7", "0.333x")]
    by = invoke(compare_cmd, a, "--by", "lock", "--metric", "opavg").output
    assert f"on host box, Linux {OLD}, Test CPU:" in by
    assert f"on host box, Linux {NEW}, Test CPU:" in by
    assert [ln.split()[1:3] for ln in by.splitlines()
            if ln.startswith("opavg")] == [["7", "7"]] * 2


def test_gate_refuses_a_side_of_two_kernels(tmp_path):
    two = two_kernels(tmp_path / "two.csv")
    one = one_kernel(tmp_path / "one.csv")
    for args in (["--require", "mmap/vma>=10", "--current", two],
                 ["--reference", two, "--current", one],
                 ["--reference", one, "--current", two]):
        line = one_line_error(invoke(gate_cmd, *args))
        assert line.endswith(f"two.csv holds rows from 2 machines (kernel "
                             f"{OLD} in some rows, {NEW} in others); its "
                             f"samples cannot be pooled: give the rows of "
                             f"one machine")
    assert invoke(gate_cmd, "--require", "mmap/vma>=10", "--current",
                  one).exit_code == 0


def test_plot_draws_a_line_per_kernel(tmp_path):
    two = two_kernels(tmp_path / "two.csv")
    series = load_series([(two, read_results([two]))])
    assert len(series) == 4         # 2 designs x 2 kernels
    assert sorted((s.config["lock"], s.machine[1], len(s.rows))
                  for s in series) == [("mmap", OLD, 7), ("mmap", NEW, 7),
                                       ("vma", OLD, 7), ("vma", NEW, 7)]
    out = tmp_path / "fig.svg"
    result = invoke(plot_cmd, two, "-o", out)
    assert result.exit_code == 0, result.output
    assert "two.csv holds rows from 2 machines, kept apart" in result.output
    svg = out.read_text()
    # Only the kernel differs: the legend names it, the CPU is said once.
    assert f"simulator --lock mmap · on Linux {OLD} (" in svg
    assert f"simulator --lock mmap · on Linux {NEW} (" in svg
    assert "Test CPU" in svg and "Test CPU (" not in svg


def test_appending_from_another_machine_warns_once_naming_the_difference(
        tmp_path, capsys):
    path = tmp_path / "out.csv"
    here = host_metadata()
    row = dict.fromkeys(schema.COLUMNS, 0)
    row.update(sample_rows(nsamples=1, procfiles=("maps",),
                           locks=("vma",))[0])
    w = ResultsWriter.open(str(path))
    w.write(row)
    w.close()
    ResultsWriter.open(str(path)).close()
    assert capsys.readouterr().err == ""        # written here: no warning
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert df["format"].tolist() == [str(schema.FORMAT)]
    assert df["hostname"].tolist() == [here["hostname"]]
    df["kernel_release"] = "5.10.0-elsewhere"
    df.to_csv(path, index=False)
    ResultsWriter.open(str(path)).close()
    err = capsys.readouterr().err.splitlines()
    assert err == [f"procvma: warning: --csv {path}: its rows were written "
                   f"on another machine (kernel 5.10.0-elsewhere there, "
                   f"{here['kernel_release']} here); appending, and report, "
                   f"compare, gate and plot keep the machines apart"]


def test_older_files_read_as_the_current_format_with_implied_values(tmp_path):
    # A file from before the format, host and machine columns.
    old = [c for c in schema.COLUMNS
           if c not in ("format", "hostname", "kernel_release", "cpu_model",
                        "others_running")]
    rows = [dict(r, procs_running=2) for r in sample_rows(
        procfiles=("smaps_rollup",))]
    path = tmp_path / "old.csv"
    pd.DataFrame(rows, columns=old).to_csv(path, index=False)
    df = read_results([path])
    assert set(df["format"]) == {1}
    assert set(df["hostname"]) == set(df["kernel_release"]) == \
        set(df["cpu_model"]) == {"unknown"}
    assert set(df["others_running"]) == {1}
    out = invoke(report_cmd, path).output
    assert "Kernel: simulated (procvma 0.1.0) on Linux unknown" in \
        " ".join(out.split())
    # A file from a newer procvma is not guessed at.
    newer = tmp_path / "newer.csv"
    write_csv(newer, [dict(r, format=schema.FORMAT + 1) for r in rows])
    with pytest.raises(ResultsError) as e:
        read_results([newer])
    assert "written by a newer procvma" in e.value.format_message()


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(
    ROOT, "results", "*.csv"))), ids=os.path.basename)
def test_the_shipped_results_still_read(path):
    df = read_results([path])
    assert len(df) and set(df["format"]) <= set(range(1, schema.FORMAT + 1))
