# SPDX-License-Identifier: GPL-2.0-or-later
"""The simulated /proc files: exact text on small hand-built layouts, the
kernel's accounting rules, and the two locking designs agreeing whenever
nothing changes under them."""

import re

import pytest

from procvma.sim.simmm import PAGE_SIZE, SimMM, with_holes

BASE = "7f2a40000000"


def kb(n_pages):
    return n_pages * PAGE_SIZE // 1024


def field(text, name):
    """Every value of `name:` in kB, in order."""
    return [int(v) for v in re.findall(rf"^{name}:\s+(\d+) kB$", text, re.M)]


@pytest.mark.parametrize("lock", ["mmap", "vma"])
def test_maps_lines_are_the_kernels(holes, lock):
    # An anonymous VMA: offset 0, device 00:00, inode 0, no name, and the
    # trailing blank the kernel leaves before the (absent) name.
    assert holes.read("maps", lock) == (
        "7f2a40000000-7f2a40003000 rw-p 00000000 00:00 0 \n"
        "7f2a40004000-7f2a40006000 rw-p 00000000 00:00 0 \n"
        "7f2a40007000-7f2a4000a000 rw-p 00000000 00:00 0 \n"
    )


SMAPS_BLOCK = """\
7f2a40004000-7f2a40006000 rw-p 00000000 00:00 0 
Size:                  8 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                   8 kB
Pss:                   8 kB
Pss_Dirty:             8 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:         8 kB
Referenced:            8 kB
Anonymous:             8 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
ProtectionKey:         0
VmFlags: rd wr mr mw me ac 
"""


@pytest.mark.parametrize("lock", ["mmap", "vma"])
def test_smaps_block_is_the_kernels(holes, lock):
    text = holes.read("smaps", lock)
    blocks = re.split(r"(?m)^(?=[0-9a-f]+-[0-9a-f]+ )", text)[1:]
    assert len(blocks) == 3
    assert blocks[1] == SMAPS_BLOCK


ROLLUP = """\
7f2a40000000-7f2a4000a000 ---p 00000000 00:00 0                          [rollup]
Rss:                  32 kB
Pss:                  32 kB
Pss_Dirty:            32 kB
Pss_Anon:             32 kB
Pss_File:              0 kB
Pss_Shmem:             0 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:        32 kB
Referenced:           32 kB
Anonymous:            32 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
"""


@pytest.mark.parametrize("lock", ["mmap", "vma"])
def test_rollup_is_the_kernels(holes, lock):
    # The header spans first VMA start .. last VMA end, holes included.
    assert holes.read("smaps_rollup", lock) == ROLLUP


def test_rollup_of_an_empty_mm():
    with SimMM(4, populate=False) as mm:
        text = mm.read("smaps_rollup")
        assert text.startswith("00000000-00000000 ---p 00000000 00:00 0 ")
        assert field(text, "Rss") == [0]
        assert mm.read("maps") == ""


def test_shared_pages_split_pss_and_count_as_shared():
    #  0123
    #  ****   page 0 mapped twice (dirty), page 1 three times (clean)
    with SimMM(4) as mm:
        mm.set_page(0, mapcount=2, dirty=True)
        mm.set_page(1, mapcount=3, dirty=False, referenced=False)
        text = mm.read("smaps_rollup")
        assert field(text, "Rss") == [16]
        # 4/2 + 4/3 + 4 + 4 = 11.33 kB, truncated as the kernel does
        assert field(text, "Pss") == [11]
        assert field(text, "Shared_Dirty") == [4]
        assert field(text, "Shared_Clean") == [4]
        assert field(text, "Private_Dirty") == [8]
        assert field(text, "Referenced") == [12]
        assert field(text, "Pss_Dirty") == [10]


def test_swapped_out_page_is_swap_not_rss():
    with SimMM(4) as mm:
        mm.swap_out(2)
        for procfile in ("smaps", "smaps_rollup"):
            text = mm.read(procfile)
            assert field(text, "Rss") == [12]
            assert field(text, "Swap") == [4]
            assert field(text, "SwapPss") == [4]
        # munmap of a swap entry frees it
        mm.munmap(2)
        assert field(mm.read("smaps_rollup"), "Swap") == [0]


@pytest.mark.parametrize("procfile", ["maps", "smaps", "smaps_rollup"])
def test_both_designs_agree_on_a_quiet_mm(procfile):
    with with_holes(4096, 300, seed=3) as mm:
        assert mm.read(procfile, "mmap") == mm.read(procfile, "vma")


def test_smaps_rss_sums_to_rollup_across_many_reads():
    # ~4000 VMAs: smaps takes hundreds of 4 KiB read()s, each its own
    # m_start()..m_stop(), records that overflow redone by the next one.
    with with_holes(8192, 4000, seed=11) as mm:
        stats = {}
        smaps = mm.read("smaps", "vma", stats)
        rollup = mm.read("smaps_rollup", "vma")
        assert stats["reads"] > 100
        assert stats["vmas"] == mm.map_count
        assert sum(field(smaps, "Rss")) == field(rollup, "Rss")[0] == kb(8192 - 4000)
        assert len(re.findall(r"(?m)^VmFlags:", smaps)) == mm.map_count


def test_maps_covers_exactly_the_populated_pages():
    with with_holes(32768, 1000, seed=7) as mm:
        vmas = mm.vmas()
        covered = sum(end - start for start, end in vmas)
        assert covered == 32768 - 1000
        # sorted, disjoint and merged: a gap between every two
        assert all(a_end < b_start for (_, a_end), (b_start, _) in zip(vmas, vmas[1:]))
        assert field(mm.read("smaps_rollup"), "Rss") == [kb(32768 - 1000)]


def test_quiet_walks_take_no_fallbacks_or_drops():
    with with_holes(4096, 100, seed=5) as mm:
        for lock in ("mmap", "vma"):
            stats = {}
            mm.read("smaps_rollup", lock, stats)
            assert stats["walks"] == 1
            assert stats["fallbacks"] == stats["drops"] == stats["retries"] == 0


def test_procfile_names_are_the_c_cores():
    """The Python name of each simulated /proc file is the one the C core
    prints in its messages, and the C core knows no others."""
    from procvma._core import ffi, lib
    from procvma.sim.simmm import PROCFILES

    for name, num in PROCFILES.items():
        assert ffi.string(lib.pv_procfile_name(num)).decode() == name
    assert lib.pv_procfile_name(len(PROCFILES)) == ffi.NULL
    assert lib.pv_procfile_name(-1) == ffi.NULL
