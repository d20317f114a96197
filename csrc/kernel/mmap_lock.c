// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-VMA lock slow paths and the RCU-side VMA lookup (mm/mmap_lock.c).
 */
#include "mmap_lock.h"
#include "futex.h"
#include "vma_tree.h"
#include "fault_inject.h"
#include "sched.h"

__thread struct pv_lock_stat *current_lock_stat;

#define VMA_WAIT_SPIN_LOOPS 200
/* How long a reader waits for a writer to close its cycle: about as long. */
#define GAP_SPIN_LOOPS 200

/*
 * Wait until vm_refcnt == @target, which leaves the writer alone
 * (is_vma_writer_only()).  The writer samples vma_writer_wait, then
 * re-reads vm_refcnt, both seq_cst; the reader whose drop reaches
 * @target bumps vma_writer_wait after its seq_cst decrement
 * (vma_end_read()), so if the re-read missed that drop, the bump comes
 * after our sample and futex_wait() returns at once.  Readers that leave
 * others behind them do not wake us: nothing we wait for changed.
 */
static void vma_wait_refcnt(struct vm_area_struct *vma, unsigned int target)
{
	struct mm_struct *mm = vma->vm_mm;
	int spins = 0;

	while (atomic_load(&vma->vm_refcnt) != target) {
		unsigned int seq;
		uint64_t since;

		if (spins++ < VMA_WAIT_SPIN_LOOPS) {
			cpu_relax();
			continue;
		}
		seq = atomic_load(&mm->vma_writer_wait);
		if (atomic_load(&vma->vm_refcnt) == target)
			break;
		since = sched_sleep_begin();
		sched_sleep_end(since, futex_wait(&mm->vma_writer_wait, seq));
	}
}

void vma_end_read_wake(struct mm_struct *mm)
{
	/* seq_cst: after the reader's decrement; see vma_wait_refcnt(). */
	atomic_fetch_add(&mm->vma_writer_wait, 1);
	futex_wake_all(&mm->vma_writer_wait);
}

/*
 * __vma_enter_locked(): set VMA_LOCK_OFFSET so no new reader gets in, then
 * wait for the readers inside to leave.  False if @vma is detached (no
 * reader can find it then).
 */
static bool vma_enter_locked(struct vm_area_struct *vma, bool detaching)
{
	unsigned int old = atomic_load(&vma->vm_refcnt);

	do {
		if (!old)
			return false;
		/*
		 * seq_cst: pairs with the reader's increment in
		 * vma_start_read(); see the comment there.
		 */
	} while (!atomic_compare_exchange_weak(&vma->vm_refcnt, &old,
					       old + VMA_LOCK_OFFSET));

	/* Attached VMAs keep the tree's reference; a detaching one does not. */
	vma_wait_refcnt(vma, VMA_LOCK_OFFSET + (detaching ? 0 : 1));
	return true;
}

void __vma_start_write(struct vm_area_struct *vma, unsigned int mm_lock_seq)
{
	struct mm_struct *mm = vma->vm_mm;
	bool locked = false;

	if (!should_fail(mm, PV_INJECT_NO_DRAIN))
		locked = vma_enter_locked(vma, false);

	/*
	 * From here on vma_start_read() fails on vm_lock_seq alone, until
	 * vma_end_write_all() moves mm_lock_seq on.  seq_cst store, before
	 * the offset is dropped below: pairs with vma_start_read()'s
	 * re-check after its increment, so a reader that gets in once the
	 * offset is gone sees this stamp and leaves.
	 */
	atomic_store(&vma->vm_lock_seq, mm_lock_seq);
	if (locked)
		atomic_fetch_sub(&vma->vm_refcnt, VMA_LOCK_OFFSET);
}

void vma_mark_detached(struct vm_area_struct *vma)
{
	/*
	 * The VMA is write-locked, so readers that still got a reference
	 * see vm_lock_seq and drop it at once; wait for those.
	 */
	if (atomic_fetch_sub(&vma->vm_refcnt, 1) != 1 &&
	    vma_enter_locked(vma, true))
		atomic_fetch_sub(&vma->vm_refcnt, VMA_LOCK_OFFSET);
}

enum gap_state { GAP_REAL, GAP_FILLED, GAP_UNKNOWN };

/*
 * Is [from_addr, vma->vm_start) really empty (everything above from_addr
 * when @vma is NULL)?  Unlike the maple tree,
 * which stores a replacement VMA over the old one in a single step, the
 * simulated tree is briefly empty where a writer swaps a VMA for a new
 * one (MAP_FIXED over a VMA it cannot merge with): it erases the old one,
 * then inserts the new one.  A look-up made while a write cycle is open
 * may see that transient gap, so trust only a look-up that no write cycle
 * overlapped, the way mmap_lock_speculate_try_begin()/_retry() validate a
 * lockless read in the kernel.  A writer that stays inside its cycle for
 * long (preempted) sends us to mmap_lock instead.
 */
static enum gap_state gap_before(struct mm_struct *mm, unsigned long from_addr,
				 struct vm_area_struct *vma)
{
	int spins;

	for (spins = 0; spins < GAP_SPIN_LOOPS; spins++) {
		unsigned int seq;

		if (mmap_lock_speculate_try_begin(mm, &seq)) {
			struct vm_area_struct *found = vma_find(mm, from_addr);

			if (!mmap_lock_speculate_retry(mm, seq))
				return found == vma ? GAP_REAL : GAP_FILLED;
		}
		cpu_relax();
	}
	return GAP_UNKNOWN;
}

/*
 * mmap_lock_speculate_try_begin()/_retry(): did no write cycle overlap
 * the look-ups made since @seq was sampled?  Then what they found was the
 * tree as some moment left it, gaps included.
 */
static bool lookup_unchanged(struct mm_struct *mm, unsigned int seq)
{
	return !(seq & 1) && !mmap_lock_speculate_retry(mm, seq);
}

struct vm_area_struct *lock_next_vma(struct mm_struct *mm, unsigned long from_addr,
				     unsigned long long *retries)
{
	struct vm_area_struct *vma;
	unsigned int seq;
	int err;

retry:
	/* Odd or not: lookup_unchanged() tells, if it comes to that. */
	mmap_lock_speculate_try_begin(mm, &seq);
	vma = vma_find(mm, from_addr);
	if (!vma) {
		if (lookup_unchanged(mm, seq))
			return NULL;
		/* Nothing above from_addr: a gap too, and as likely transient. */
		switch (gap_before(mm, from_addr, NULL)) {
		case GAP_REAL:
			return NULL;
		case GAP_FILLED:
			++*retries;
			goto retry;
		case GAP_UNKNOWN:
			return ERR_PTR(-EBUSY);
		}
	}
	err = vma_start_read(mm, vma);
	if (err == -EAGAIN) {
		/* Detached under us: what replaced it is in the tree now. */
		++*retries;
		goto retry;
	}
	if (err)
		return ERR_PTR(err);

	/*
	 * Locked, so its bounds are stable now.  It may have shrunk below
	 * from_addr, or a VMA may have appeared between from_addr and it,
	 * after we found it; either way look again, or we would report a
	 * gap that is not there.
	 */
	if (from_addr >= vma->vm_end) {
		vma_end_read(vma);
		++*retries;
		goto retry;
	}
	if (from_addr < vma->vm_start && !lookup_unchanged(mm, seq)) {
		switch (gap_before(mm, from_addr, vma)) {
		case GAP_REAL:
			break;
		case GAP_FILLED:
			vma_end_read(vma);
			++*retries;
			goto retry;
		case GAP_UNKNOWN:
			vma_end_read(vma);
			return ERR_PTR(-EBUSY);
		}
	}
	return vma;
}
