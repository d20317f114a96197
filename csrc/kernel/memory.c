// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Page tables of the simulated mm: allocating a PTE table on first use,
 * populating a range (MAP_POPULATE's write faults) and zapping one
 * (munmap), and the test hooks that give a page another state.
 *
 * A page's state lives in its PTE (mm_types.h), so populating a page
 * allocates nothing once its table exists, and zapping it frees nothing.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "mm.h"
#include "mmap_lock.h"
#include "vma_tree.h"

static unsigned long nr_pmds(unsigned long region_pages)
{
	return (region_pages + PTRS_PER_PTE - 1) / PTRS_PER_PTE;
}

/*
 * __pte_alloc(): the table for the PMD entry mapping @pfn.  mmap write
 * lock held, so we are the only writer of the PMD array.
 */
static pte_t *pte_alloc(struct mm_struct *mm, unsigned long pfn)
{
	pte_t *table = pte_table(mm, pfn);

	if (table)
		return table;
	table = calloc(PTRS_PER_PTE, sizeof(*table));
	if (!table)
		return NULL;
	/*
	 * Release: the zeroed table before the pointer, for lockless PMD
	 * readers (pte_table()'s acquire) walking a neighbouring VMA.
	 */
	__atomic_store_n(&mm->pmd[pfn / PTRS_PER_PTE], table, __ATOMIC_RELEASE);
	mm->nr_ptes++;
	return table;
}

/* ---- writers (mmap write lock held, the range's VMAs write-locked) ---- */

void zap_pte_range(struct mm_struct *mm, unsigned long start,
		   unsigned long end)
{
	unsigned long pfn = addr_page(mm, start), end_pfn = addr_page(mm, end);

	while (pfn < end_pfn) {
		unsigned long next = pmd_pfn_end(pfn, end_pfn);
		pte_t *table = pte_table(mm, pfn);

		/* pmd_none(): nothing was ever mapped here. */
		if (table)
			for (; pfn < next; pfn++) {
				pte_t pte = READ_ONCE(table[pfn % PTRS_PER_PTE]);

				if (!pte)
					continue;
				WRITE_ONCE(table[pfn % PTRS_PER_PTE], 0);
				/* The frame goes back to the allocator. */
				if (pte_present(pte))
					WRITE_ONCE(pfn_to_page(mm, pfn)->flags, 0);
			}
		pfn = next;
	}
}

/*
 * MAP_POPULATE of a private writable mapping: write faults, anon pages.
 * A new anonymous folio goes on the inactive LRU list
 * (folio_add_lru_vma() -> lru_cache_add_inactive_or_unevictable()), as
 * this machine's numa_maps shows: "active=0" for a region just populated.
 */
int populate_range(struct mm_struct *mm, unsigned long start,
		   unsigned long end)
{
	const pte_t fresh = mk_pte(1, PTE_ANON | PTE_DIRTY | PTE_YOUNG);
	unsigned long pfn = addr_page(mm, start), end_pfn = addr_page(mm, end);

	while (pfn < end_pfn) {
		unsigned long next = pmd_pfn_end(pfn, end_pfn);
		pte_t *table = pte_alloc(mm, pfn);

		if (!table)
			return -ENOMEM;
		for (; pfn < next; pfn++)
			if (!READ_ONCE(table[pfn % PTRS_PER_PTE])) {
				/* prep_new_page(): the new frame's struct page. */
				WRITE_ONCE(pfn_to_page(mm, pfn)->flags, fresh);
				WRITE_ONCE(table[pfn % PTRS_PER_PTE], fresh);
			}
	}
	return 0;
}

/* ---- the mm's page tables ------------------------------------------------ */

/* The number of frames of a region: a power of two, at most MEM_MAP_MAX. */
static unsigned long nr_frames(unsigned long region_pages)
{
	unsigned long n = 1;

	while (n < region_pages && n < MEM_MAP_MAX)
		n <<= 1;
	return n;
}

int mm_pages_init(struct mm_struct *mm)
{
	unsigned long frames = nr_frames(mm->region_pages);

	mm->nr_pmds = nr_pmds(mm->region_pages);
	mm->pmd = calloc(mm->nr_pmds, sizeof(*mm->pmd));
	mm->mem_map = aligned_alloc(alignof(struct page), frames * sizeof(struct page));
	if (!mm->pmd || !mm->mem_map)
		return -ENOMEM;
	memset(mm->mem_map, 0, frames * sizeof(struct page));
	mm->mem_map_mask = frames - 1;
	return 0;
}

void mm_pages_free(struct mm_struct *mm)
{
	unsigned long i;

	free(mm->mem_map);
	if (!mm->pmd)
		return;
	for (i = 0; i < mm->nr_pmds; i++)
		free(mm->pmd[i]);
	free(mm->pmd);
}

unsigned long long mm_pages_footprint(unsigned long region_pages)
{
	unsigned long long tables = nr_pmds(region_pages);

	/* The PMD array, each table with malloc's 16-byte header, the frames. */
	return tables * sizeof(pte_t *) +
	       tables * (PTRS_PER_PTE * sizeof(pte_t) + 16) +
	       nr_frames(region_pages) * sizeof(struct page);
}

/* ---- test hooks --------------------------------------------------------- */

/*
 * The present PTE of region page @pfn, ready to change: mmap write lock
 * held, and the VMA mapping it write-locked here, as for every PTE change
 * (the writers' rule above): a per-VMA reader in the middle of a page walk holds
 * that VMA's read lock, so the change waits for it and the walk sees the
 * page before or after, never half changed.
 */
static pte_t *present_pte_locked(struct mm_struct *mm, unsigned long pfn)
{
	struct vm_area_struct *vma;
	pte_t *table;

	if (pfn >= mm->region_pages)
		return NULL;
	table = pte_table(mm, pfn);
	if (!table || !pte_present(table[pfn % PTRS_PER_PTE]))
		return NULL;
	vma = vma_lookup(mm, page_addr(mm, pfn));
	if (!vma)
		return NULL;	/* a present page outside every VMA: not ours */
	vma_start_write(vma);
	return &table[pfn % PTRS_PER_PTE];
}

int pv_page_set_state(struct mm_struct *mm, unsigned long pfn, int mapcount,
		      int dirty, int referenced)
{
	pte_t *ptep;

	if (mapcount < 1 || (unsigned int)mapcount > PTE_MAPCOUNT_MAX)
		return -EINVAL;
	mmap_write_lock(mm);
	ptep = present_pte_locked(mm, pfn);
	if (ptep)
		WRITE_ONCE(*ptep, mk_pte((unsigned int)mapcount, PTE_ANON |
					 (*ptep & PTE_ACTIVE) |
					 (dirty ? PTE_DIRTY : 0) |
					 (referenced ? PTE_YOUNG : 0)));
	mmap_write_unlock(mm);
	return ptep ? 0 : -ENOENT;
}

/* folio_activate() / folio_deactivate(): which LRU list the page is on. */
int pv_page_set_active(struct mm_struct *mm, unsigned long pfn, int active)
{
	pte_t *ptep;

	mmap_write_lock(mm);
	ptep = present_pte_locked(mm, pfn);
	if (ptep)
		WRITE_ONCE(*ptep, active ? *ptep | PTE_ACTIVE : *ptep & ~PTE_ACTIVE);
	mmap_write_unlock(mm);
	return ptep ? 0 : -ENOENT;
}

int pv_page_swap_out(struct mm_struct *mm, unsigned long pfn)
{
	pte_t *ptep;

	mmap_write_lock(mm);
	ptep = present_pte_locked(mm, pfn);
	if (ptep)
		WRITE_ONCE(*ptep, PTE_SWAP);
	mmap_write_unlock(mm);
	return ptep ? 0 : -ENOENT;
}
