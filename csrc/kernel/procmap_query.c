// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PROCMAP_QUERY, the ioctl on /proc/PID/maps (fs/proc/task_mmu.c,
 * do_procmap_query()) that symbolizers and profilers use instead of
 * parsing the text: one VMA per call, found by address.  A symbolizer
 * walking the whole address space asks for the VMA covering or following
 * each address in turn, so a pass takes a lock once per VMA.
 *
 *  PV_LOCK_MMAP  query_vma_setup() takes the mmap read lock for the one
 *                query and query_vma_teardown() drops it, as before the
 *                per-VMA maps series (Linux 6.11 to 6.16).
 *  PV_LOCK_VMA   the query finds the VMA under RCU and read-locks it
 *                alone (lock_next_vma()), as since that series.  When the
 *                VMA cannot be locked the query falls back to the mmap
 *                read lock for the rest of that one query: the kernel
 *                takes it only long enough to lock the VMA, a difference
 *                of the VMA's formatting, not of the look-up.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "api.h"
#include "compiler.h"
#include "mmap_lock.h"
#include "sched.h"
#include "vma_tree.h"

#define PROCMAP_QUERY_VMA_FLAGS (PV_PROCMAP_QUERY_VMA_READABLE |	\
				 PV_PROCMAP_QUERY_VMA_WRITABLE |	\
				 PV_PROCMAP_QUERY_VMA_EXECUTABLE |	\
				 PV_PROCMAP_QUERY_VMA_SHARED)

#define PROCMAP_QUERY_VALID_FLAGS_MASK (PROCMAP_QUERY_VMA_FLAGS |	\
					PV_PROCMAP_QUERY_COVERING_OR_NEXT_VMA | \
					PV_PROCMAP_QUERY_FILE_BACKED_VMA)

/* The part of proc_maps_private a query uses (proc_maps_locking_ctx). */
struct proc_maps_locking_ctx {
	struct mm_struct *mm;
	struct vm_area_struct *locked_vma;
	bool mmap_locked;
	struct pv_walk_stats *stats;
};

static void unlock_ctx_vma(struct proc_maps_locking_ctx *lock_ctx)
{
	if (lock_ctx->locked_vma) {
		vma_end_read(lock_ctx->locked_vma);
		lock_ctx->locked_vma = NULL;
	}
}

static void query_vma_setup(struct proc_maps_locking_ctx *lock_ctx, int lock)
{
	lock_ctx->locked_vma = NULL;
	lock_ctx->mmap_locked = false;
	if (lock == PV_LOCK_MMAP) {
		mmap_read_lock(lock_ctx->mm);
		lock_ctx->mmap_locked = true;
	}
}

static void query_vma_teardown(struct proc_maps_locking_ctx *lock_ctx)
{
	if (lock_ctx->mmap_locked)
		mmap_read_unlock(lock_ctx->mm);
	else
		unlock_ctx_vma(lock_ctx);
}

/* The first VMA ending above @addr, locked as the design locks it; or NULL. */
static struct vm_area_struct *
query_vma_find_by_addr(struct proc_maps_locking_ctx *lock_ctx, unsigned long addr)
{
	struct mm_struct *mm = lock_ctx->mm;
	struct vm_area_struct *vma;

	if (lock_ctx->mmap_locked)
		return vma_find(mm, addr);

	/* Moving on from a VMA we skipped: only the next one stays locked. */
	unlock_ctx_vma(lock_ctx);
	rcu_read_lock();
	vma = lock_next_vma(mm, addr, &lock_ctx->stats->retries);
	rcu_read_unlock();
	if (!IS_ERR_OR_NULL(vma)) {
		lock_ctx->locked_vma = vma;
		return vma;
	}
	if (!vma)
		return NULL;

	/* Write-locked, or a writer waits on it: ask under mmap_lock. */
	mmap_read_lock(mm);
	lock_ctx->mmap_locked = true;
	lock_ctx->stats->fallbacks++;
	return vma_find(mm, addr);
}

static bool query_vma_perms_match(const struct vm_area_struct *vma,
				  unsigned long long flags)
{
	unsigned long vm_flags = READ_ONCE(vma->vm_flags);

	if ((flags & PV_PROCMAP_QUERY_VMA_READABLE) && !(vm_flags & VM_READ))
		return false;
	if ((flags & PV_PROCMAP_QUERY_VMA_WRITABLE) && !(vm_flags & VM_WRITE))
		return false;
	if ((flags & PV_PROCMAP_QUERY_VMA_EXECUTABLE) && !(vm_flags & VM_EXEC))
		return false;
	if ((flags & PV_PROCMAP_QUERY_VMA_SHARED) && !(vm_flags & VM_MAYSHARE))
		return false;
	return true;
}

static struct vm_area_struct *
query_matching_vma(struct proc_maps_locking_ctx *lock_ctx, unsigned long addr,
		   unsigned long long flags)
{
	struct vm_area_struct *vma;

	for (;;) {
		vma = query_vma_find_by_addr(lock_ctx, addr);
		if (!vma)
			return ERR_PTR(-ENOENT);
		/* Every simulated VMA is anonymous: none is file-backed. */
		if (!(flags & PV_PROCMAP_QUERY_FILE_BACKED_VMA) &&
		    query_vma_perms_match(vma, flags) &&
		    ((flags & PV_PROCMAP_QUERY_COVERING_OR_NEXT_VMA) ||
		     vma->vm_start <= addr))
			return vma;
		/* Not this one: only a caller happy with the next goes on. */
		if (!(flags & PV_PROCMAP_QUERY_COVERING_OR_NEXT_VMA))
			return ERR_PTR(-ENOENT);
		addr = vma->vm_end;
	}
}

int pv_procmap_query(struct mm_struct *mm, int lock, struct pv_procmap_query *q,
		     struct pv_walk_stats *stats)
{
	struct pv_walk_stats dummy = { 0 };
	struct proc_maps_locking_ctx lock_ctx = {
		.mm = mm, .stats = stats ? stats : &dummy,
	};
	struct vm_area_struct *vma;
	unsigned long vm_flags;

	if (lock != PV_LOCK_MMAP && lock != PV_LOCK_VMA)
		return -EINVAL;
	/* The checks do_procmap_query() makes before it takes any lock. */
	if (q->size < offsetof(struct pv_procmap_query, vma_start))
		return -EINVAL;
	/* The kernel takes a larger struct whose extra bytes are zero. */
	if (q->size > sizeof(*q))
		return -E2BIG;
	if (q->query_flags & ~(unsigned long long)PROCMAP_QUERY_VALID_FLAGS_MASK)
		return -EINVAL;
	if (!!q->vma_name_size != !!q->vma_name_addr ||
	    !!q->build_id_size != !!q->build_id_addr)
		return -EINVAL;

	lock_ctx.stats->reads++;
	query_vma_setup(&lock_ctx, lock);
	vma = query_matching_vma(&lock_ctx, q->query_addr, q->query_flags);
	if (IS_ERR(vma)) {
		query_vma_teardown(&lock_ctx);
		return (int)PTR_ERR(vma);
	}

	q->vma_start = vma->vm_start;
	q->vma_end = vma->vm_end;
	vm_flags = vma->vm_flags;
	q->vma_flags = 0;
	if (vm_flags & VM_READ)
		q->vma_flags |= PV_PROCMAP_QUERY_VMA_READABLE;
	if (vm_flags & VM_WRITE)
		q->vma_flags |= PV_PROCMAP_QUERY_VMA_WRITABLE;
	if (vm_flags & VM_EXEC)
		q->vma_flags |= PV_PROCMAP_QUERY_VMA_EXECUTABLE;
	if (vm_flags & VM_MAYSHARE)
		q->vma_flags |= PV_PROCMAP_QUERY_VMA_SHARED;
	q->vma_page_size = PAGE_SIZE;
	/* Anonymous: no file, so no offset, device, inode, name or build ID. */
	q->vma_offset = 0;
	q->dev_major = 0;
	q->dev_minor = 0;
	q->inode = 0;
	q->vma_name_size = 0;
	q->build_id_size = 0;
	query_vma_teardown(&lock_ctx);

	lock_ctx.stats->vmas++;
	return 0;
}

long pv_procmap_query_walk(struct mm_struct *mm, int lock,
			   struct pv_walk_stats *stats)
{
	struct pv_walk_stats dummy = { 0 };
	struct pv_procmap_query q;
	unsigned long long addr = 0;
	long n = 0;
	int err;

	if (!stats)
		stats = &dummy;
	for (;;) {
		q = (struct pv_procmap_query){
			.size = sizeof(q),
			.query_flags = PV_PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
			.query_addr = addr,
		};
		syscall_enter();	/* one ioctl() */
		err = pv_procmap_query(mm, lock, &q, stats);
		syscall_exit();
		if (err == -ENOENT)
			break;
		if (err)
			return err;
		n++;
		addr = q.vma_end;
	}
	stats->walks++;
	return n;
}
