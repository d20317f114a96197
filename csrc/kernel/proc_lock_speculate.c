// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --lock speculate: maps read under RCU alone, each page checked against
 * mm_lock_seq before it goes out (docs/design.md).  The design per-VMA
 * reading replaced: Suren Baghdasaryan's RCU maps reader (RFC, January
 * 2024; v3, April 2025).
 *
 * A read() samples mm_lock_seq (mmap_lock_speculate_try_begin()), then
 * fills its page walking the VMA tree under RCU, with no lock at all, so
 * a writer never waits for it.  Before the page goes out,
 * mmap_lock_speculate_retry() asks whether a write cycle began since.
 * If one did, anywhere in the mm, the page may mix that writer's stores
 * with older ones: it is thrown away and filled again from the same
 * position (stats->retries).  That is the design's weakness, and why the
 * per-VMA series replaced it: a page is redone for a write to a VMA it
 * never showed, so under a busy writer the reader does a page's work
 * several times over.
 *
 * When speculation cannot begin (a writer holds the lock: the count is
 * odd), or the page has been refused SPECULATE_MAX_RETRIES times in a
 * row, the read() takes the mmap read lock for that page instead, as
 * the patch's fallback did (stats->fallbacks); nothing changes under it
 * and the page goes out as read.
 *
 * Only maps.  smaps and numa_maps walk page tables, which is not RCU-safe
 * (the walk may sleep, and page tables are not freed after a grace
 * period); the rollup has no page to throw away; PROCMAP_QUERY, one VMA
 * a call, is not modelled in this design.
 */
#include "fault_inject.h"
#include "proc_maps_lock.h"
#include "vma_tree.h"

/*
 * How many times a page may be refused before its read() takes the mmap
 * read lock.  The RFC retried without bound and asked how to bound the
 * reader's unfairness; the first remedy it offered was to fall back to
 * mmap_lock "after several lock-less retries".  Several is three here: a
 * page refused three times in a row was being read while writes came
 * faster than a page can be filled, and a fourth try would most likely
 * be refused too.  So a page costs at most four fillings before the
 * reader waits for the lock as --lock mmap does.  0 would be --lock mmap
 * plus one lockless try a page; no bound, the RFC as posted.
 */
#define SPECULATE_MAX_RETRIES 3

static void lock_vma_range(struct proc_maps_locking_ctx *ctx)
{
	if (ctx->spec_failures < SPECULATE_MAX_RETRIES &&
	    mmap_lock_speculate_try_begin(ctx->mm, &ctx->mm_wr_seq)) {
		rcu_read_lock();
		ctx->mmap_locked = false;
		return;
	}
	mmap_read_lock(ctx->mm);
	ctx->mmap_locked = true;
	ctx->stats->fallbacks++;
}

/*
 * Under RCU the VMA found may be changing as it is read: its range and
 * flags are read once each (READ_ONCE()), and validate() decides whether
 * what was read goes out.  RCU keeps the VMA from being freed and reused
 * before m_stop().
 */
static struct vm_area_struct *get_next_vma(struct proc_maps_locking_ctx *ctx,
					   unsigned long addr)
{
	return vma_find(ctx->mm, addr);
}

static bool validate(struct proc_maps_locking_ctx *ctx)
{
	/* Read under the fallback's mmap_lock: nothing could change. */
	if (ctx->mmap_locked)
		goto accept;
	/* The fault under test: the page goes out unchecked. */
	if (should_fail(ctx->mm, PV_INJECT_NO_SPECULATE_RETRY))
		goto accept;
	if (mmap_lock_speculate_retry(ctx->mm, ctx->mm_wr_seq)) {
		ctx->spec_failures++;
		ctx->stats->retries++;
		return false;
	}
accept:
	ctx->spec_failures = 0;
	return true;
}

const struct proc_maps_lock_ops proc_lock_speculate_ops = {
	.name = "speculate",
	.procfiles = 1u << PV_PROC_MAPS,
	.lock_vma_range = lock_vma_range,
	.get_next_vma = get_next_vma,
	.validate = validate,
};
