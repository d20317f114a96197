# SPDX-License-Identifier: GPL-2.0-or-later
"""The simulated /proc/PID/numa_maps: show_numa_map()'s counting rules on
hand-built layouts, both designs agreeing, and the text field by field
against this machine's kernel for the same layout."""

import os
import subprocess
import sys
import textwrap

import pytest

from procvma.sim.simmm import SimMM, spread_holes, with_holes, with_spread_holes


def lines(mm, lock="vma"):
    return mm.read("numa_maps", lock).splitlines()


@pytest.mark.parametrize("lock", ["mmap", "vma"])
def test_lines_are_the_kernels(holes, lock):
    # A freshly populated anonymous VMA: every page anon and dirty, on the
    # inactive list (active=0 shown because it is below the page count),
    # all on node 0; mapped= left out because it would repeat anon=.
    assert holes.read("numa_maps", lock) == (
        "7f2a40000000 default anon=3 dirty=3 active=0 N0=3 kernelpagesize_kB=4\n"
        "7f2a40004000 default anon=2 dirty=2 active=0 N0=2 kernelpagesize_kB=4\n"
        "7f2a40007000 default anon=3 dirty=3 active=0 N0=3 kernelpagesize_kB=4\n"
    )


def test_counts_follow_the_pages_state(holes):
    holes.set_page(0, mapcount=3, dirty=False)    # shared with 2 other mms, clean
    holes.set_page(1, mapcount=2)
    for page in (4, 5):
        holes.set_active(page)
    holes.set_active(7)
    holes.swap_out(9)                               # no page in memory: not counted
    assert lines(holes) == [
        "7f2a40000000 default anon=3 dirty=2 mapmax=3 active=0 N0=3 kernelpagesize_kB=4",
        # every page active: active= is left out
        "7f2a40004000 default anon=2 dirty=2 N0=2 kernelpagesize_kB=4",
        "7f2a40007000 default anon=2 dirty=2 active=1 N0=2 kernelpagesize_kB=4",
    ]
    holes.set_active(7, False)
    assert lines(holes)[2].split()[4] == "active=0"


def test_a_vma_without_pages_in_memory_is_its_address_and_policy():
    with SimMM(3) as mm:
        for page in range(3):
            mm.swap_out(page)
        assert mm.read("numa_maps") == "7f2a40000000 default\n"


def test_set_page_keeps_the_lru_list():
    with SimMM(1) as mm:
        mm.set_active(0)
        mm.set_page(0, mapcount=1, dirty=False)
        assert lines(mm) == ["7f2a40000000 default anon=1 N0=1 kernelpagesize_kB=4"]


def test_many_reads_add_up_in_both_designs():
    # ~3000 VMAs: dozens of 4 KiB read()s, each its own m_start()..m_stop().
    with with_holes(8192, 3000, seed=5) as mm:
        stats = {}
        text = mm.read("numa_maps", "vma", stats)
        assert text == mm.read("numa_maps", "mmap")
        assert stats["reads"] > 20
        assert stats["vmas"] == mm.map_count == len(text.splitlines())
        anon = [int(tok[5:]) for tok in text.split() if tok.startswith("anon=")]
        assert sum(anon) == 8192 - 3000


# ---- against this machine's kernel ---------------------------------------

# A child maps the region between two PROT_NONE guard pages (so that it
# merges with nothing), as base pages, writes every page (the write faults
# of MAP_POPULATE), unmaps the holes, optionally forks (every page then
# mapped twice), and prints its own numa_maps lines for the region with
# each address made relative to the region's start.
KERNEL_LAYOUT = textwrap.dedent("""\
    import ctypes, mmap, os, sys
    pages, fork, holes = int(sys.argv[1]), sys.argv[2] == "1", map(int, sys.argv[3:])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                          ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    P, n = mmap.PAGESIZE, pages * mmap.PAGESIZE
    anon = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    guard = libc.mmap(None, n + 2 * P, 0, anon, -1, 0)
    start = guard + P
    assert libc.mmap(start, n, 3, anon | 0x10, -1, 0) == start     # MAP_FIXED
    libc.madvise(start, n, 14)                                     # MADV_NOHUGEPAGE
    ctypes.memset(start, 1, n)
    for page in holes:
        libc.munmap(start + page * P, P)
    if fork:
        r, w = os.pipe()
        if os.fork() == 0:
            os.read(r, 1)
            os._exit(0)
    with open("/proc/self/numa_maps") as f:
        for line in f:
            addr, rest = line.split(" ", 1)
            if start <= int(addr, 16) < start + n:
                print(f"{int(addr, 16) - start:x} {rest}", end="")
    if fork:
        os.write(w, b"x")
        os.wait()
""")


def kernel_numa_maps(pages, holes, fork=False):
    if not os.path.exists("/proc/self/numa_maps"):
        pytest.skip("this kernel has no /proc/PID/numa_maps (CONFIG_NUMA=n)")
    r = subprocess.run([sys.executable, "-c", KERNEL_LAYOUT, str(pages),
                        "1" if fork else "0", *map(str, holes)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def sim_numa_maps(mm, lock):
    out = []
    for line in lines(mm, lock):
        addr, rest = line.split(" ", 1)
        out.append(f"{int(addr, 16) - mm.start:x} {rest}")
    return out


def fields(text_lines):
    """Each line as its relative address and its fields in order."""
    return [line.split() for line in text_lines]


@pytest.mark.parametrize("lock", ["mmap", "vma"])
def test_same_fields_as_this_kernel(lock):
    # procvma show numa_maps --mb 16 --holes 3's layout
    pages, holes = 16 * 256, spread_holes(16 * 256, 3, 1)
    kernel = kernel_numa_maps(pages, holes)
    with with_spread_holes(pages, 3, 1) as mm:
        assert fields(sim_numa_maps(mm, lock)) == fields(kernel)
    assert len(kernel) == 4


def test_pages_another_process_maps_are_mapmax_as_in_this_kernel():
    pages, holes = 1024, [100, 700]
    kernel = kernel_numa_maps(pages, holes, fork=True)
    with SimMM(pages) as mm:
        for page in holes:
            mm.munmap(page)
        for page in range(pages):
            if page not in holes:
                mm.set_page(page, mapcount=2)
        assert fields(sim_numa_maps(mm, "vma")) == fields(kernel)
    assert all("mapmax=2" in line for line in kernel)
