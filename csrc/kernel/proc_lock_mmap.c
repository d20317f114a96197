// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --lock mmap: the readers before per-VMA reading (docs/design.md), the
 * kernel's task_mmu.c without CONFIG_PER_VMA_LOCK.
 *
 * Every read() of maps, smaps or numa_maps holds the mmap read lock from
 * m_start() to m_stop(); smaps_rollup holds it for the whole walk and
 * lets a waiting writer in between VMAs, counting one more VMA after it
 * retakes the lock before it looks again (the kernel's "Cases 1, 2 and
 * 4").  A PROCMAP_QUERY holds it for the one query, as Linux 6.11 to
 * 6.16 did.  Nothing the walkers meet can fail: no fallback, no retry.
 */
#include "proc_maps_lock.h"
#include "vma_tree.h"

static void lock_vma_range(struct proc_maps_locking_ctx *ctx)
{
	mmap_read_lock(ctx->mm);
	ctx->mmap_locked = true;
}

static struct vm_area_struct *get_next_vma(struct proc_maps_locking_ctx *ctx,
					   unsigned long addr)
{
	return vma_find(ctx->mm, addr);
}

const struct proc_maps_lock_ops proc_lock_mmap_ops = {
	.name = "mmap",
	.procfiles = 1u << PV_PROC_MAPS | 1u << PV_PROC_SMAPS |
		     1u << PV_PROC_SMAPS_ROLLUP | 1u << PV_PROC_NUMA_MAPS,
	.lock_vma_range = lock_vma_range,
	.get_next_vma = get_next_vma,
	.rollup_gather_after_retake = true,
	/* query_vma_setup() takes mmap_lock, which keeps the tree still. */
	.query_vma_setup = lock_vma_range,
	.query_vma_find_by_addr = get_next_vma,
};
