# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma torture: a clean run finds nothing while walking every design
and procfile and checking each walk for lost pages, each injected fault
is caught and fails the command, and Ctrl-C is never lost."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from procvma._core import ffi, lib
from procvma.sim.torture import make_config

PROCVMA = os.path.join(os.path.dirname(sys.executable), "procvma")


def torture(*args, timeout=60):
    return subprocess.run([PROCVMA, "torture", *args], capture_output=True,
                          text=True, timeout=timeout)


def figures(stdout):
    """The summary's "name: N" lines as ints."""
    return {k: int(v) for k, v in re.findall(r"(?m)^([a-z -]+): (\d+)$", stdout)}


def per_design(stdout, lock):
    line = re.search(rf"(?m)^walks {lock}: (.*)$", stdout).group(1)
    return {pf: int(n) for pf, n in (part.split() for part in line.split(", "))}


def test_clean_run_has_no_violations_and_checks_every_walk():
    r = torture("--duration", "3")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == "violations: 0"
    f = figures(r.stdout)
    for lock in ("mmap", "vma"):
        walks = per_design(r.stdout, lock)
        assert set(walks) == {"maps", "smaps", "smaps_rollup", "numa_maps"}
        assert all(n > 0 for n in walks.values()), walks
    assert f["walks"] > 0
    # Whether this run met a write-locked VMA (fallbacks) or a waiting
    # writer (drops) is up to the scheduler; tests/c/test_walk_paths.c
    # takes both paths on purpose.  Every walk is checked for lost pages.
    assert f["coverage checks"] == f["walks"]
    assert f["pages checked for coverage"] > 0
    assert f["exact-total checks"] > 0
    end = re.search(r"(?m)^vmas at end: (\d+) in tree \+ (\d+) free = (\d+) of (\d+)$",
                    r.stdout)
    assert end and int(end.group(3)) == int(end.group(4))


def test_several_writers_contend_without_violations():
    r = torture("--duration", "1.5", "--writers", "2", "--readers", "2",
                "--procfile", "smaps_rollup")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "violations: 0"
    assert "smaps_rollup" in r.stdout and "walks mmap: smaps_rollup " in r.stdout


def test_one_design_walks_only_that_design():
    r = torture("--duration", "0.5", "--lock", "vma", "--procfile", "maps")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "walks vma: maps " in r.stdout
    assert "walks mmap" not in r.stdout


def test_speculate_is_clean_on_maps_and_walks_nothing_else():
    r = torture("--duration", "2", "--lock", "speculate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "violations: 0"
    walks = per_design(r.stdout, "speculate")
    assert walks["maps"] > 0
    assert walks["smaps"] == walks["smaps_rollup"] == walks["numa_maps"] == 0
    f = figures(r.stdout)
    assert f["coverage checks"] == f["walks"] == walks["maps"]


@pytest.mark.parametrize("fault, lock", [
    ("no-resume-check", "both"), ("no-vma-lock", "both"), ("no-drain", "both"),
    ("skip-merged", "both"), ("no-speculate-retry", "speculate")])
def test_injected_fault_is_caught(fault, lock):
    r = torture("--duration", "10", "--inject", fault, "--lock", lock)
    assert r.returncode == 1, r.stdout + r.stderr
    f = figures(r.stdout)
    assert f["violations"] > 0
    assert r.stdout.splitlines()[-1] == f"violations: {f['violations']}"
    # The first few are shown, one line each, before the summary.
    assert re.search(r"(?m)^violation: \S", r.stdout)


def test_numa_maps_alone_is_clean_and_its_faults_caught():
    r = torture("--duration", "1", "--procfile", "numa_maps")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "violations: 0"
    assert "walks vma: numa_maps " in r.stdout
    # A reader that trusts an unlocked VMA sees it change under its walk.
    r = torture("--duration", "10", "--procfile", "numa_maps", "--lock", "vma",
                "--inject", "no-vma-lock", "--max-violations", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"(?m)^violation: vma/numa_maps: ", r.stdout)


def test_ctrl_c_before_the_run_starts_is_not_lost():
    # A Ctrl-C that lands after the CLI cleared the flag but before the C
    # run began must still stop the run: the flag is sticky.
    cfg = make_config(60, ["vma"], ["maps"])
    res = ffi.new("struct pv_torture_result *")
    lib.pv_torture_reset_stop()
    lib.pv_torture_stop()
    try:
        assert lib.pv_torture_run(cfg, res) == 0
    finally:
        lib.pv_torture_reset_stop()
    assert res.stopped_early and res.elapsed_s < 30
    assert res.violations == 0


@pytest.mark.parametrize("args, word", [
    (["--writers", "0"], "--writers"),
    (["--inject", "no-such-fault"], "--inject"),
    (["--duration", "-1"], "--duration"),
    (["--lock", "rcu"], "--lock"),
])
def test_bad_input_is_one_line_and_exit_2(args, word):
    r = torture(*args)
    assert r.returncode == 2
    assert r.stdout == ""
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and word in err[0] and "Traceback" not in r.stderr


def test_ctrl_c_stops_the_run_and_prints_what_it_checked():
    p = subprocess.Popen([PROCVMA, "torture", "--duration", "600"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The command's first line comes just before the run starts.
    assert p.stderr.readline().startswith("procvma torture: 600 s")
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 130, stderr
    assert stderr == "interrupted\n"
    assert stdout.splitlines()[-1] == "violations: 0"
    assert figures(stdout)["walks"] > 0
