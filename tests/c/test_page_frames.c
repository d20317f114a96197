// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The page frames (struct page in kernel/mm_types.h): the memory the
 * walkers read for every present page and the mapper writes, so that a
 * walk's cost depends on where those lines are, as the kernel's does.
 * Each page of a region up to MEM_MAP_MAX pages has a line of its own,
 * scattered; larger regions share MEM_MAP_MAX of them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kernel/api.h"
#include "kernel/mm.h"
#include "lock_test.h"

/* 128 MiB, the reference's region: every page its own frame. */
static void test_each_page_has_a_frame_of_its_own(void)
{
	const unsigned long pages = 32768;
	struct mm_struct *mm = pv_mm_create(pages, 0);
	unsigned char *used = calloc(pages, 1);
	unsigned long pfn, shared = 0, neighbours_adjacent = 0;

	CHECK(mm && used);
	CHECK(mm->mem_map_mask + 1 == pages);
	for (pfn = 0; pfn < pages; pfn++) {
		unsigned long i = (unsigned long)(pfn_to_page(mm, pfn) - mm->mem_map);

		shared += used[i]++;
		if (pfn && pfn_to_page(mm, pfn) == pfn_to_page(mm, pfn - 1) + 1)
			neighbours_adjacent++;
	}
	CHECK(shared == 0);
	/* Scattered: neighbouring pages are not neighbouring lines. */
	CHECK(neighbours_adjacent == 0);
	free(used);
	pv_mm_destroy(mm);
	passes++;
}

/*
 * The mapper writes a page's frame when it populates the page and when
 * it frees it: the lines the walkers read are the ones it dirties.
 *
 *   0        8       16
 *   |********|*******|     populated
 *   |********-*******|     page 8 unmapped
 *   |****************|     and mapped again
 */
static void test_populate_and_zap_write_the_frame(void)
{
	struct mm_struct *mm = pv_mm_create(16, 1);

	CHECK(mm);
	CHECK(READ_ONCE(pfn_to_page(mm, 8)->flags) != 0);
	CHECK(pv_munmap(mm, 8, 1) == 0);
	CHECK(READ_ONCE(pfn_to_page(mm, 8)->flags) == 0);
	CHECK(READ_ONCE(pfn_to_page(mm, 7)->flags) != 0);
	CHECK(pv_mmap_fixed_populate(mm, 8, 1) == 0);
	CHECK(READ_ONCE(pfn_to_page(mm, 8)->flags) != 0);
	pv_mm_destroy(mm);
	passes++;
}

/* 256 GiB of pages share 16 MiB of frames: the footprint stays bounded. */
static void test_a_huge_region_shares_a_bounded_set(void)
{
	struct mm_struct *mm = pv_mm_create(1UL << 26, 0);

	CHECK(mm);
	CHECK(mm->mem_map_mask + 1 == MEM_MAP_MAX);
	CHECK(pfn_to_page(mm, (1UL << 26) - 1) >= mm->mem_map &&
	      pfn_to_page(mm, (1UL << 26) - 1) < mm->mem_map + MEM_MAP_MAX);
	pv_mm_destroy(mm);
	passes++;
}

int main(void)
{
	test_each_page_has_a_frame_of_its_own();
	test_populate_and_zap_write_the_frame();
	test_a_huge_region_shares_a_bounded_set();
	printf("test_page_frames: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
