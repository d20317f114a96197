/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mmap_lock and the per-VMA lock (include/linux/mmap_lock.h).
 *
 * Readers of the per-VMA lock run under RCU alone: vma_start_read() fails
 * instead of waiting, and the caller falls back to mmap_lock.  Writers
 * hold mmap_lock for write and lock each VMA they change with
 * vma_start_write(); all those VMA locks end together in
 * mmap_write_unlock() when mm_lock_seq moves on.
 */
#ifndef PROCVMA_MMAP_LOCK_H
#define PROCVMA_MMAP_LOCK_H

#include <errno.h>

#include "uapi.h"
#include "compiler.h"
#include "ktime.h"
#include "mm_types.h"
#include "sched.h"

/* Set in vm_refcnt while a writer excludes readers. */
#define VMA_LOCK_OFFSET	0x40000000u
/* Readers beyond this fail (the kernel's VMA_REF_LIMIT). */
#define VMA_REF_LIMIT	(VMA_LOCK_OFFSET - 1)

/* This task's lock figures, or NULL (pv_lock_stat_attach()). */
extern __thread struct pv_lock_stat *current_lock_stat;

/*
 * The kernel's mmap_lock tracepoints, at the kernel's points in the
 * wrappers below, feeding the current task's struct pv_lock_stat instead
 * of a trace buffer: so a figure means the same here as when the kernel
 * backend adds it up from the real tracepoints.  Like the real ones,
 * acquire_returned fires inside the lock and released before leaving it.
 * Only what the figures need is kept: write waits, read holds.
 */
static inline void __mmap_lock_trace_start_locking(struct mm_struct *mm, bool write)
{
	struct pv_lock_stat *st = current_lock_stat;
	struct task_struct *t = current;

	(void)mm;
	if (unlikely(st) && write) {
		st->wait_since_ns = ktime_get_ns();
		st->wait_since_sleeps = t ? t->sleeps : 0;
		st->wait_since_wakeups = t ? t->wakeups : 0;
		st->wait_since_wake_to_run_ns = t ? t->wake_to_run_ns : 0;
		st->wait_since_wake_runs = t ? t->wake_runs : 0;
	}
}

static inline void __mmap_lock_trace_acquire_returned(struct mm_struct *mm,
						      bool write, bool success)
{
	struct pv_lock_stat *st = current_lock_stat;
	struct task_struct *t = current;
	unsigned long long now;

	(void)mm;
	if (likely(!st))
		return;
	now = ktime_get_ns();
	if (write) {
		unsigned long long wait = now - st->wait_since_ns;

		st->write_wait_ns += wait;
		if (wait > st->write_wait_max_ns)
			st->write_wait_max_ns = wait;
		if (t) {
			st->write_sleeps += t->sleeps - st->wait_since_sleeps;
			st->write_wakeups += t->wakeups - st->wait_since_wakeups;
			st->write_wake_to_run_ns += t->wake_to_run_ns -
						    st->wait_since_wake_to_run_ns;
			st->write_wake_runs += t->wake_runs - st->wait_since_wake_runs;
		}
	} else if (success) {
		/*
		 * One hold in PV_HOLD_CPU_SAMPLE reads the thread's CPU clock
		 * at both ends (1.2 us a hold sampled, 0.15 us a hold on
		 * average), before the hold's own clock starts and after it
		 * stops, so the hold figures do not include the first read.
		 */
		st->read_since_cpu_ns = st->read_locks % PV_HOLD_CPU_SAMPLE ? 0 :
					task_cputime_ns();
		st->read_locks++;
		st->read_since_preempted_ns = t ? t->preempted_ns : 0;
		st->read_since_slept_ns = t ? t->slept_ns : 0;
		st->read_since_ns = ktime_get_ns();
	}
}

static inline void __mmap_lock_trace_released(struct mm_struct *mm, bool write)
{
	struct pv_lock_stat *st = current_lock_stat;
	struct task_struct *t = current;
	unsigned long long hold, preempted = 0, slept = 0;

	(void)mm;
	if (likely(!st) || write)
		return;
	hold = ktime_get_ns() - st->read_since_ns;
	st->read_hold_ns += hold;
	if (hold > st->read_hold_max_ns)
		st->read_hold_max_ns = hold;
	if (t) {
		preempted = t->preempted_ns - st->read_since_preempted_ns;
		slept = t->slept_ns - st->read_since_slept_ns;
		st->read_hold_preempted_ns += preempted;
		st->read_hold_slept_ns += slept;
	}
	if (st->read_since_cpu_ns) {
		unsigned long long cpu = task_cputime_ns() - st->read_since_cpu_ns;
		/* Off the CPU for none of the model's own reasons: the host's. */
		long long off = (long long)hold - (long long)cpu -
				(long long)(preempted + slept);

		if (off > 0)
			st->read_hold_host_off_ns += (unsigned long long)off;
		st->read_holds_sampled++;
	}
}

static inline void mmap_read_lock(struct mm_struct *mm)
{
	might_resched();	/* down_read()'s might_sleep() */
	__mmap_lock_trace_start_locking(mm, false);
	down_read(&mm->mmap_lock);
	__mmap_lock_trace_acquire_returned(mm, false, true);
}

static inline void mmap_read_unlock(struct mm_struct *mm)
{
	__mmap_lock_trace_released(mm, false);
	up_read(&mm->mmap_lock);
}

static inline void mmap_write_lock(struct mm_struct *mm)
{
	might_resched();	/* down_write()'s might_sleep() */
	/*
	 * The clock is read only by a writer that has to wait: the wait of
	 * one that does not is nil, and the mapper's uncontended op stays
	 * as cheap as without the figures.
	 */
	if (unlikely(!down_write_trylock(&mm->mmap_lock))) {
		__mmap_lock_trace_start_locking(mm, true);
		rwsem_down_write_slowpath(&mm->mmap_lock);
		__mmap_lock_trace_acquire_returned(mm, true, true);
	}
	/*
	 * mm_lock_seq goes odd: from now on vma_start_write() stamps VMAs
	 * with this value.  Ordered after the rwsem acquire; readers that
	 * compare it with vm_lock_seq do so after taking a VMA reference
	 * (see vma_start_read()).
	 */
	atomic_fetch_add(&mm->mm_lock_seq, 1);
	/*
	 * write_seqcount_begin()'s smp_wmb(): the odd count before every
	 * store of this write cycle (the tree, vma_set_range(), the PTEs).
	 * The seq_cst increment alone does not order later relaxed stores
	 * in C11 (ARMv8.0 builds it from ldaxr/stlxr, with no dmb), so a
	 * lockless reader could see a VMA's new range and still an even
	 * count.  Pairs with the acquire fence before the re-check in
	 * mmap_lock_speculate_retry(): a reader that saw any store of this
	 * cycle sees the odd count there, and does not trust what it read.
	 */
	atomic_thread_fence(memory_order_release);
}

/* vma_end_write_all(): every VMA stamped this cycle is unlocked by this. */
static inline void vma_end_write_all(struct mm_struct *mm)
{
	/*
	 * Release (seq_cst): every store of the cycle before the count goes
	 * even.  Pairs with the acquire load of mm_lock_seq that starts a
	 * lockless read (mmap_lock_speculate_try_begin()), and with
	 * vma_start_read()'s re-check: a reader that sees the cycle ended
	 * sees all it changed.
	 */
	atomic_fetch_add(&mm->mm_lock_seq, 1);
}

static inline void mmap_write_unlock(struct mm_struct *mm)
{
	vma_end_write_all(mm);
	up_write(&mm->mmap_lock);
}

static inline bool mmap_lock_is_contended(struct mm_struct *mm)
{
	return rwsem_is_contended(&mm->mmap_lock);
}

static inline bool mmap_lock_is_write_locked(struct mm_struct *mm)
{
	return atomic_load_explicit(&mm->mm_lock_seq, memory_order_relaxed) & 1;
}

/*
 * mmap_lock speculation: read the mm under RCU alone, then ask whether
 * any write cycle overlapped the reads; mm_lock_seq is the seqcount
 * (raw_seqcount_try_begin() and read_seqcount_retry() in the kernel).
 *
 *	if (!mmap_lock_speculate_try_begin(mm, &seq))
 *		-> a writer is in: take mmap_lock instead
 *	... lockless reads of the tree and the VMAs ...
 *	if (mmap_lock_speculate_retry(mm, seq))
 *		-> what was read may be torn: throw it away
 *
 * Sample mm_lock_seq into *@seq; false when a writer holds the mmap
 * write lock (the count is odd), whose work a read now would see half
 * done.
 */
static inline bool mmap_lock_speculate_try_begin(struct mm_struct *mm,
						 unsigned int *seq)
{
	/*
	 * Acquire, raw_read_seqcount()'s smp_rmb(): pairs with the release
	 * increment that ends a write cycle in vma_end_write_all(), so the
	 * reads that follow see at least everything that cycle stored.
	 */
	*seq = atomic_load_explicit(&mm->mm_lock_seq, memory_order_acquire);
	return !(*seq & 1);
}

/*
 * Has a write cycle begun since mmap_lock_speculate_try_begin() sampled
 * @seq?  Then the lockless reads made since may mix that writer's stores
 * with older ones, and must be thrown away.  Any write of the mm counts,
 * not only one of what was read: the count is the whole mm's.
 */
static inline bool mmap_lock_speculate_retry(struct mm_struct *mm, unsigned int seq)
{
	/*
	 * read_seqcount_retry()'s smp_rmb(): every read since @seq before
	 * the re-check.  Pairs with the release fence after the increment
	 * in mmap_write_lock(): a writer whose store one of our reads saw
	 * had made the count odd before that store, so the re-check sees
	 * the count moved.
	 */
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&mm->mm_lock_seq, memory_order_relaxed) != seq;
}

static inline bool __is_vma_write_locked(struct vm_area_struct *vma,
					 unsigned int *mm_lock_seq)
{
	*mm_lock_seq = atomic_load_explicit(&vma->vm_mm->mm_lock_seq,
					    memory_order_relaxed);
	return atomic_load_explicit(&vma->vm_lock_seq, memory_order_relaxed) ==
	       *mm_lock_seq;
}

void __vma_start_write(struct vm_area_struct *vma, unsigned int mm_lock_seq);

/*
 * Write-lock @vma for the rest of this mmap write cycle: waits until its
 * readers have left.  Caller holds the mmap write lock.
 */
static inline void vma_start_write(struct vm_area_struct *vma)
{
	unsigned int mm_lock_seq;

	if (__is_vma_write_locked(vma, &mm_lock_seq))
		return;
	__vma_start_write(vma, mm_lock_seq);
}

void vma_end_read_wake(struct mm_struct *mm);

/*
 * A writer waits on @refcnt (VMA_LOCK_OFFSET set) and no reader is left:
 * VMA_LOCK_OFFSET + 1 for an attached VMA (the tree's reference),
 * VMA_LOCK_OFFSET for one being detached.  Only then is a wake-up worth
 * its system call; the one for a VMA being detached comes a reader early
 * at worst, and the writer looks again.
 */
static inline bool is_vma_writer_only(unsigned int refcnt)
{
	return (refcnt & VMA_LOCK_OFFSET) && refcnt <= VMA_LOCK_OFFSET + 1;
}

static inline void vma_end_read(struct vm_area_struct *vma)
{
	/*
	 * A copy: once our reference is dropped the writer may detach the
	 * VMA and free it (after a grace period, which our caller's RCU
	 * section may not cover), so vma->vm_mm is not ours to read then.
	 */
	struct mm_struct *mm = vma->vm_mm;
	/*
	 * Release (seq_cst): our reads of the VMA happen before the drop.
	 * Pairs with the writer's load of vm_refcnt in vma_wait_refcnt():
	 * a writer that sees us gone sees nothing of ours still to come.
	 */
	unsigned int old = atomic_fetch_sub(&vma->vm_refcnt, 1);

	/* The last reader out while a writer waits: wake it. */
	if (unlikely(is_vma_writer_only(old - 1)))
		vma_end_read_wake(mm);
}

/*
 * Read-lock @vma found under RCU.  Returns 0, -EBUSY when it is
 * write-locked or a writer waits on it (fall back to mmap_lock), or
 * -EAGAIN when it has been detached (look it up again).
 */
static inline int vma_start_read(struct mm_struct *mm, struct vm_area_struct *vma)
{
	unsigned int old;

	/* Cheap early out; the check that counts is the one after the get. */
	if (atomic_load_explicit(&vma->vm_lock_seq, memory_order_relaxed) ==
	    atomic_load_explicit(&mm->mm_lock_seq, memory_order_relaxed))
		return -EBUSY;

	/* refcount_inc_not_zero_limited: fail on 0 (detached) or a writer. */
	old = atomic_load_explicit(&vma->vm_refcnt, memory_order_relaxed);
	do {
		if (!old)
			return -EAGAIN;
		if (old >= VMA_REF_LIMIT)
			return -EBUSY;
		/*
		 * Acquire (seq_cst) on success: pairs with the writer's
		 * seq_cst add of VMA_LOCK_OFFSET in __vma_start_write().
		 * Either the writer sees our reference and waits for it, or
		 * we see its offset here, or we see its vm_lock_seq below.
		 */
	} while (!atomic_compare_exchange_weak(&vma->vm_refcnt, &old, old + 1));

	if (unlikely(atomic_load(&vma->vm_lock_seq) == atomic_load(&mm->mm_lock_seq))) {
		vma_end_read(vma);	/* a writer may wait for this very reference */
		return -EBUSY;
	}
	return 0;
}

/* The VMA enters the tree: one reference that is the tree's. */
static inline void vma_mark_attached(struct vm_area_struct *vma)
{
	/* Release: pairs with the reader's get; fields are set before. */
	atomic_store(&vma->vm_refcnt, 1);
}

void vma_mark_detached(struct vm_area_struct *vma);

/*
 * Under RCU: find the first VMA ending above @from_addr and read-lock it.
 * NULL when there is none; ERR_PTR(-EBUSY) when it cannot be locked now
 * (the caller falls back to mmap_lock).  @retries counts look-ups redone
 * because the VMA changed under us.
 */
struct vm_area_struct *lock_next_vma(struct mm_struct *mm, unsigned long from_addr,
				     unsigned long long *retries);

#endif
