# SPDX-License-Identifier: GPL-2.0-or-later
"""The kernel backend end to end: a real mapper process, real /proc reads.

These check what a user relies on (figures that make sense together, the
mapper never left behind, errors that say what is wrong), never timing.
"""

import contextlib
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from procvma.host import hostinfo

core = pytest.importorskip("procvma.run.core", reason="the C core is not built")

MAPPER_COMM = "procvma-kmapper"


def usable_cpus():
    return sorted(set(hostinfo.cpus_online()) & os.sched_getaffinity(0))


def params(**over):
    """One short sample: mapper and driver on the first CPU, the busy
    tasks on the last, a 32 MiB region."""
    cpus = usable_cpus()
    p = {
        "backend": "kernel",
        "procfile": "maps",
        "scanner": "read",
        "cpumapper": cpus[0],
        "cpuscript": cpus[0],
        "cpubusytasks": cpus[-1],
        "nbusycpus": 1,
        "nbusytasks": 1,
        "busyduration": 2,
        "duration": 1.0,
        "region_pages": 8192,
        "seed": 42,
    }
    p.update(over)
    return p


def our_mappers():
    """Mapper processes (zombies included) whose parent is this process."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if comm == MAPPER_COMM and ppid == os.getpid():
            found.append(int(pid))
    return found


@pytest.fixture(autouse=True)
def no_mapper_left():
    core.bench_reset_stop()
    yield
    core.bench_reset_stop()
    assert our_mappers() == [], "a mapper process outlived its sample"


def assert_sane_sample(s):
    assert s["err"] == 0, s["errmsg"]
    assert s["nmaps"] > 0 and s["nunmaps"] > 0
    assert 0 < s["opavg_ms"] <= s["opmax_ms"]
    assert 0 < s["p50_ms"] <= s["p90_ms"] <= s["p99_ms"] <= s["p999_ms"] <= s["opmax_ms"]
    # The mapper's unmaps split the region's one VMA.
    assert s["vmas"] > 1
    assert s["setup_s"] > 0


@pytest.mark.parametrize("procfile,scanner", [
    ("smaps_rollup", "read"),
    ("maps", "cat"),
])
def test_sample_shape(procfile, scanner):
    s = core.bench_run(params(procfile=procfile, scanner=scanner))
    assert_sane_sample(s)
    assert not s["hang"] and not s["interrupted"]
    assert s["walks"] > 0
    assert 0 < s["walk_avg_ms"] <= s["walk_max_ms"]


def scanner_loops():
    """The cat scanners' shell loops this process started: {pid: cmdline}."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == os.getpid() and cmdline[0] == b"bash":
            found[int(pid)] = cmdline
    return found


@contextlib.contextmanager
def sample_while_scanning(sample_params, nloops):
    """Run one kernel-backend sample in a thread and yield its scanners'
    shell loops ({pid: cmdline}) once nloops of them run (or after 1.2 s);
    then check that the sample ended sane, counted passes, and took its
    loops with it."""
    result = {}
    t = threading.Thread(target=lambda: result.update(core.bench_run(sample_params)))
    t.start()
    deadline = time.monotonic() + 1.2
    loops = {}
    while time.monotonic() < deadline and len(loops) < nloops:
        loops = scanner_loops()
        time.sleep(0.05)
    try:
        yield loops
    finally:
        t.join(20)
    assert_sane_sample(result)
    assert result["walks"] > 0
    assert 0 < result["walk_avg_ms"] <= result["walk_max_ms"]
    assert scanner_loops() == {}, "a scanner's shell loop outlived its sample"


def test_cat_scanner_is_the_references_shell_loop_placed_like_it():
    cpus = usable_cpus()
    with sample_while_scanning(params(procfile="smaps_rollup", scanner="cat",
                                      nbusytasks=2, duration=1.5), 2) as loops:
        # One bash loop per scanner, running cat on the mapper's file each
        # pass, on the busy CPU at nice 15 like scanpid.sh under taskset
        # and nice -n 15.
        assert len(loops) == 2, loops
        for pid, cmdline in loops.items():
            assert b"while cat" in cmdline[2] and cmdline[4].endswith(b"/smaps_rollup")
            assert os.sched_getaffinity(pid) == {cpus[-1]}
            assert os.getpriority(os.PRIO_PROCESS, pid) == 15


def test_no_scanners_means_no_walks():
    s = core.bench_run(params(nbusytasks=0))
    assert_sane_sample(s)
    assert s["walks"] == 0


def test_hang_keeps_the_sample():
    """With no grace after the expected end, the mapper is always late:
    the sample is marked hung and its figures are kept."""
    s = core.bench_run(params(duration=0.3, hang_timeout=0.0))
    assert s["hang"] == 1
    assert_sane_sample(s)


def test_stop_ends_the_sample_early():
    result = {}
    t = threading.Thread(target=lambda: result.update(
        core.bench_run(params(duration=30.0))))
    start = time.monotonic()
    t.start()
    time.sleep(0.7)
    core.bench_stop()
    t.join(10)
    assert not t.is_alive()
    assert time.monotonic() - start < 10
    assert result["interrupted"] == 1
    assert result["err"] == 0, result["errmsg"]


def test_unreadable_procfile_is_one_line_error():
    s = core.bench_run(params(procfile="task"))  # a directory
    assert s["err"] != 0
    assert "/task" in s["errmsg"] and "\n" not in s["errmsg"]
    assert s["nmaps"] == 0


def test_missing_mapper_executable():
    cfg = core.make_config(params())
    cfg.mapper_path = b"/nonexistent/procvma-kmapper"
    out = core.ffi.new("struct pv_sample *")
    assert core.lib.pv_bench_run(cfg, out) < 0
    s = core.sample_to_dict(out)
    assert s["err"] != 0
    assert "/nonexistent/procvma-kmapper" in s["errmsg"]


ENOMEM_SCRIPT = r"""
import json, resource, sys
from procvma.run import core
resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))
p = json.loads(sys.argv[1])
s = core.bench_run(p)
print(s["err"], s["errmsg"])
"""


def test_region_enomem_names_max_map_count():
    """A region the mapper cannot map (here: over its address-space
    limit) gives one line naming vm.max_map_count and its value."""
    p = params(region_pages=4 << 18)  # 4 GiB, twice the limit
    r = subprocess.run([sys.executable, "-c", ENOMEM_SCRIPT, json.dumps(p)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    err, msg = r.stdout.strip().split(" ", 1)
    assert int(err) == 12  # ENOMEM
    assert f"vm.max_map_count ({hostinfo.max_map_count()})" in msg


def test_cli_kernel_table():
    from procvma.cli import main as cli
    cpus = usable_cpus()
    r = CliRunner().invoke(cli.run_proc_vs_map, [
        "--backend", "kernel", "--nsamples", "1", "--duration", "1",
        "--busyduration", "2", "--procfile", "smaps_rollup", "--mb", "32",
        "--cpumapper", str(cpus[0]), "--cpuscript", str(cpus[0]),
        "--cpubusytasks", str(cpus[-1]), "--nbusycpus", "1"])
    assert r.exit_code == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert any(hostinfo.kernel_release() in line for line in lines)
    row = lines[-1].split()
    assert row[0] == "1"
    median, minimum, maximum = map(float, row[1:4])
    assert 0 < minimum <= median <= maximum


def test_cli_rejects_lock_with_kernel():
    from procvma.cli import main as cli
    r = CliRunner().invoke(cli.run_proc_vs_map, [
        "--backend", "kernel", "--lock", "mmap", "--duration", "1"])
    assert r.exit_code == 2
    assert "--lock" in r.stderr
