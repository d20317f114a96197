# SPDX-License-Identifier: GPL-2.0-or-later
"""VMA tree changes, one behaviour per test, in the style of the kernel's
tools/testing/vma: a picture of the region (one column per page, * for a
mapped page) above each step, then the VMAs that must result.

VMAs are listed as (first page, end page) pairs, region-relative."""

import errno

import pytest

from procvma.sim.simmm import SimError, SimMM


@pytest.fixture
def mm():
    with SimMM(10) as m:
        yield m


def test_populated_region_is_one_vma(mm):
    #  0123456789
    #  **********
    assert mm.vmas() == [(0, 10)]
    assert mm.map_count == 1


def test_munmap_middle_splits(mm):
    #  0123456789        0123456789
    #  **********  ->    ****-*****
    mm.munmap(4)
    assert mm.vmas() == [(0, 4), (5, 10)]
    assert mm.map_count == 2


def test_munmap_first_page_shrinks_front(mm):
    #  **********  ->    -*********
    mm.munmap(0)
    assert mm.vmas() == [(1, 10)]


def test_munmap_last_page_shrinks_end(mm):
    #  **********  ->    *********-
    mm.munmap(9)
    assert mm.vmas() == [(0, 9)]


def test_munmap_whole_vma_removes_it(mm):
    #  ****-*****  ->    ****------
    mm.munmap(4)
    mm.munmap(5, 5)
    assert mm.vmas() == [(0, 4)]
    assert mm.map_count == 1


def test_munmap_across_vmas(mm):
    #  **-**-****  ->    *------***
    mm.munmap(2)
    mm.munmap(5)
    mm.munmap(1, 6)
    assert mm.vmas() == [(0, 1), (7, 10)]
    assert mm.map_count == 2


def test_munmap_of_a_hole_changes_nothing(mm):
    #  ****-*****  ->    ****-*****
    mm.munmap(4)
    mm.munmap(4)
    assert mm.vmas() == [(0, 4), (5, 10)]


def test_mmap_into_hole_merges_both_sides(mm):
    #  ****-*****  ->    **********
    mm.munmap(4)
    mm.mmap(4)
    assert mm.vmas() == [(0, 10)]
    assert mm.map_count == 1


def test_mmap_after_vma_merges_with_prev(mm):
    #  ****------  ->    *****-----
    mm.munmap(4, 6)
    mm.mmap(4)
    assert mm.vmas() == [(0, 5)]


def test_mmap_before_vma_merges_with_next(mm):
    #  ------****  ->    -----*****
    mm.munmap(0, 6)
    mm.mmap(5)
    assert mm.vmas() == [(5, 10)]


def test_mmap_with_no_neighbour_is_a_new_vma(mm):
    #  **--------  ->    **--*-----
    mm.munmap(2, 8)
    mm.mmap(4)
    assert mm.vmas() == [(0, 2), (4, 5)]
    assert mm.map_count == 2


def test_mmap_over_mapped_pages_keeps_one_vma(mm):
    #  **********  ->    ****##****   (## replaced in place)
    mm.mmap(4, 2)
    assert mm.vmas() == [(0, 10)]
    assert "Rss:                  40 kB" in mm.read("smaps_rollup")


def test_mmap_across_holes_and_vmas(mm):
    #  *-*-*-*-**  ->    *******-**
    for p in (1, 3, 5, 7):
        mm.munmap(p)
    mm.mmap(1, 6)
    assert mm.vmas() == [(0, 7), (8, 10)]


def test_ranges_outside_the_region_are_einval(mm):
    for op in (mm.mmap, mm.munmap):
        with pytest.raises(SimError) as e:
            op(9, 2)
        assert e.value.errno == errno.EINVAL
        with pytest.raises(SimError):
            op(0, 0)


def test_max_map_count_split_is_enomem_and_changes_nothing():
    #  **-*******   at max_map_count = 2
    #  **-**-****   would make 3: ENOMEM, region as it was
    with SimMM(10, max_map_count=2) as mm:
        mm.munmap(2)
        with pytest.raises(SimError) as e:
            mm.munmap(5)
        assert e.value.errno == errno.ENOMEM
        assert mm.vmas() == [(0, 2), (3, 10)]
        assert "Rss:                  36 kB" in mm.read("smaps_rollup")


def test_max_map_count_new_vma_is_enomem_merge_is_not():
    #  **--**----   at max_map_count = 2
    with SimMM(10, max_map_count=2) as mm:
        mm.munmap(2, 2)
        mm.munmap(6, 4)
        #  **--**-*--   a third VMA: ENOMEM
        with pytest.raises(SimError) as e:
            mm.mmap(7)
        assert e.value.errno == errno.ENOMEM
        #  ***-**----   merges with its neighbour: fine
        mm.mmap(2)
        #  ******----   merges both: fine, one VMA
        mm.mmap(3)
        assert mm.vmas() == [(0, 6)]


def test_default_max_map_count_is_the_kernels():
    # Alternate pages of a 2^17-page region: 65536 VMAs > 65530.
    with SimMM(1 << 17) as mm:
        with pytest.raises(SimError) as e:
            for p in range(1, 1 << 17, 2):
                mm.munmap(p)
        assert e.value.errno == errno.ENOMEM
        assert mm.map_count == 65530
