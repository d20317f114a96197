// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PROCMAP_QUERY, the ioctl on /proc/PID/maps (fs/proc/task_mmu.c,
 * do_procmap_query()) that symbolizers and profilers use instead of
 * parsing the text: one VMA per call, found by address.  A symbolizer
 * walking the whole address space asks for the VMA covering or following
 * each address in turn, so a pass takes a lock once per VMA.
 *
 * Each reader locking design says how a query locks (proc_maps_lock.h:
 * query_vma_setup(), query_vma_find_by_addr()); one that does not say
 * does not answer the ioctl.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "api.h"
#include "compiler.h"
#include "proc_maps_lock.h"
#include "sched.h"

#define PROCMAP_QUERY_VMA_FLAGS (PV_PROCMAP_QUERY_VMA_READABLE |	\
				 PV_PROCMAP_QUERY_VMA_WRITABLE |	\
				 PV_PROCMAP_QUERY_VMA_EXECUTABLE |	\
				 PV_PROCMAP_QUERY_VMA_SHARED)

#define PROCMAP_QUERY_VALID_FLAGS_MASK (PROCMAP_QUERY_VMA_FLAGS |	\
					PV_PROCMAP_QUERY_COVERING_OR_NEXT_VMA | \
					PV_PROCMAP_QUERY_FILE_BACKED_VMA)

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
		vma = lock_ctx->ops->query_vma_find_by_addr(lock_ctx, addr);
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
		.mm = mm, .ops = proc_maps_lock_ops(lock),
		.stats = stats ? stats : &dummy,
	};
	struct vm_area_struct *vma;
	unsigned long vm_flags;
	int err = pv_lock_check_query(lock);

	if (err)
		return err;
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
	lock_ctx.ops->query_vma_setup(&lock_ctx);
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
