// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Pages and page tables of the simulated mm: the page pool, populating a
 * range (MAP_POPULATE's write faults) and zapping one (munmap), and the
 * test hooks that give a page another state.
 */
#include <errno.h>
#include <stdlib.h>

#include "compiler.h"
#include "mm.h"
#include "mmap_lock.h"

/*
 * Pages are not RCU-freed: every reader that walks PTEs holds either the
 * mmap lock or the read lock of the VMA covering them, and the writer
 * write-locks that VMA before it zaps them.
 */
static struct page *alloc_page(struct mm_struct *mm)
{
	struct page *page = mm->page_free;

	if (page)
		mm->page_free = page->free_next;
	return page;
}

static void free_page(struct mm_struct *mm, struct page *page)
{
	atomic_store_explicit(&page->flags, 0, memory_order_relaxed);
	page->free_next = mm->page_free;
	mm->page_free = page;
}

/* ---- page tables ------------------------------------------------------ */

void zap_pte_range(struct mm_struct *mm, unsigned long start,
			  unsigned long end)
{
	unsigned long addr;

	for (addr = start; addr < end; addr += PAGE_SIZE) {
		pte_t *ptep = pte_offset(mm, addr);
		pte_t pte = READ_ONCE(*ptep);

		if (!pte)
			continue;
		WRITE_ONCE(*ptep, 0);
		if (pte_present(pte)) {
			struct page *page = pte_page(pte);

			if (atomic_fetch_sub_explicit(&page->mapcount, 1,
						      memory_order_relaxed) == 1)
				free_page(mm, page);
		}
	}
}

/* MAP_POPULATE of a private writable mapping: write faults, anon pages. */
int populate_range(struct mm_struct *mm, unsigned long start,
			  unsigned long end)
{
	unsigned long addr;

	for (addr = start; addr < end; addr += PAGE_SIZE) {
		pte_t *ptep = pte_offset(mm, addr);
		struct page *page;

		if (READ_ONCE(*ptep))
			continue;
		page = alloc_page(mm);
		if (!page)
			return -ENOMEM;
		atomic_store_explicit(&page->mapcount, 1, memory_order_relaxed);
		atomic_store_explicit(&page->flags, PG_anon | PG_dirty | PG_referenced,
				      memory_order_relaxed);
		WRITE_ONCE(*ptep, (pte_t)page | PTE_PRESENT);
	}
	return 0;
}

int mm_pages_init(struct mm_struct *mm)
{
	unsigned long i;

	mm->pte = calloc(mm->region_pages, sizeof(*mm->pte));
	mm->pages = calloc(mm->region_pages, sizeof(*mm->pages));
	if (!mm->pte || !mm->pages)
		return -ENOMEM;
	for (i = mm->region_pages; i-- > 0;)
		free_page(mm, &mm->pages[i]);
	return 0;
}

void mm_pages_free(struct mm_struct *mm)
{
	free(mm->pages);
	free(mm->pte);
}

/* ---- test hooks --------------------------------------------------------- */

static struct page *region_page(struct mm_struct *mm, unsigned long pfn)
{
	pte_t pte;

	if (pfn >= mm->region_pages)
		return NULL;
	pte = READ_ONCE(mm->pte[pfn]);
	return pte_present(pte) ? pte_page(pte) : NULL;
}

int pv_page_set_state(struct mm_struct *mm, unsigned long pfn, int mapcount,
		      int dirty, int referenced)
{
	struct page *page;
	unsigned int flags;

	if (mapcount < 1)
		return -EINVAL;
	mmap_write_lock(mm);
	page = region_page(mm, pfn);
	if (page) {
		flags = PG_anon | (dirty ? PG_dirty : 0) | (referenced ? PG_referenced : 0);
		atomic_store(&page->mapcount, mapcount);
		atomic_store(&page->flags, flags);
	}
	mmap_write_unlock(mm);
	return page ? 0 : -ENOENT;
}

int pv_page_swap_out(struct mm_struct *mm, unsigned long pfn)
{
	struct page *page;

	mmap_write_lock(mm);
	page = region_page(mm, pfn);
	if (page) {
		WRITE_ONCE(mm->pte[pfn], PTE_SWAP);
		if (atomic_fetch_sub(&page->mapcount, 1) == 1)
			free_page(mm, page);
	}
	mmap_write_unlock(mm);
	return page ? 0 : -ENOENT;
}
