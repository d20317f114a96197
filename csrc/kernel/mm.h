/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The writer's side of the simulated mm: mmap(), munmap(), page tables. */
#ifndef PROCVMA_MM_H
#define PROCVMA_MM_H

#include "mm_types.h"

#define DEFAULT_MAX_MAP_COUNT 65530	/* vm.max_map_count's default */

/* Region page number <-> address. */
static inline unsigned long page_addr(const struct mm_struct *mm, unsigned long pfn)
{
	return mm->region_start + (pfn << PAGE_SHIFT);
}

static inline unsigned long addr_page(const struct mm_struct *mm, unsigned long addr)
{
	return (addr - mm->region_start) >> PAGE_SHIFT;
}

/* PTE of a region address; caller holds a lock that keeps it stable. */
static inline pte_t *pte_offset(struct mm_struct *mm, unsigned long addr)
{
	return &mm->pte[addr_page(mm, addr)];
}

/* mmap.c, mmap write lock held: the operations, addresses page-aligned. */
int do_munmap(struct mm_struct *mm, unsigned long start, unsigned long end);
int do_mmap_fixed_populate(struct mm_struct *mm, unsigned long start,
			   unsigned long end);

/* mmap.c: the VMA pool of a new mm, and its release (no RCU callback left). */
int mm_vma_pool_init(struct mm_struct *mm);
void mm_vma_pool_free(struct mm_struct *mm);

/* memory.c, under the lock that keeps the range's PTEs stable for writing. */
int populate_range(struct mm_struct *mm, unsigned long start, unsigned long end);
void zap_pte_range(struct mm_struct *mm, unsigned long start, unsigned long end);

/* memory.c: the page tables and page pool of a new mm, and their release. */
int mm_pages_init(struct mm_struct *mm);
void mm_pages_free(struct mm_struct *mm);

#endif
