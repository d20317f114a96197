/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reader locking designs (docs/design.md): how the /proc/PID/{maps,smaps,
 * smaps_rollup,numa_maps} walkers (task_mmu.c) and PROCMAP_QUERY
 * (procmap_query.c) keep what they read of the mm stable.
 *
 * A design is one struct proc_maps_lock_ops in a file of its own
 * (proc_lock_<word>.c, where fs/proc/task_mmu.c has an #ifdef branch
 * per configuration, with the same function names), registered in the
 * one table of proc_maps_lock.c under its PV_LOCK_* constant.  The
 * walkers call its hooks and never ask which design they run: what
 * they share is below, where it is the same for every design.
 */
#ifndef PROCVMA_PROC_MAPS_LOCK_H
#define PROCVMA_PROC_MAPS_LOCK_H

#include <stdbool.h>

#include "uapi.h"
#include "compiler.h"
#include "mm_types.h"
#include "mmap_lock.h"
#include "rcu.h"

struct proc_maps_lock_ops;

/*
 * What a reader holds while it reads (the kernel's proc_maps_locking_ctx):
 * the mmap read lock, or RCU and at most one VMA's read lock, and what
 * a design keeps from one hook to the next.
 */
struct proc_maps_locking_ctx {
	struct mm_struct *mm;
	const struct proc_maps_lock_ops *ops;
	struct pv_walk_stats *stats;
	bool mmap_locked;		/* holding the mmap read lock */
	bool vma_refs;			/* locked_vma holds a VMA read lock */
	struct vm_area_struct *locked_vma;
	unsigned int mm_wr_seq;		/* speculation: mm_lock_seq at the page's start */
	unsigned int spec_failures;	/* speculation: the page's failed tries so far */
};

struct proc_maps_lock_ops {
	const char *name;		/* the word --lock takes */
	unsigned int procfiles;		/* 1 << PV_PROC_* of the files it reads */

	/*
	 * Begin a read() of maps, smaps or numa_maps (m_start()), or the
	 * rollup's walk.  unlock_vma_range() ends it, whatever the design.
	 */
	void (*lock_vma_range)(struct proc_maps_locking_ctx *ctx);
	/*
	 * The first VMA ending above @addr, held as the design holds one;
	 * NULL past the last; ERR_PTR(-EBUSY) when it cannot be had that
	 * way now (the walker falls back to the mmap read lock and asks
	 * again).
	 */
	struct vm_area_struct *(*get_next_vma)(struct proc_maps_locking_ctx *ctx,
					       unsigned long addr);
	/*
	 * Before a read() of maps, smaps or numa_maps returns the page it
	 * filled, still holding what it filled it under: may the page go
	 * out?  False: the walker throws it away and fills it again from
	 * where it began, and asks again: a design that refuses must come
	 * to accept, the walker does not give up.  NULL: always.  The
	 * rollup, one show with no page to throw away, never asks: a design
	 * that needs to cannot read it.
	 */
	bool (*validate)(struct proc_maps_locking_ctx *ctx);
	/*
	 * smaps_rollup, having let a waiting writer in (dropped and retaken
	 * mmap_lock), counts the VMA it resumes at before it looks at the
	 * lock again: the loop before per-VMA rollups.
	 */
	bool rollup_gather_after_retake;

	/* PROCMAP_QUERY: set up a query's locking, and find its VMA.  NULL: not served. */
	void (*query_vma_setup)(struct proc_maps_locking_ctx *ctx);
	struct vm_area_struct *(*query_vma_find_by_addr)(struct proc_maps_locking_ctx *ctx,
							 unsigned long addr);
};

/*
 * Design @lock (PV_LOCK_*), or NULL for no such design.  Whether it reads
 * a given file, pv_lock_check() (api.h) says.
 */
const struct proc_maps_lock_ops *proc_maps_lock_ops(int lock);

/* ---- what every design shares -------------------------------------------- */

/* Drop the VMA read lock the reader holds, if any. */
static inline void unlock_ctx_vma(struct proc_maps_locking_ctx *ctx)
{
	if (ctx->locked_vma && ctx->vma_refs)
		vma_end_read(ctx->locked_vma);
	ctx->locked_vma = NULL;
}

/* End what lock_vma_range() began, or what a fallback took. */
static inline void unlock_vma_range(struct proc_maps_locking_ctx *ctx)
{
	if (ctx->mmap_locked) {
		mmap_read_unlock(ctx->mm);
		ctx->mmap_locked = false;
	} else {
		unlock_ctx_vma(ctx);
		rcu_read_unlock();
	}
}

/*
 * The lockless way failed (get_next_vma() holds no VMA then): leave RCU
 * for the mmap read lock, until the read() ends.  False when already
 * there, with nothing left to fall back to.
 */
static inline bool fallback_to_mmap_lock(struct proc_maps_locking_ctx *ctx)
{
	if (ctx->mmap_locked)
		return false;
	rcu_read_unlock();
	mmap_read_lock(ctx->mm);
	ctx->mmap_locked = true;
	ctx->stats->fallbacks++;
	return true;
}

/* A query is done with its VMA (query_vma_teardown()). */
static inline void query_vma_teardown(struct proc_maps_locking_ctx *ctx)
{
	if (ctx->mmap_locked)
		mmap_read_unlock(ctx->mm);
	else
		unlock_ctx_vma(ctx);
}

#endif
