/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated address space: struct mm_struct, its VMAs, page tables and
 * pages.  Field names follow include/linux/mm_types.h where the thing
 * modelled is the kernel's.
 *
 * Address layout: one region of region_pages pages starting at
 * region_start.  Its page tables have two levels: a PMD array with one
 * entry per PTRS_PER_PTE pages, each NULL (pmd_none()) or a table of
 * PTEs; a PTE is empty, a present page, or a swap entry.
 */
#ifndef PROCVMA_MM_TYPES_H
#define PROCVMA_MM_TYPES_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "rcu.h"
#include <urcu/lfstack.h>
#include "rwsem.h"

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)

/* vm_flags, as the kernel spells them (include/linux/mm.h). */
#define VM_READ		0x00000001UL
#define VM_WRITE	0x00000002UL
#define VM_EXEC		0x00000004UL
#define VM_SHARED	0x00000008UL
#define VM_MAYREAD	0x00000010UL
#define VM_MAYWRITE	0x00000020UL
#define VM_MAYEXEC	0x00000040UL
#define VM_MAYSHARE	0x00000080UL
#define VM_ACCOUNT	0x00100000UL

#define VM_ANON_RW	(VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | \
			 VM_MAYEXEC | VM_ACCOUNT)

/*
 * A PTE and the state of the page it maps, in one 32-bit word.
 *
 * Every simulated page is mapped by one PTE of this mm and lives exactly
 * as long as that mapping (an anonymous page of a process that never
 * forked), so what the smaps and numa_maps walks read of the page
 * itself, the folio's anon flag, LRU list and mapcount, sits in the word
 * beside the PTE's own present, dirty and young bits.  A mapcount above
 * 1 stands for mappings in other processes (a test hook sets it).  Four bytes per page, where a PTE and
 * a struct page took 24: a populated region of 256 GiB needs 256 MiB.
 *
 * 0 is pte_none(); PTE_SWAP alone is a swap entry (no page in memory).
 */
typedef uint32_t pte_t;
#define PTE_PRESENT	0x01u
#define PTE_SWAP	0x02u
#define PTE_DIRTY	0x04u	/* pte_dirty() || folio_test_dirty() */
#define PTE_YOUNG	0x08u	/* pte_young() || folio_test_referenced() */
#define PTE_ANON	0x10u	/* folio_test_anon() */
#define PTE_ACTIVE	0x20u	/* folio_test_active() || folio_test_unevictable() */
#define PTE_MAPCOUNT_SHIFT 8
#define PTE_MAPCOUNT_MAX (UINT32_MAX >> PTE_MAPCOUNT_SHIFT)

static inline bool pte_present(pte_t pte) { return pte & PTE_PRESENT; }
static inline bool pte_is_swap(pte_t pte) { return pte == PTE_SWAP; }
static inline bool pte_dirty(pte_t pte) { return pte & PTE_DIRTY; }
static inline bool pte_young(pte_t pte) { return pte & PTE_YOUNG; }
static inline bool pte_anon(pte_t pte) { return pte & PTE_ANON; }
static inline bool pte_active(pte_t pte) { return pte & PTE_ACTIVE; }
static inline unsigned int pte_mapcount(pte_t pte)
{
	return pte >> PTE_MAPCOUNT_SHIFT;
}

/* A present PTE; @mapcount in 1 .. PTE_MAPCOUNT_MAX. */
static inline pte_t mk_pte(unsigned int mapcount, pte_t flags)
{
	return (pte_t)mapcount << PTE_MAPCOUNT_SHIFT | flags | PTE_PRESENT;
}

/*
 * A page frame's struct page, as memory.  The kernel's walkers read a
 * page's struct page for every present PTE (vm_normal_page(), the folio's
 * flags and mapcount in smaps_account(), gather_stats()), a cache line
 * per page at wherever the buddy allocator put the frame; the mapper
 * writes it when it populates a page or frees one.  A page's state lives
 * in its PTE here (mk_pte()); the frame holds no state, only the memory
 * traffic: a line per page, scattered, that a walk spread out among other
 * tasks' work finds gone from the cache more often than a walk done back
 * to back -- which a calibrated spin cannot.
 */
struct page {
	alignas(64) unsigned long flags;
	unsigned long rest[7];		/* the line's other words, untouched */
};

/*
 * The frames: a power of two of them, at most MEM_MAP_MAX (16 MiB), so
 * that a 256 GiB region shares them; region page pfn's frame is pfn times
 * an odd constant modulo their number, a permutation that scatters
 * neighbouring pages as the allocator's free lists do.
 */
#define MEM_MAP_MAX		(1UL << 18)
#define PAGE_FRAME_SCATTER	0x9e3779b1UL

/*
 * PTEs per page table, as on x86-64: one table maps 2 MiB, one PMD
 * entry's worth.  Tables are allocated when a page in their range is
 * first populated and kept until the mm goes, so a region's untouched
 * stretches cost a NULL pointer per 2 MiB and nothing else.
 */
#define PTRS_PER_PTE	512

/* Skip list levels of the VMA tree: 2^16 VMAs at p = 1/4 per level. */
#define VMA_TREE_MAX_LEVEL 10

struct vm_area_struct {
	/*
	 * vm_start, vm_end and vm_pgoff change only under the mmap write lock
	 * with the VMA write-locked; lockless readers use READ_ONCE and must
	 * hold the VMA read lock before trusting them.
	 */
	unsigned long vm_start;
	unsigned long vm_end;
	unsigned long vm_pgoff;
	unsigned long vm_flags;
	struct mm_struct *vm_mm;

	/*
	 * Per-VMA lock (include/linux/mmap_lock.h): vm_refcnt is 0 when
	 * detached, 1 when attached, +1 per reader, +VMA_LOCK_OFFSET while a
	 * writer waits for readers to drain.  vm_lock_seq == mm_lock_seq
	 * means write-locked in the current mmap_lock write cycle.
	 */
	atomic_uint vm_refcnt;
	atomic_uint vm_lock_seq;

	/* Bumped on every change, for the torture checker (not the kernel's). */
	atomic_uint vm_gen;

	/* VMA tree: a skip list tower (the kernel uses a maple tree). */
	int tree_level;
	struct vm_area_struct *tree_next[VMA_TREE_MAX_LEVEL];

	struct rcu_head rcu;
	struct cds_lfs_node reclaim_node;	/* back to the writer after RCU */
	struct vm_area_struct *pool_next;	/* writer's free list */
	struct vm_area_struct *extra_next;	/* mm->vma_extra list, for good */
};

struct vma_tree {
	struct vm_area_struct head;	/* sentinel; only tree_next[] is used */
	int level;			/* highest level in use */
	uint64_t rand_state;		/* level choice (writer only) */
};

struct mm_struct {
	struct rw_semaphore mmap_lock;
	/*
	 * mm_lock_seq: odd while the mmap write lock is held.  Taking the
	 * write lock bumps it, releasing bumps it again; that second bump
	 * is what ends every VMA write lock of the cycle at once.
	 */
	atomic_uint mm_lock_seq;
	/* Futex word writers sleep on while a VMA's readers drain. */
	atomic_uint vma_writer_wait;

	struct vma_tree mm_mt;
	unsigned long map_count;
	unsigned long max_map_count;

	unsigned long region_start;
	unsigned long region_pages;
	/*
	 * One entry per PTRS_PER_PTE region pages.  An entry goes from NULL
	 * to its table once, under the mmap write lock (pte_alloc()), and
	 * stays until the mm is destroyed.
	 */
	pte_t **pmd;
	unsigned long nr_pmds;
	unsigned long nr_ptes;		/* PTE tables allocated (pgtables_bytes) */
	struct page *mem_map;		/* the page frames (struct page above) */
	unsigned long mem_map_mask;	/* their number, minus one */

	/* VMA allocation: a preallocated pool, refilled by RCU callbacks. */
	struct vm_area_struct *vma_pool;	/* the pool array */
	unsigned long vma_pool_size;
	struct vm_area_struct *vma_free;	/* writer's free list */
	struct cds_lfs_stack vma_reclaimed;	/* pushed by RCU callbacks */
	struct vm_area_struct *vma_extra;	/* allocated past the pool */
	unsigned long vma_extra_allocs;		/* VMAs allocated past the pool */

	double op_cost_ns;		/* extra per-op work (calibration) */
	double walk_cost_ns;		/* extra work per page walked (calibration) */
	double text_cost_ns;		/* extra work per byte of /proc text shown (calibration) */
	int inject;			/* PV_INJECT_* */
};

#endif
