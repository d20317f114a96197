/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The writer's side of the simulated mm: mmap(), munmap(), page tables. */
#ifndef PROCVMA_MM_H
#define PROCVMA_MM_H

#include "compiler.h"
#include "mm_types.h"

#define DEFAULT_MAX_MAP_COUNT PV_DEFAULT_MAX_MAP_COUNT

/* Region page number <-> address. */
static inline unsigned long page_addr(const struct mm_struct *mm, unsigned long pfn)
{
	return mm->region_start + (pfn << PAGE_SHIFT);
}

static inline unsigned long addr_page(const struct mm_struct *mm, unsigned long addr)
{
	return (addr - mm->region_start) >> PAGE_SHIFT;
}

/*
 * The PTE table mapping region page @pfn, or NULL when none was ever
 * needed (pmd_none()).  Acquire: pairs with the release store that
 * publishes a table in pte_alloc(), so its zeroed entries are seen.
 */
static inline pte_t *pte_table(const struct mm_struct *mm, unsigned long pfn)
{
	return __atomic_load_n(&mm->pmd[pfn / PTRS_PER_PTE], __ATOMIC_ACQUIRE);
}

/* pfn_to_page(): region page @pfn's frame. */
static inline struct page *pfn_to_page(const struct mm_struct *mm, unsigned long pfn)
{
	return &mm->mem_map[(pfn * PAGE_FRAME_SCATTER) & mm->mem_map_mask];
}

/* pmd_addr_end() in page numbers: where @pfn's table ends, or @end_pfn. */
static inline unsigned long pmd_pfn_end(unsigned long pfn, unsigned long end_pfn)
{
	unsigned long next = (pfn / PTRS_PER_PTE + 1) * PTRS_PER_PTE;

	return next < end_pfn ? next : end_pfn;
}

/*
 * The PTE of region page @pfn, or 0 (pte_none()) where there is no table.
 * The caller holds a lock that keeps it stable, or accepts a racy value.
 */
static inline pte_t ptep_get(const struct mm_struct *mm, unsigned long pfn)
{
	pte_t *table = pte_table(mm, pfn);

	return table ? READ_ONCE(table[pfn % PTRS_PER_PTE]) : 0;
}

/* mmap.c, mmap write lock held: the operations, addresses page-aligned. */
int do_munmap(struct mm_struct *mm, unsigned long start, unsigned long end);
int do_mmap_fixed_populate(struct mm_struct *mm, unsigned long start,
			   unsigned long end);

/* mmap.c: the VMA pool of a new mm, and its release (no RCU callback left). */
int mm_vma_pool_init(struct mm_struct *mm);
void mm_vma_pool_free(struct mm_struct *mm);
/* Grow the pool to what a new max_map_count lets the mm hold at once. */
int mm_vma_pool_reserve(struct mm_struct *mm);
/* Host bytes of the pool of an mm of @region_pages under @max_map_count. */
unsigned long long mm_vma_pool_footprint(unsigned long region_pages,
					 unsigned long max_map_count);

/* memory.c, under the lock that keeps the range's PTEs stable for writing. */
int populate_range(struct mm_struct *mm, unsigned long start, unsigned long end);
void zap_pte_range(struct mm_struct *mm, unsigned long start, unsigned long end);

/* memory.c: the page tables of a new mm, and their release. */
int mm_pages_init(struct mm_struct *mm);
void mm_pages_free(struct mm_struct *mm);
/* Host bytes an mm of @region_pages pages takes with all of them populated. */
unsigned long long mm_pages_footprint(unsigned long region_pages);

#endif
