# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma report: the cover-letter block, in the seed's form, on
hand-made results files whose figures are known."""

import pytest
from conftest import invoke
from test_compare_gate import sample_rows, write_csv

from procvma.cli.report import report_cmd
from procvma.results.report import WIDTH

COMMAND = ("run-proc-vs-map --nsamples 20 --duration 5 --busyduration 2 "
           "--procfile smaps_rollup --csv /var/tmp/a-rather-long-name/seed.csv")


def rows(locks=("mmap", "vma"), **over):
    out = sample_rows(nsamples=7, procfiles=("smaps_rollup",), locks=locks)
    for r in out:
        r.update(dict(command=COMMAND, cpus_online="0-1", loadavg1=0.5,
                      procs_running=1, no_pass=0), **over)
    return out


def report(*args):
    return invoke(report_cmd, *args)


def test_one_file_reports_mmap_against_vma(tmp_path):
    path = write_csv(tmp_path / "seed.csv", rows())
    result = report(path)
    assert result.exit_code == 0, result.output
    out = result.output
    lines = out.splitlines()
    assert max(map(len, lines)) <= WIDTH
    # The command line, wrapped as a shell would take it back.
    assert lines[0] == ("Execution command: run-proc-vs-map --nsamples 20 "
                        "--duration 5 \\")
    assert " ".join(ln.rstrip(" \\").strip() for ln in lines[:3]) \
        .startswith("Execution command: " + COMMAND)
    assert "Kernel:  simulated (procvma 0.1.0) on Linux 6.18.0" in out
    assert "CPU:     Test CPU, 2 CPUs online (0-1)" in out
    assert "Layout:  mapper on CPU 0, driver on CPU 0; 1 busy CPU (1)" in out
    # The rawdata blocks as the reference prints them: the median, then
    # the sorted opavg and opmax columns.
    base = lines.index("Baseline: simulated kernel, --lock mmap (/proc "
                       "walk under mmap_lock)")
    assert lines[base + 1] == ""
    assert lines[base + 2] == "    0.174     0.164     4.888"
    patched = [i for i, ln in enumerate(lines) if ln.startswith("Patched:")]
    assert len(patched) == 1
    assert lines[patched[0] + 2] == "    0.009     0.008     3.008"
    assert "median opavg (ms)      0.174     0.009  0.0517x (0.0" in out
    assert "Mann-Whitney U on opavg, two-sided: p = 0.00058" in out
    assert "p99 change: -94.8% (median p99 0.696 -> 0.036 ms)" in out
    assert "Verdict: Patched is 19.3x faster in median opavg (95% CI" in out


def test_two_files_report_the_first_against_the_second(tmp_path):
    kernel = dict(locks=("mmap",), backend="kernel", lock="kernel",
                  scanner="cat")
    old = write_csv(tmp_path / "old.csv", rows(**kernel))
    new = [dict(r, opavg_ms=r["opavg_ms"] * 2, kernel_release="6.19.0",
                command=COMMAND.replace("seed", "new"))
           for r in rows(**kernel)]
    new = write_csv(tmp_path / "new.csv", new)
    out = report(old, new).output
    assert max(map(len, out.splitlines())) <= WIDTH
    assert out.startswith("Baseline command: ")
    assert "Patched command: " in out
    assert "Kernel:  Linux 6.18.0 -> Linux 6.19.0" in out
    assert "Baseline: Linux 6.18.0, --scanner cat" in out
    assert "Patched: Linux 6.19.0, --scanner cat" in out
    assert "Verdict: Patched is 2.00x slower in median opavg" in out


def test_hung_samples_are_counted_and_left_out(tmp_path):
    data = rows()
    for r in data[:2]:
        r.update(hang=1, opavg_ms=40.0)
    path = write_csv(tmp_path / "h.csv", data)
    out = report(path).output
    assert "Baseline 2, Patched 0 hung; left out (--include-hangs keeps" \
        in " ".join(out.split())
    assert "5 baseline and 7 patched samples" in " ".join(out.split())
    assert "40.000" not in out
    out = report(path, "--include-hangs").output
    assert "7 baseline and 7 patched samples" in " ".join(out.split())
    assert "40.000" in out


def test_samples_without_a_scanner_pass_are_flagged(tmp_path):
    data = rows()
    data[0]["no_pass"] = 1
    out = report(write_csv(tmp_path / "n.csv", data)).output
    assert ("Warning: Baseline: 1 sample(s) in which no scanner completed a "
            "pass") in out


def test_markdown(tmp_path):
    out = report(write_csv(tmp_path / "seed.csv", rows()), "--markdown").output
    assert "| median opavg (ms) | 0.174 | 0.009 | 0.0517x (0.0" in out
    assert "| Mann-Whitney p (opavg, two-sided) | | | 0.00058 |" in out
    assert "| p99 change | | | -94.8% |" in out
    assert "**Baseline:** simulated kernel, --lock mmap" in out
    assert out.count("```") == 6
    assert "**Verdict:** Patched is 19.3x faster" in out


@pytest.mark.parametrize("setup, message", [
    (lambda d: [write_csv(d / "m.csv", rows(locks=("mmap",)))],
     "no configuration was measured with both --lock mmap and --lock vma"),
    (lambda d: [write_csv(d / "a.csv", rows()),
                write_csv(d / "b.csv", rows(busyduration=5))],
     "share no configuration: busyduration 2 against 5"),
    (lambda d: [write_csv(d / "a.csv", rows())] * 3, "got 3"),
])
def test_what_cannot_be_reported_is_one_line(tmp_path, setup, message):
    result = report(*setup(tmp_path))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output


def test_a_busy_machine_is_said(tmp_path):
    out = report(write_csv(tmp_path / "quiet.csv", rows())).output
    assert "machine was busy" not in out
    out = report(write_csv(tmp_path / "busy.csv",
                           rows(procs_running=4, others_running=3,
                                loadavg1=3.5))).output
    assert max(map(len, out.splitlines())) <= WIDTH
    # The run's own tasks, still on their way out at the starts, are no
    # other work: an idle machine gets no warning in the block.
    idle = report(write_csv(tmp_path / "own.csv",
                            rows(procs_running=3, others_running=0))).output
    assert "machine was busy" not in idle
    assert ("Warning: the machine was busy: at the start of 14 of 14 "
            "samples, 3 other task(s) were runnable, with 0 CPU(s) to spare "
            "besides the run's 2 (1-min load average up to 3.50)") in \
        " ".join(out.split())


def test_every_command_that_added_samples_is_given(tmp_path):
    data = rows()
    for r in data:      # samples 5-7 of each design from a second run
        if r["sample"] > 4:
            r["command"] = "run-proc-vs-map --nsamples 4 --csv seed.csv"
    out = report(write_csv(tmp_path / "two-runs.csv", data)).output
    assert out.count("Execution command: ") == 2
    assert "Execution command: run-proc-vs-map --nsamples 4 --csv seed.csv" \
        in out


def why_rows():
    """mmap: the mapper waits 0.09 of its 0.1 ms per op (100000 + 100000
    ops, 18000 ms of waits), the readers hold 2000 x 0.5 = 1000 ms, 700 of
    it preempted; vma: no holder split known (NaN), waits of 0.001 ms."""
    out = rows()
    nan = "nan"     # as the results writer writes it
    for r in out:
        mmap = r["lock"] == "mmap"
        r.update(opavg_ms=0.1 if mmap else 0.01,
                 mapper_wait_ms=18000.0 if mmap else 200.0,
                 reader_mmap_locks=2000, reader_hold_avg_ms=0.5 if mmap else 0.001,
                 reader_hold_running_ms=250.0 if mmap else nan,
                 reader_hold_preempted_ms=700.0 if mmap else nan,
                 reader_hold_sleeping_ms=50.0 if mmap else nan)
    return out


def test_the_why_line_says_where_the_wait_and_the_holds_went(tmp_path):
    result = report(write_csv(tmp_path / "why.csv", why_rows()))
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert ("Why: Baseline: the mapper waited 0.09 of 0.1 ms per op; the readers "
            "held mmap_lock 1 s per sample, 70% of it preempted, 5% asleep") in text
    # Without the split, only what exists.
    assert ("Patched: the mapper waited 0.001 of 0.01 ms per op; the readers "
            "held mmap_lock 0.002 s per sample") in text
    assert "0.002 s per sample," not in text


def test_no_why_line_without_lock_figures(tmp_path):
    nan = "nan"
    result = report(write_csv(tmp_path / "nowhy.csv",
                              rows(mapper_wait_ms=nan, reader_hold_avg_ms=nan)))
    assert result.exit_code == 0, result.output
    assert "Why" not in result.output
