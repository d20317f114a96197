# SPDX-License-Identifier: GPL-2.0-or-later
"""The workloads beyond cat on a 128 MiB region: PROCMAP_QUERY readers
(symbolizers), fragmented address spaces (--holes), on both backends."""

import errno
import os
import random

import pytest
from click.testing import CliRunner

from procvma.cli import main as cli
from procvma.host import hostinfo

core = pytest.importorskip("procvma.run.core", reason="the C core is not built")

from procvma.sim.simmm import PAGE_SIZE, SimMM, spread_holes, with_holes  # noqa: E402

lib, ffi = core.lib, core.ffi
CPUS = sorted(set(hostinfo.cpus_online()) & os.sched_getaffinity(0))
HAVE_QUERY, WHY_NOT = hostinfo.procmap_query()
needs_query = pytest.mark.skipif(not HAVE_QUERY,
                                 reason=f"no PROCMAP_QUERY here: {WHY_NOT}")


def params(**over):
    """One short sample, 1 s: mapper and driver on the first CPU, the
    busy tasks on the last, a 32 MiB region."""
    p = {
        "backend": "sim", "lock": "vma", "procfile": "maps", "scanner": "query",
        "cpumapper": CPUS[0], "cpuscript": CPUS[0], "cpubusytasks": CPUS[-1],
        "nbusycpus": 1, "nbusytasks": 1, "busyduration": 2, "duration": 1.0,
        "region_pages": 8192, "seed": 42, "holes": 0,
        "op_cost_ns": 0, "walk_cost_ns": 0, "pass_cost_ns": 0,
    }
    p.update(over)
    return p


def run(**over):
    s = core.bench_run(params(**over))
    assert s["err"] == 0, s["errmsg"]
    assert s["nmaps"] > 0 and s["nunmaps"] > 0
    return s


# ---- PROCMAP_QUERY on the simulated mm -----------------------------------

@pytest.mark.parametrize("lock", ["mmap", "vma"])
def test_a_symbolizers_walk_finds_what_maps_lists(lock):
    with with_holes(4096, 700, seed=9) as mm:
        vmas, addr, stats = [], 0, {}
        while (vma := mm.query(addr, lock, stats=stats)) is not None:
            vmas.append(((vma["vma_start"] - mm.start) // PAGE_SIZE,
                         (vma["vma_end"] - mm.start) // PAGE_SIZE))
            assert vma["vma_flags"] == 0x3          # readable | writable
            assert vma["vma_page_size"] == PAGE_SIZE
            assert vma["vma_offset"] == vma["inode"] == vma["vma_name_size"] == 0
            addr = vma["vma_end"]
        assert vmas == mm.vmas(lock)
        # One query per VMA and one more that found nothing; on a quiet mm
        # the per-VMA design never needs mmap_lock.
        assert stats["reads"] == len(vmas) + 1 and stats["vmas"] == len(vmas)
        assert stats["fallbacks"] == 0
        n = lib.pv_procmap_query_walk(mm._mm, lib.PV_LOCK_VMA if lock == "vma"
                                      else lib.PV_LOCK_MMAP, ffi.NULL)
        assert n == len(vmas) == mm.map_count


def test_query_without_next_wants_a_covering_vma():
    with SimMM(10) as mm:
        mm.munmap(3)
        assert mm.query(mm.addr(3), next_vma=False) is None
        assert mm.query(mm.addr(3))["vma_start"] == mm.addr(4)
        assert mm.query(mm.addr(2), next_vma=False)["vma_end"] == mm.addr(3)
        assert mm.query(mm.addr(10)) is None


def raw_query(mm, **fields):
    q = ffi.new("struct pv_procmap_query *")
    q.size = ffi.sizeof("struct pv_procmap_query")
    for k, v in fields.items():
        setattr(q, k, v)
    return lib.pv_procmap_query(mm._mm, lib.PV_LOCK_VMA, q, ffi.NULL), q


def test_query_flags_filter_as_the_kernels_do():
    with SimMM(16) as mm:
        start = mm.addr(0)
        covering_or_next = lib.PV_PROCMAP_QUERY_COVERING_OR_NEXT_VMA
        # Anonymous, private, rw-: no match for exec, shared or file-backed.
        for flag in (lib.PV_PROCMAP_QUERY_VMA_EXECUTABLE,
                     lib.PV_PROCMAP_QUERY_VMA_SHARED,
                     lib.PV_PROCMAP_QUERY_FILE_BACKED_VMA):
            rc, _ = raw_query(mm, query_addr=start,
                              query_flags=flag | covering_or_next)
            assert rc == -errno.ENOENT
        rc, q = raw_query(mm, query_addr=start, query_flags=(
            lib.PV_PROCMAP_QUERY_VMA_READABLE | lib.PV_PROCMAP_QUERY_VMA_WRITABLE))
        assert rc == 0 and q.vma_start == start
        # The checks do_procmap_query() makes before any lock.
        assert raw_query(mm, query_flags=0x40)[0] == -errno.EINVAL
        assert raw_query(mm, query_flags=covering_or_next, vma_name_size=16)[0] \
            == -errno.EINVAL
        rc, _ = raw_query(mm, size=8)
        assert rc == -errno.EINVAL


# ---- where the holes go --------------------------------------------------

def test_holes_spread_evenly_leave_k_plus_one_vmas():
    rng = random.Random(5)
    for _ in range(20):
        pages = rng.randrange(3, 5000)
        k = rng.randrange(0, pages // 3 + 1)
        holes = spread_holes(pages, k, seed=rng.randrange(1 << 32))
        assert holes == sorted(set(holes)) and len(holes) == k
        # Never at an end, never next to another: K+1 VMAs.
        assert all(0 < h < pages - 1 for h in holes)
        assert all(b - a >= 2 for a, b in zip(holes, holes[1:]))
        # One per equal stretch of the region.
        assert all(i * pages // k <= h < (i + 1) * pages // k
                   for i, h in enumerate(holes))
    with pytest.raises(ValueError, match="at most 3"):
        spread_holes(10, 4, seed=1)


def test_holes_depend_on_the_seed_only_within_their_stretch():
    a, b = spread_holes(30000, 1000, 1), spread_holes(30000, 1000, 2)
    assert a != b
    assert [h // 30 for h in a] == [h // 30 for h in b] == list(range(1000))


# ---- the benchmark, simulated ----------------------------------------------

def test_query_scanner_stalls_the_mapper_more_under_mmap_lock():
    """One run, both designs, the same op stream: the ratio alone counts,
    with a wide margin (it is about 10 on an idle 2-CPU machine)."""
    mmap = run(lock="mmap", busyduration=2)
    vma = run(lock="vma", busyduration=2)
    for s in (mmap, vma):
        assert s["walks"] > 0 and s["vmas"] > 1
    assert mmap["fallbacks"] == 0
    assert mmap["opavg_ms"] > 2 * vma["opavg_ms"], (mmap["opavg_ms"], vma["opavg_ms"])


@pytest.mark.parametrize("scanner,procfile", [("query", "maps"),
                                              ("read", "smaps_rollup")])
def test_holes_start_the_region_fragmented(scanner, procfile):
    s = run(region_pages=32768, holes=5000, scanner=scanner, procfile=procfile,
            duration=0.5)
    assert s["vmas"] >= 5000 and s["walks"] > 0


def test_query_scanner_reads_maps_only():
    s = core.bench_run(params(procfile="smaps"))
    assert s["err"] == errno.EINVAL and "maps only" in s["errmsg"]


# ---- the benchmark on this machine's kernel ---------------------------------

@needs_query
def test_kernel_query_scanner_walks_the_mappers_vmas():
    s = run(backend="kernel", holes=1000)
    # The region's VMAs alone, not the mapper's program and libraries.
    assert 1000 <= s["vmas"] <= 1000 + 8192 // 2
    assert s["walks"] > 0 and s["walk_avg_ms"] > 0


def test_kernel_holes_and_region_vmas():
    s = run(backend="kernel", scanner="read", region_pages=32768, holes=5000,
            duration=0.5)
    assert 5000 <= s["vmas"] <= 5001 + s["nunmaps"]


def test_kernel_vmas_counts_the_region_only():
    s = run(backend="kernel", scanner="read", nbusytasks=0, duration=0.2)
    # A quiet start is one VMA; 0.2 s of churn splits it at most once per unmap.
    assert 1 <= s["vmas"] <= 1 + s["nunmaps"]


# ---- what a user types ---------------------------------------------------

def invoke(*args):
    return CliRunner().invoke(cli.run_proc_vs_map, list(args))


@pytest.mark.parametrize("args, what", [
    (["--scanner", "query", "--procfile", "smaps_rollup"], "--procfile maps"),
    (["--scanner", "query", "--backend", "kernel", "--procfile", "status"],
     "--procfile maps"),
    (["--holes", "20000", "--mb", "64"], "--holes 20000"),
    (["--holes", "-1"], "--holes"),
])
def test_bad_workloads_are_one_line_errors(args, what):
    r = invoke(*args)
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and what in r.stderr


def test_a_kernel_without_procmap_query_is_refused_up_front(monkeypatch):
    # What the probe says on a kernel before 6.11: an ioctl the file lacks.
    supported, why = hostinfo.procmap_query("/proc/self/status")
    assert not supported and "no such ioctl" in why
    monkeypatch.setattr(hostinfo, "procmap_query", lambda: (supported, why))
    r = invoke("--backend", "kernel", "--scanner", "query", "--procfile", "maps")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert "PROCMAP_QUERY" in r.stderr and "no such ioctl" in r.stderr


# ---- how the stall grows: sweep over sizes and holes ---------------------

def test_sweep_takes_lists_of_sizes_and_holes(tmp_path):
    from procvma.cli.sweep import sweep_cmd
    out = tmp_path / "grow.csv"
    r = CliRunner().invoke(sweep_cmd, [
        "--mb", "4,8", "--holes", "0,50", "--busyduration", "2", "--lock", "vma",
        "--nsamples", "1", "--duration", "0.2", "--op-cost-ns", "0",
        "--cpumapper", str(CPUS[0]), "--cpuscript", str(CPUS[0]),
        "--cpubusytasks", str(CPUS[-1]), "--nbusycpus", "1", "--csv", str(out)])
    assert r.exit_code == 0, r.stderr
    titles = [line for line in r.stdout.splitlines() if line.startswith("Point ")]
    assert [t.split(" -- ")[0].split(": ", 1)[1].split()[2:6] for t in titles] == [
        ["--mb", "4", "--holes", "0"], ["--mb", "4", "--holes", "50"],
        ["--mb", "8", "--holes", "0"], ["--mb", "8", "--holes", "50"]]
    import csv
    rows = list(csv.DictReader(open(out)))
    assert [(r["region_pages"], r["holes"]) for r in rows] == [
        ("1024", "0"), ("1024", "50"), ("2048", "0"), ("2048", "50")]
    assert all(int(r["vmas"]) >= int(r["holes"]) for r in rows)


@pytest.mark.parametrize("args, what", [
    (["--gb", "1", "--mb", "2"], "not both"),
    (["--mb", "1", "--holes", "0,100"], "--holes 100"),
    (["--gb", "1,1000000"], "--gb 1000000"),
])
def test_sweep_checks_every_point_first(args, what):
    r = CliRunner().invoke(cli.main, ["sweep", *args])
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and what in r.stderr
    assert "Point" not in r.stdout


def test_fidelity_takes_holes_and_checks_them():
    r = CliRunner().invoke(cli.main, ["fidelity", "--holes", "100000", "--mb", "64"])
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and "--holes 100000" in r.stderr
