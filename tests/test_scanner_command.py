# SPDX-License-Identifier: GPL-2.0-or-later
"""--scanner-command: the user's own reader as the kernel backend's
scanner, run per pass where the reference's scanners run, its failures
one line naming it, its passes counted only when a sample holds them."""

import csv
import os
import re
import subprocess
import sys
import time

import pytest
from conftest import invoke
from test_kernel_backend import (  # noqa: F401
    assert_sane_sample, core, no_mapper_left, params, sample_while_scanning, usable_cpus
)

RUN = os.path.join(os.path.dirname(sys.executable), "run-proc-vs-map")


def command_params(command, **over):
    return params(scanner="custom", scanner_command=command, **over)


def running(argv):
    """Processes whose command line is argv."""
    want = b"\0".join(a.encode() for a in argv) + b"\0"
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read() == want:
                    found.append(int(pid))
        except OSError:
            continue
    return found


def test_command_runs_per_pass_in_the_references_loop_placed_like_it():
    cpus = usable_cpus()
    with sample_while_scanning(command_params(
            "cat /proc/{pid}/maps > /dev/null", duration=1.5), 1) as loops:
        assert len(loops) == 1, loops
        (pid, cmdline), = loops.items()
        # {pid} is the mapper's: the command reads the mapper's maps.
        assert b"eval" in cmdline[2]
        assert re.fullmatch(rb"cat /proc/\d+/maps > /dev/null", cmdline[4]), cmdline
        assert os.sched_getaffinity(pid) == {cpus[-1]}
        assert os.getpriority(os.PRIO_PROCESS, pid) == 15


def test_failing_command_is_one_line_naming_it():
    s = core.bench_run(command_params("cat /proc/{pid}/no_such_file"))
    assert s["err"] != 0
    assert re.fullmatch(r"scanner command 'cat /proc/\d+/no_such_file' exited "
                        r"with status 1", s["errmsg"]), s["errmsg"]
    s = core.bench_run(command_params("no-such-program-procvma {pid}"))
    assert s["errmsg"].endswith("exited with status 127 (command not found)")


def test_a_pass_counts_only_when_the_sample_holds_all_of_it():
    # Passes of 0.3 s or more in a 1 s sample: at most 3 begin and end
    # inside it; the one under way at the start began before it.
    s = core.bench_run(command_params("sleep 0.3; cat /proc/{pid}/maps",
                                      duration=1.0))
    assert_sane_sample(s)
    assert 1 <= s["walks"] <= 3
    assert s["walk_avg_ms"] >= 300


def test_command_that_never_finishes_a_pass_is_no_pass_and_is_stopped():
    from procvma.run import runner

    # The first pass is waited for up to the hang timeout, then the sample runs.
    row = runner.run_sample(core, command_params("sleep 61.25 # {pid}", duration=0.5,
                                                 hang_timeout=1.0), 1, 1)
    assert row["walks"] == 0 and row["no_pass"] == 1
    assert running(["sleep", "61.25"]) == [], "the command outlived its sample"


def test_cli_records_the_command_and_titles_the_table_with_it(tmp_path):
    path = tmp_path / "cmd.csv"
    r = subprocess.run([RUN, "--backend", "kernel", "--procfile", "maps",
                        "--scanner-command", "cat /proc/{pid}/maps",
                        "--nsamples", "1", "--duration", "1", "--busyduration", "2",
                        "-q", "--csv", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "--scanner-command 'cat /proc/{pid}/maps'" in r.stdout.splitlines()[1]
    rows = list(csv.DictReader(open(path)))
    assert [(row["scanner"], row["scanner_command"]) for row in rows] == [
        ("custom", "cat /proc/{pid}/maps")]


def test_a_later_failure_keeps_the_samples_measured(tmp_path):
    flag, path = tmp_path / "flag", tmp_path / "run.csv"
    p = subprocess.Popen([RUN, "--backend", "kernel", "--scanner-command",
                          f"[ ! -e {flag} ] && cat /proc/{{pid}}/maps",
                          "--nsamples", "3", "--duration", "1", "--busyduration", "2",
                          "-q", "--csv", str(path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and p.poll() is None:
        if path.exists() and len(path.read_text().splitlines()) >= 2:
            flag.touch()        # sample 1 is in; its command fails from now on
            break
        time.sleep(0.02)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1, err
    assert re.search(r"(?m)^run-proc-vs-map: error: --backend kernel, sample 2: "
                     r"scanner command '\[ ! -e .*flag \] && cat /proc/\d+/maps' "
                     r"exited with status 1$", err), err
    assert len(list(csv.DictReader(open(path)))) == 1
    assert "#Busy" in out


@pytest.mark.parametrize("args, message", [
    (["--scanner-command", "cat /proc/{pid}/maps"], "use it with --backend kernel"),
    (["--backend", "kernel", "--scanner", "read", "--scanner-command", "cat"],
     "--scanner-command replaces --scanner"),
    (["--backend", "kernel", "--scanner-command", " "], "the command is empty"),
    (["--backend", "kernel", "--scanner-command", "x" * 1024], "longer than 1023 bytes"),
])
def test_misuse_is_one_line(args, message):
    from procvma.cli.main import run_proc_vs_map

    r = invoke(run_proc_vs_map, *args)
    assert r.exit_code == 2
    assert message in r.output and r.output.count("\n") == 1, r.output
