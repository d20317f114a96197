# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma report: the cover-letter block, in the seed's form, on
hand-made results files whose figures are known."""

import pytest
from conftest import invoke
from test_compare_gate import sample_rows, write_csv

from procvma.cli.report import report_cmd
from procvma.results.report_text import WIDTH

COMMAND = ("run-proc-vs-map --nsamples 20 --duration 5 --busyduration 2 "
           "--procfile smaps_rollup --csv /var/tmp/a-rather-long-name/seed.csv")


def rows(locks=("mmap", "vma"), **over):
    out = sample_rows(nsamples=7, procfiles=("smaps_rollup",), locks=locks)
    for r in out:
        r.update(dict(command=COMMAND, cpus_online="0-1", loadavg1=0.5,
                      preempt="full", label="-",
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
    # Without --csv PATH: where the output went is no part of the
    # experiment.
    assert " ".join(ln.rstrip(" \\").strip() for ln in lines[:2]) == \
        "Execution command: " + COMMAND.split(" --csv")[0]
    assert "--csv" not in out
    assert "Kernel:  simulated (procvma 0.1.0) on Linux 6.18.0" in out
    assert "CPU:     Test CPU, 2 CPUs online (0-1)" in out
    assert "Layout:  mapper on CPU 0, driver on CPU 0; 1 busy CPU (1)" in out
    assert "Preempt: full (the simulated kernel's)" in out
    assert "Label:   none (run-proc-vs-map --label NAME names a run)" in out
    # The rawdata blocks as the reference prints them: the median, then
    # the sorted opavg and opmax columns.
    # the sorted opavg and opmax columns, headed, and a line saying that
    # each column is sorted on its own.
    assert "each sorted on its own, so that a row is not one sample" in \
        " ".join(out.split())
    base = lines.index("Baseline: simulated, --lock mmap, /proc "
                       "walk under mmap_lock")
    assert lines[base + 1] == ""
    assert lines[base + 2].split() == ["median", "opavg", "opmax"]
    assert lines[base + 3] == "    0.174     0.164     4.888"
    patched = [i for i, ln in enumerate(lines) if ln.startswith("Patched:")]
    assert len(patched) == 1
    assert lines[patched[0] + 3] == "    0.009     0.008     3.008"
    assert "median opavg (ms)      0.174     0.009" in out
    # One direction throughout, the verdict's: Patched is faster, so
    # every ratio is Baseline/Patched.
    assert "Patched against Baseline, as Baseline/Patched (95% CI):" in out
    assert "  median opavg     19.3x (" in out
    assert "0.0517x" not in out
    assert "Mann-Whitney U on opavg, two-sided: p = 0.00058" in out
    assert "p99 change: -94.8% (median p99 0.696 -> 0.036 ms)" in out
    assert "Rule:    the 95% CI and the Mann-Whitney p decide" in out
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
    # Slower: every ratio Patched/Baseline, as the verdict reads.
    assert "Patched against Baseline, as Patched/Baseline (95% CI):" in out
    assert "  median opavg     2.00x (" in out
    # Only the kernel differs, as an A/B of kernels should.
    assert ("Warning: Baseline and Patched ran on different machines "
            "(kernel 6.18.0 -> 6.19.0): as an A/B of kernels should") in \
        " ".join(out.split())
    assert "CPU model" not in out


def test_a_second_file_from_another_cpu_model_is_warned_of(tmp_path):
    a = write_csv(tmp_path / "a.csv", rows())
    b = write_csv(tmp_path / "b.csv", rows(cpu_model="Other CPU"))
    out = " ".join(report(a, b).output.split())
    assert ("Warning: Baseline and Patched ran on different machines (CPU "
            "model Test CPU -> Other CPU): the difference in the figures is "
            "the machine's as much as the change's") in out
    assert "CPU: Test CPU, 2 CPUs online (0-1) -> Other CPU, 2 CPUs" in out
    same = report(a, write_csv(tmp_path / "c.csv", rows())).output
    assert "different machines" not in same


def test_hung_samples_are_counted_and_left_out(tmp_path):
    data = rows()
    for r in data[:2]:
        r.update(hang=1, opavg_ms=40.0)
    path = write_csv(tmp_path / "h.csv", data)
    out = report(path).output
    assert "Baseline 2, Patched 0 hung; left out (--include-hangs keeps" \
        in " ".join(out.split())
    assert "5 Baseline and 7 Patched samples" in " ".join(out.split())
    assert "40.000" not in out
    out = report(path, "--include-hangs").output
    assert "7 Baseline and 7 Patched samples" in " ".join(out.split())
    assert "40.000" in out


def test_samples_without_a_scanner_pass_are_flagged(tmp_path):
    data = rows()
    data[0]["no_pass"] = 1
    out = report(write_csv(tmp_path / "n.csv", data)).output
    assert ("Warning: Baseline: 1 sample(s) in which no scanner completed a "
            "pass") in out


def test_markdown(tmp_path):
    out = report(write_csv(tmp_path / "seed.csv", rows()), "--markdown").output
    assert "| median opavg (ms) | 0.174 | 0.009 |" in out
    assert "| Patched against Baseline | Baseline/Patched (95% CI) |" in out
    assert "| median opavg | 19.3x (" in out
    assert "| Mann-Whitney p (opavg, two-sided) | 0.00058 |" in out
    assert "| p99 change | -94.8% |" in out
    assert "**Baseline:** simulated, --lock mmap" in out
    assert "| Preempt | full (the simulated kernel's) |" in out
    assert out.count("```") == 6
    assert "**Verdict:** Patched is 19.3x faster" in out


@pytest.mark.parametrize("setup, message", [
    (lambda d: [write_csv(d / "m.csv", rows(locks=("mmap",)))],
     "no configuration was measured with --lock mmap and another design"),
    (lambda d: [write_csv(d / "a.csv", rows()),
                write_csv(d / "b.csv", rows(busyduration=5))],
     "share no configuration: busyduration 2 against 5"),
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
    assert "Execution command: run-proc-vs-map --nsamples 4\n" in out


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
    assert ("Why: Baseline: the mapper waited 0.090 of 0.100 ms per op; the "
            "readers held mmap_lock 1000.000 ms per sample, 70% of it "
            "preempted, 5% asleep") in text
    # Without the split, only what exists.
    assert ("Patched: the mapper waited 0.001 of 0.010 ms per op; the readers "
            "held mmap_lock 2.000 ms per sample") in text
    assert "2.000 ms per sample," not in text


def test_no_why_line_without_lock_figures(tmp_path):
    nan = "nan"
    result = report(write_csv(tmp_path / "nowhy.csv",
                              rows(mapper_wait_ms=nan, reader_hold_avg_ms=nan)))
    assert result.exit_code == 0, result.output
    assert "Why" not in result.output


def test_the_label_is_in_the_header(tmp_path):
    out = report(write_csv(tmp_path / "l.csv", rows(label="v6.18+fix"))).output
    assert "Label:   v6.18+fix" in out
    a = write_csv(tmp_path / "a.csv", rows(label="before"))
    b = write_csv(tmp_path / "b.csv", rows(label="after"))
    out = report(a, b).output
    assert "Label:   before -> after" in out
    # Two files with one kernel release: the label tells the blocks apart.
    assert "[before]" in out and "[after]" in out


def three_designs(tmp_path, **over):
    data = rows(**over)
    third = [dict(r, lock="third", opavg_ms=r["opavg_ms"] * 4)
             for r in data if r["lock"] == "vma"]
    return write_csv(tmp_path / "three.csv", data + third)


def test_every_design_is_reported_against_the_baseline(tmp_path):
    path = three_designs(tmp_path)
    out = report(path).output
    assert max(map(len, out.splitlines())) <= WIDTH
    # A rawdata block and a verdict per design, named by its word.
    for name in ("Baseline:", "vma:", "third:"):
        assert sum(ln.startswith(name) for ln in out.splitlines()) == 1, name
    assert "vma against Baseline, as Baseline/vma (95% CI):" in out
    assert "third against Baseline, as Baseline/third (95% CI):" in out
    assert "Verdict: vma is 19.3x faster" in out
    assert "Verdict: third is 4.83x faster" in out
    # Another baseline: the rest against it.
    out = report(path, "--baseline", "vma").output
    assert "Baseline: simulated, --lock vma" in out
    assert "Verdict: third is 4.00x slower" in " ".join(out.split())
    assert "mmap against Baseline, as Baseline/mmap (95% CI):" not in out


def test_three_files_the_first_is_the_baseline(tmp_path):
    a = write_csv(tmp_path / "a.csv", rows())
    b = write_csv(tmp_path / "b.csv", [dict(r, opavg_ms=r["opavg_ms"] * 2)
                                      for r in rows()])
    result = report(a, b, a)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "Verdict: File 2 is 2.00x slower in median opavg" in out
    assert "Verdict: File 3 is" not in out and "File 3" in out


def test_json_has_the_text_figures_and_verdicts(tmp_path):
    import json

    from procvma.results.fmt import fmt_ms, fmt_ratio
    path = three_designs(tmp_path, label="mine")
    text = report(path).output
    result = report(path, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    (section,) = doc["sections"]
    assert section["preempt"] == "full (the simulated kernel's)"
    assert section["label"] == "mine"
    assert section["baseline"]["name"] == "Baseline"
    assert fmt_ms(section["baseline"]["median_opavg_ms"]) == "0.174"
    assert [s["name"] for s in section["against"]] == ["vma", "third"]
    flat = " ".join(text.split())
    for side in section["against"]:
        v = side["against_baseline"]
        assert f"Verdict: {v['verdict']}" in flat
        assert f"as {v['direction']} (95% CI)" in flat
        assert f"median opavg {fmt_ratio(v['opavg_ratio'])} (" in flat
        assert v["rule"] == "fixed-n interval"
        assert v["outcome"] == "faster"
    assert fmt_ms(section["against"][0]["median_opavg_ms"]) == "0.009"


def test_output_only_options_leave_the_command_line():
    from procvma.results.report import shown_command
    assert shown_command("run-proc-vs-map --csv /tmp/x.csv -q --nsamples 3") \
        == "run-proc-vs-map --nsamples 3"
    assert shown_command("procvma sweep --csv=/a --quiet --lock mmap") \
        == "procvma sweep --lock mmap"


def test_an_auto_run_is_decided_by_the_confidence_sequence(tmp_path):
    import json
    auto = COMMAND.replace("--nsamples 20", "--nsamples auto")
    data = rows(command=auto)
    path = write_csv(tmp_path / "auto.csv", data)
    out = " ".join(report(path).output.split())
    assert "Rule: the confidence sequence decides: the run chose when to stop" \
        in out
    # Too few samples for the sequence to have a lower end: no verdict
    # either way, and the ratio of the medians in the direction the
    # tables use.
    assert ("Verdict: no clear change in median opavg (Baseline/Patched "
            "19.3x, the 95% confidence sequence is unbounded below") in out
    doc = json.loads(report(path, "--json").output)
    v = doc["sections"][0]["against"][0]["against_baseline"]
    assert (v["rule"], v["outcome"]) == ("confidence sequence", "no change")
    assert f"Verdict: {v['verdict']}" in out
