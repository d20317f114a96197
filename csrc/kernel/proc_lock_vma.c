// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --lock vma: per-VMA reading (docs/design.md), the kernel's task_mmu.c
 * with CONFIG_PER_VMA_LOCK, and the seed's smaps_rollup.
 *
 * Every VMA is found under RCU and read-locked on its own
 * (lock_next_vma()); when that fails the walker falls back to the mmap
 * read lock for the rest of the read() (fallback_to_mmap_lock()), and
 * only then does the rollup look for a waiting writer.  smaps and
 * numa_maps drop RCU around a VMA's page walk, the VMA's lock keeping it
 * stable.  A PROCMAP_QUERY locks its one VMA the same way, as since
 * Linux 6.18, and on failure takes mmap_lock for the rest of that query:
 * the kernel takes it only long enough to lock the VMA, a difference of
 * the VMA's formatting, not of the look-up.
 *
 * One difference from the kernel's lock_next_vma(), which takes
 * mmap_lock only long enough to read-lock the one VMA it could not get:
 * here, as in the seed's proc_get_vma(), the reader keeps mmap_lock until
 * the end of the read() (or, in the rollup, until it drops it on
 * contention).
 */
#include "fault_inject.h"
#include "proc_maps_lock.h"
#include "vma_tree.h"

static void lock_vma_range(struct proc_maps_locking_ctx *ctx)
{
	rcu_read_lock();
	ctx->mmap_locked = false;
	ctx->locked_vma = NULL;
}

static struct vm_area_struct *get_next_vma(struct proc_maps_locking_ctx *ctx,
					   unsigned long addr)
{
	struct vm_area_struct *vma;

	if (ctx->mmap_locked)
		return vma_find(ctx->mm, addr);

	unlock_ctx_vma(ctx);
	if (should_fail(ctx->mm, PV_INJECT_NO_VMA_LOCK)) {
		/* The fault under test: trust a VMA found under RCU alone. */
		vma = vma_find(ctx->mm, addr);
		ctx->vma_refs = false;
	} else {
		vma = lock_next_vma(ctx->mm, addr, &ctx->stats->retries);
		ctx->vma_refs = true;
	}
	if (!IS_ERR_OR_NULL(vma))
		ctx->locked_vma = vma;
	return vma;
}

static void query_vma_setup(struct proc_maps_locking_ctx *ctx)
{
	ctx->mmap_locked = false;
	ctx->locked_vma = NULL;
}

static struct vm_area_struct *query_vma_find_by_addr(struct proc_maps_locking_ctx *ctx,
						     unsigned long addr)
{
	struct mm_struct *mm = ctx->mm;
	struct vm_area_struct *vma;

	if (ctx->mmap_locked)
		return vma_find(mm, addr);

	/* Moving on from a VMA we skipped: only the next one stays locked. */
	unlock_ctx_vma(ctx);
	rcu_read_lock();
	vma = lock_next_vma(mm, addr, &ctx->stats->retries);
	rcu_read_unlock();
	if (!IS_ERR_OR_NULL(vma)) {
		ctx->locked_vma = vma;
		ctx->vma_refs = true;
		return vma;
	}
	if (!vma)
		return NULL;

	/* Write-locked, or a writer waits on it: ask under mmap_lock. */
	mmap_read_lock(mm);
	ctx->mmap_locked = true;
	ctx->stats->fallbacks++;
	return vma_find(mm, addr);
}

const struct proc_maps_lock_ops proc_lock_vma_ops = {
	.name = "vma",
	.procfiles = 1u << PV_PROC_MAPS | 1u << PV_PROC_SMAPS |
		     1u << PV_PROC_SMAPS_ROLLUP | 1u << PV_PROC_NUMA_MAPS,
	.lock_vma_range = lock_vma_range,
	.get_next_vma = get_next_vma,
	.query_vma_setup = query_vma_setup,
	.query_vma_find_by_addr = query_vma_find_by_addr,
};
