// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The two operations the mapper times, mmap(MAP_FIXED|MAP_POPULATE) and
 * munmap(), with the kernel's split / shrink / remove / merge behaviour
 * for anonymous private mappings, and the VMA allocation they use.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "compiler.h"
#include "mm.h"
#include "mmap_lock.h"
#include "vma_tree.h"

/* Pool slack for VMAs that wait out a grace period before coming back. */
#define VMA_POOL_SLACK 4096

/* ---- allocation: no general heap on the mapper's timed path ---------- */

static void vm_area_init(struct mm_struct *mm, struct vm_area_struct *vma,
			 unsigned long start, unsigned long end,
			 unsigned long pgoff)
{
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
	vma->vm_flags = VM_ANON_RW;
	vma->vm_mm = mm;
	atomic_store_explicit(&vma->vm_refcnt, 0, memory_order_relaxed);
	/* vma_lock_init(): never equal to a live mm_lock_seq */
	atomic_store_explicit(&vma->vm_lock_seq, UINT_MAX, memory_order_relaxed);
	atomic_fetch_add_explicit(&vma->vm_gen, 1, memory_order_relaxed);
	cds_lfs_node_init(&vma->reclaim_node);
}

/* A VMA beyond the pool array, kept on mm->vma_extra until the mm goes. */
static struct vm_area_struct *vm_area_alloc_extra(struct mm_struct *mm)
{
	struct vm_area_struct *vma = calloc(1, sizeof(*vma));

	if (!vma)
		return NULL;
	/* Its own link: pool_next is reused while it sits on the free list. */
	vma->extra_next = mm->vma_extra;
	mm->vma_extra = vma;
	mm->vma_extra_allocs++;
	return vma;
}

static struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct vm_area_struct *vma = mm->vma_free;

	if (!vma) {
		struct cds_lfs_head *head;
		struct cds_lfs_node *node, *n;

		/*
		 * Take back what the RCU callbacks returned.  We are the only
		 * popper, which is what __cds_lfs_pop_all() asks of its
		 * callers; pushes may run concurrently.
		 */
		head = __cds_lfs_pop_all(&mm->vma_reclaimed);
		/* The macro takes &head->node: not on an empty stack's NULL. */
		if (head)
			cds_lfs_for_each_safe(head, node, n) {
				vma = container_of(node, struct vm_area_struct,
						   reclaim_node);
				vma->pool_next = mm->vma_free;
				mm->vma_free = vma;
			}
		vma = mm->vma_free;
	}
	if (vma) {
		mm->vma_free = vma->pool_next;
		return vma;
	}
	/* The pool is sized so this happens only under sustained churn. */
	return vm_area_alloc_extra(mm);
}

static void vm_area_free_cb(struct rcu_head *head)
{
	struct vm_area_struct *vma = container_of(head, struct vm_area_struct, rcu);

	cds_lfs_push(&vma->vm_mm->vma_reclaimed, &vma->reclaim_node);
}

/* Readers under RCU may still be looking at it: free after a grace period. */
static void vm_area_free_rcu(struct vm_area_struct *vma)
{
	call_rcu(&vma->rcu, vm_area_free_cb);
}

/*
 * VMAs the mm can hold at once: one per two pages at most (a VMA needs a
 * hole on either side to stay apart), and never past vm.max_map_count,
 * which every operation honours; plus those waiting out a grace period.
 */
static unsigned long vma_pool_need(unsigned long region_pages,
				   unsigned long max_map_count)
{
	unsigned long n = region_pages / 2 + 1;

	if (n > max_map_count + 1)
		n = max_map_count + 1;
	return n + VMA_POOL_SLACK;
}

int mm_vma_pool_init(struct mm_struct *mm)
{
	unsigned long i;

	mm->vma_pool_size = vma_pool_need(mm->region_pages, mm->max_map_count);
	mm->vma_pool = calloc(mm->vma_pool_size, sizeof(*mm->vma_pool));
	if (!mm->vma_pool)
		return -ENOMEM;
	for (i = mm->vma_pool_size; i-- > 0;) {
		mm->vma_pool[i].pool_next = mm->vma_free;
		mm->vma_free = &mm->vma_pool[i];
	}
	return 0;
}

int mm_vma_pool_reserve(struct mm_struct *mm)
{
	unsigned long have = mm->vma_pool_size + mm->vma_extra_allocs;
	unsigned long need = vma_pool_need(mm->region_pages, mm->max_map_count);

	for (; have < need; have++) {
		struct vm_area_struct *vma = vm_area_alloc_extra(mm);

		if (!vma)
			return -ENOMEM;
		vma->pool_next = mm->vma_free;
		mm->vma_free = vma;
	}
	return 0;
}

unsigned long long mm_vma_pool_footprint(unsigned long region_pages,
					 unsigned long max_map_count)
{
	return (unsigned long long)vma_pool_need(region_pages, max_map_count) *
	       sizeof(struct vm_area_struct);
}

/* Every call_rcu() callback that points into the pool has run. */
void mm_vma_pool_free(struct mm_struct *mm)
{
	while (mm->vma_extra) {
		struct vm_area_struct *vma = mm->vma_extra;

		mm->vma_extra = vma->extra_next;
		free(vma);
	}
	free(mm->vma_pool);
}

/* ---- VMA changes (mmap write lock held) ------------------------------- */

static unsigned long vma_pages(const struct vm_area_struct *vma)
{
	return (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
}

/* Mark a change to a write-locked VMA for the torture checker. */
static void vma_touch(struct vm_area_struct *vma)
{
	atomic_fetch_add_explicit(&vma->vm_gen, 1, memory_order_relaxed);
}

static void vma_set_range(struct vm_area_struct *vma, unsigned long start,
			  unsigned long end, unsigned long pgoff)
{
	vma_touch(vma);
	WRITE_ONCE(vma->vm_pgoff, pgoff);
	WRITE_ONCE(vma->vm_start, start);
	WRITE_ONCE(vma->vm_end, end);
}

/* Insert a new VMA, write-locked from birth as the kernel's are. */
static void vma_link(struct mm_struct *mm, struct vm_area_struct *vma)
{
	vma_start_write(vma);
	vma_mark_attached(vma);
	vma_tree_insert(mm, vma);
	mm->map_count++;
}

static void vma_remove(struct mm_struct *mm, struct vm_area_struct *vma)
{
	vma_tree_erase(mm, vma);
	vma_mark_detached(vma);
	mm->map_count--;
	vm_area_free_rcu(vma);
}

/*
 * Anonymous private VMAs merge when their flags match and their page
 * offsets run on (anon vm_pgoff is the address >> PAGE_SHIFT at creation):
 * is_mergeable_vma() and the anon_vma checks, for mappings never forked.
 */
static bool can_merge_before(const struct vm_area_struct *prev, unsigned long start,
			     unsigned long flags)
{
	return prev && prev->vm_end == start && prev->vm_flags == flags &&
	       prev->vm_pgoff + vma_pages(prev) == start >> PAGE_SHIFT;
}

static bool can_merge_after(const struct vm_area_struct *next, unsigned long end,
			    unsigned long flags)
{
	return next && next->vm_start == end && next->vm_flags == flags &&
	       next->vm_pgoff == end >> PAGE_SHIFT;
}

/* Change in map_count that munmap(start, end) would make. */
static long munmap_map_count_delta(struct mm_struct *mm, unsigned long start,
				   unsigned long end)
{
	struct vm_area_struct *vma;
	long delta = 0;

	for (vma = vma_find(mm, start); vma && vma->vm_start < end;
	     vma = vma_next_of(vma))
		delta += (vma->vm_start < start) + (vma->vm_end > end) - 1;
	return delta;
}

static int do_munmap_locked(struct mm_struct *mm, unsigned long start,
			    unsigned long end)
{
	struct vm_area_struct *vma = vma_find(mm, start);

	while (vma && vma->vm_start < end) {
		struct vm_area_struct *next = vma_next_of(vma);

		vma_start_write(vma);
		if (vma->vm_start < start && vma->vm_end > end) {
			/* __split_vma(): the part above the hole becomes a new VMA. */
			struct vm_area_struct *tail = vm_area_alloc(mm);

			if (!tail)
				return -ENOMEM;
			vm_area_init(mm, tail, end, vma->vm_end,
				     vma->vm_pgoff + ((end - vma->vm_start) >> PAGE_SHIFT));
			tail->vm_flags = vma->vm_flags;
			vma_link(mm, tail);
			vma_set_range(vma, vma->vm_start, start, vma->vm_pgoff);
		} else if (vma->vm_start < start) {
			vma_set_range(vma, vma->vm_start, start, vma->vm_pgoff);
		} else if (vma->vm_end > end) {
			vma_set_range(vma, end, vma->vm_end,
				      vma->vm_pgoff + ((end - vma->vm_start) >> PAGE_SHIFT));
		} else {
			vma_touch(vma);
			vma_remove(mm, vma);
		}
		vma = next;
	}
	zap_pte_range(mm, start, end);
	return 0;
}

int do_munmap(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	if (mm->map_count + munmap_map_count_delta(mm, start, end) > mm->max_map_count)
		return -ENOMEM;
	return do_munmap_locked(mm, start, end);
}

int do_mmap_fixed_populate(struct mm_struct *mm, unsigned long start,
			   unsigned long end)
{
	const unsigned long flags = VM_ANON_RW;
	struct vm_area_struct *prev, *next, *vma;
	bool merge_prev, merge_next;
	long delta;
	int err;

	/*
	 * Decide everything that can fail before changing anything, so that
	 * ENOMEM leaves the mm as it was: the map count after unmapping what
	 * is there, then inserting and merging.
	 */
	prev = start > mm->region_start ? vma_lookup(mm, start - 1) : NULL;
	next = vma_lookup(mm, end);
	/* After the unmap, what covers start - 1 ends at start, what covers end begins there. */
	merge_prev = prev && prev->vm_flags == flags &&
		     prev->vm_pgoff + ((start - prev->vm_start) >> PAGE_SHIFT) ==
		     start >> PAGE_SHIFT;
	merge_next = next && next->vm_flags == flags &&
		     next->vm_pgoff + ((end - next->vm_start) >> PAGE_SHIFT) ==
		     end >> PAGE_SHIFT;
	delta = munmap_map_count_delta(mm, start, end) + 1 - merge_prev - merge_next;
	if (delta > 0 && mm->map_count + delta > mm->max_map_count)
		return -ENOMEM;

	err = do_munmap_locked(mm, start, end);
	if (err)
		return err;

	/* The unmap may have split them: look again at what borders us. */
	prev = start > mm->region_start ? vma_lookup(mm, start - 1) : NULL;
	next = vma_lookup(mm, end);
	merge_prev = can_merge_before(prev, start, flags);
	merge_next = can_merge_after(next, end, flags);

	if (merge_prev && merge_next) {
		vma_start_write(prev);
		vma_start_write(next);
		vma_set_range(prev, prev->vm_start, next->vm_end, prev->vm_pgoff);
		vma_touch(next);
		vma_remove(mm, next);
	} else if (merge_prev) {
		vma_start_write(prev);
		vma_set_range(prev, prev->vm_start, end, prev->vm_pgoff);
	} else if (merge_next) {
		vma_start_write(next);
		vma_set_range(next, start, next->vm_end, start >> PAGE_SHIFT);
	} else {
		vma = vm_area_alloc(mm);
		if (!vma)
			return -ENOMEM;
		vm_area_init(mm, vma, start, end, start >> PAGE_SHIFT);
		vma_link(mm, vma);
	}
	return populate_range(mm, start, end);
}
