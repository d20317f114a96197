/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated address space: struct mm_struct, its VMAs, page tables and
 * pages.  Field names follow include/linux/mm_types.h where the thing
 * modelled is the kernel's.
 *
 * Address layout: one region of region_pages pages starting at
 * region_start.  The page table is flat (one PTE per region page); a PTE
 * is empty, a present page, or a swap entry.
 */
#ifndef PROCVMA_MM_TYPES_H
#define PROCVMA_MM_TYPES_H

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

/* struct page flags the smaps walk looks at. */
#define PG_anon		0x1u
#define PG_dirty	0x2u
#define PG_referenced	0x4u

struct page {
	atomic_int mapcount;		/* PTEs mapping it */
	atomic_uint flags;		/* PG_* */
	struct page *free_next;		/* on the mm's free list (writer only) */
};

/* A PTE value: 0 none, (page | PTE_PRESENT), or PTE_SWAP. */
typedef uintptr_t pte_t;
#define PTE_PRESENT	0x1UL
#define PTE_SWAP	0x2UL

static inline bool pte_present(pte_t pte) { return pte & PTE_PRESENT; }
static inline bool pte_is_swap(pte_t pte) { return pte == PTE_SWAP; }
static inline struct page *pte_page(pte_t pte)
{
	return (struct page *)(pte & ~(PTE_PRESENT | PTE_SWAP));
}

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
	pte_t *pte;			/* region_pages entries */

	struct page *pages;		/* region_pages records */
	struct page *page_free;		/* free list (writer only) */

	/* VMA allocation: a preallocated pool, refilled by RCU callbacks. */
	struct vm_area_struct *vma_pool;	/* the pool array */
	unsigned long vma_pool_size;
	struct vm_area_struct *vma_free;	/* writer's free list */
	struct cds_lfs_stack vma_reclaimed;	/* pushed by RCU callbacks */
	struct vm_area_struct *vma_extra;	/* allocated past the pool */
	unsigned long vma_extra_allocs;		/* times the pool ran dry */

	double op_cost_ns;		/* extra per-op work (calibration) */
	double walk_cost_ns;		/* extra work per page walked (calibration) */
	int inject;			/* PV_INJECT_* */
};

#endif
