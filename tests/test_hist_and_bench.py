# SPDX-License-Identifier: GPL-2.0-or-later
"""The latency histogram and one simulated sample of the reference
experiment, driven through the C core's own entry points."""

import errno
import os
import shutil
import subprocess
import threading
import time

import pytest

from procvma._core import ffi, lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")

CPUS = sorted(os.sched_getaffinity(0))
REGION_PAGES = 32768  # the reference's 128 MiB


def test_hist_quantiles_match_exact_order_statistics(tmp_path):
    """tests/c/test_hist.c: every quantile within 1/64 of the exact one."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    exe = tmp_path / "test_hist"
    subprocess.run([cc, "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-I", CSRC, "-o", str(exe),
                    os.path.join(ROOT, "tests", "c", "test_hist.c"),
                    os.path.join(CSRC, "harness", "hist.c")], check=True)
    res = subprocess.run([str(exe)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def opstream(seed, n, region_pages=REGION_PAGES):
    pages = ffi.new("unsigned long[]", n)
    maps = ffi.new("int[]", n)
    lib.pv_bench_opstream(seed, region_pages, n, pages, maps)
    return list(pages), list(maps)


def test_op_stream_is_a_function_of_the_seed():
    a = opstream(7, 5000)
    assert opstream(7, 5000) == a
    assert opstream(8, 5000) != a
    # A longer stream starts with the shorter one: the mapper's first N
    # ops do not depend on how long it runs.
    pages, maps = opstream(7, 8000)
    assert (pages[:5000], maps[:5000]) == a


def test_op_stream_covers_the_region_and_flips_a_fair_coin():
    pages, maps = opstream(1, 20000, region_pages=100)
    assert set(pages) == set(range(100))
    assert 0.45 < sum(maps) / len(maps) < 0.55


def make_config(*, lock=lib.PV_LOCK_MMAP, procfile=lib.PV_PROC_SMAPS_ROLLUP,
                duration=1.0, nbusytasks=1, busyduration=2, cpumapper=None,
                cpubusy=None, region_pages=REGION_PAGES, max_map_count=0,
                seed=1):
    cfg = ffi.new("struct pv_bench_config *")
    cfg.backend = lib.PV_BACKEND_SIM
    cfg.lock = lock
    cfg.procfile = ffi.string(lib.pv_procfile_name(procfile))
    cfg.cpumapper = CPUS[0] if cpumapper is None else cpumapper
    cfg.cpuscript = CPUS[0]
    cfg.cpubusytasks = CPUS[-1] if cpubusy is None else cpubusy
    cfg.nbusycpus = 1
    cfg.nbusytasks = nbusytasks
    cfg.busyduration_ms = busyduration
    cfg.duration_s = duration
    cfg.hang_timeout_s = 5.0
    cfg.region_pages = region_pages
    cfg.seed = seed
    cfg.max_map_count = max_map_count
    return cfg


def run(cfg):
    out = ffi.new("struct pv_sample *")
    rc = lib.pv_bench_run(cfg, out)
    return rc, out


def errmsg(out):
    return ffi.string(out.errmsg).decode()


def assert_consistent(out):
    """What every finished sample promises, whatever the timing."""
    assert out.nmaps + out.nunmaps > 0
    assert 0 < out.p50_ms <= out.p90_ms <= out.p99_ms <= out.p999_ms <= out.opmax_ms
    assert 0 < out.opavg_ms <= out.opmax_ms
    assert out.hang == 0 and out.interrupted == 0
    assert 1 <= out.vmas <= REGION_PAGES // 2 + 1
    assert out.setup_s > 0


@pytest.mark.parametrize("lock", [lib.PV_LOCK_MMAP, lib.PV_LOCK_VMA],
                         ids=["mmap", "vma"])
def test_sample_with_a_scanner(lock):
    rc, out = run(make_config(lock=lock, duration=1.0))
    assert rc == 0, errmsg(out)
    assert_consistent(out)
    assert out.nfailed == 0
    assert out.walks > 0
    assert 0 < out.walk_avg_ms <= out.walk_max_ms


@pytest.mark.parametrize("procfile", [lib.PV_PROC_MAPS, lib.PV_PROC_SMAPS],
                         ids=["maps", "smaps"])
def test_sample_reads_every_procfile(procfile):
    rc, out = run(make_config(lock=lib.PV_LOCK_VMA, procfile=procfile,
                              duration=0.5))
    assert rc == 0, errmsg(out)
    assert_consistent(out)
    assert out.walks > 0


def test_scanners_have_read_the_file_through_before_the_mapper_starts():
    # The reference starts its scanners a second before anything else, so
    # one is in the middle of a pass when the mapper makes its first call.
    # A pass made to cost 0.3 s of CPU shows that the sample's set-up
    # (which ends when the mapper starts) waited for one whole pass.
    cfg = make_config(duration=0.1, busyduration=0)
    cfg.scanner = lib.PV_SCANNER_READ
    cfg.pass_cost_ns = 0.3e9
    rc, out = run(cfg)
    assert rc == 0, errmsg(out)
    assert out.setup_s >= 0.3


def test_sample_without_busy_tasks_walks_nothing():
    rc, out = run(make_config(nbusytasks=0, duration=0.3))
    assert rc == 0, errmsg(out)
    assert_consistent(out)
    assert out.walks == 0 and out.walk_max_ms == 0


def test_max_map_count_makes_ops_fail_not_the_sample():
    rc, out = run(make_config(nbusytasks=0, duration=0.3, region_pages=64,
                              max_map_count=3))
    assert rc == 0, errmsg(out)
    assert out.nfailed > 0
    assert out.vmas <= 3


@pytest.mark.parametrize("role", ["mapper", "busy"])
def test_an_absent_cpu_is_an_error_naming_it(role):
    cpu = max(os.cpu_count() or 1, CPUS[-1] + 1) + 3
    if role == "mapper":
        cfg = make_config(cpumapper=cpu, duration=0.2)
    else:
        cfg = make_config(cpubusy=cpu, duration=0.2)
    rc, out = run(cfg)
    assert rc == -errno.EINVAL and out.err == errno.EINVAL
    assert f"CPU {cpu}" in errmsg(out)
    assert out.nmaps + out.nunmaps == 0


def test_stop_ends_the_sample_early_and_keeps_its_figures():
    timer = threading.Timer(0.3, lib.pv_bench_stop)
    try:
        start = time.monotonic()
        timer.start()
        rc, out = run(make_config(duration=30.0))
        took = time.monotonic() - start
        assert rc == 0, errmsg(out)
        assert out.interrupted == 1
        assert took < 10
        assert out.nmaps + out.nunmaps > 0
        assert out.opavg_ms <= out.opmax_ms
        # The request sticks until reset, so a Ctrl-C between two samples
        # is not lost: the next one does not start.
        rc, out = run(make_config(duration=30.0))
        assert rc == 0 and out.interrupted == 1
        assert out.nmaps + out.nunmaps == 0
    finally:
        timer.cancel()
        lib.pv_bench_reset_stop()
    rc, out = run(make_config(nbusytasks=0, duration=0.2))
    assert rc == 0 and out.interrupted == 0


def test_bad_config_is_an_error_not_a_crash():
    cfg = make_config(duration=0.2)
    cfg.procfile = b"status"       # a /proc/PID file the simulator does not have
    rc, out = run(cfg)
    assert rc == -errno.EINVAL and "procfile" in errmsg(out)
    cfg = make_config(duration=0.2)
    cfg.region_pages = 0
    rc, out = run(cfg)
    assert rc == -errno.EINVAL and "page" in errmsg(out)


def test_a_thread_already_registered_with_rcu_can_drive_a_sample():
    """The Python thread that built a simulated mm for `procvma show` stays
    registered with RCU; driving a sample from it must not register it a
    second time (liburcu aborts) nor unregister it behind its back."""
    lib.pv_rcu_register_thread()
    try:
        rc, out = run(make_config(nbusytasks=0, duration=0.2))
        assert rc == 0, errmsg(out)
        # Still registered: building and freeing an mm needs it.
        mm = lib.pv_mm_create(64, 1)
        assert mm != ffi.NULL
        assert lib.pv_munmap(mm, 10, 1) == 0
        assert lib.pv_mm_map_count(mm) == 2
        lib.pv_mm_destroy(mm)
    finally:
        lib.pv_rcu_unregister_thread()
