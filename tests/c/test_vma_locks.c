// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Lock semantics of the simulated mm, one function per behaviour:
 * mmap_lock (rwsem) fairness and contention, the per-VMA lock's read
 * failures, and a VMA writer waiting for its readers.
 *
 * Waits are bounded and generous: a check that something did NOT happen
 * looks for 50 ms; one that it did happen allows 5 s.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kernel/api.h"
#include "kernel/mm.h"
#include "kernel/mmap_lock.h"
#include "lock_test.h"
#include "kernel/vma_tree.h"

/*
 * One 16-page VMA:
 *
 *   0                16
 *   |****************|
 */
static struct mm_struct *mm_one_vma(struct vm_area_struct **vma)
{
	struct mm_struct *mm = pv_mm_create(16, 1);

	*vma = vma_find(mm, mm->region_start);
	return mm;
}

static void test_read_lock_unlocked_vma(void)
{
	struct vm_area_struct *vma;
	struct mm_struct *mm = mm_one_vma(&vma);

	rcu_read_lock();
	CHECK(vma_start_read(mm, vma) == 0);
	CHECK(atomic_load(&vma->vm_refcnt) == 2);	/* tree + us */
	vma_end_read(vma);
	rcu_read_unlock();
	CHECK(atomic_load(&vma->vm_refcnt) == 1);
	pv_mm_destroy(mm);
	passes++;
}

static void test_read_fails_on_write_locked_vma(void)
{
	struct vm_area_struct *vma;
	struct mm_struct *mm = mm_one_vma(&vma);

	mmap_write_lock(mm);
	vma_start_write(vma);
	rcu_read_lock();
	CHECK(vma_start_read(mm, vma) == -EBUSY);
	rcu_read_unlock();
	mmap_write_unlock(mm);

	/* mmap_write_unlock() ended the VMA write lock with the cycle. */
	rcu_read_lock();
	CHECK(vma_start_read(mm, vma) == 0);
	vma_end_read(vma);
	rcu_read_unlock();
	pv_mm_destroy(mm);
	passes++;
}

static void test_read_fails_on_detached_vma(void)
{
	struct vm_area_struct *vma;
	struct mm_struct *mm = mm_one_vma(&vma);

	/*
	 * munmap() of the whole VMA detaches it; a reader that found it
	 * before (RCU keeps it allocated) is told to look again.
	 *
	 *   |****************|   ->   |                |
	 */
	rcu_read_lock();
	CHECK(pv_munmap(mm, 0, 16) == 0);
	CHECK(vma_start_read(mm, vma) == -EAGAIN);
	CHECK(vma_find(mm, mm->region_start) == NULL);
	rcu_read_unlock();
	pv_mm_destroy(mm);
	passes++;
}

static void test_read_fails_while_writer_waits(void)
{
	struct vm_area_struct *vma;
	struct mm_struct *mm = mm_one_vma(&vma);

	/* What a writer draining readers leaves in vm_refcnt. */
	atomic_fetch_add(&vma->vm_refcnt, VMA_LOCK_OFFSET);
	rcu_read_lock();
	CHECK(vma_start_read(mm, vma) == -EBUSY);
	rcu_read_unlock();
	atomic_fetch_sub(&vma->vm_refcnt, VMA_LOCK_OFFSET);
	pv_mm_destroy(mm);
	passes++;
}

struct vma_writer {
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	atomic_int locked;
};

static void *vma_writer_fn(void *arg)
{
	struct vma_writer *w = arg;

	pv_rcu_register_thread();
	mmap_write_lock(w->mm);
	vma_start_write(w->vma);
	atomic_store(&w->locked, 1);
	mmap_write_unlock(w->mm);
	pv_rcu_unregister_thread();
	return NULL;
}

static void test_writer_waits_for_vma_readers(void)
{
	struct vma_writer w = { 0 };
	pthread_t t;

	w.mm = mm_one_vma(&w.vma);
	rcu_read_lock();
	CHECK(vma_start_read(w.mm, w.vma) == 0);
	rcu_read_unlock();

	pthread_create(&t, NULL, vma_writer_fn, &w);
	sleep_ms(50);
	CHECK(!atomic_load(&w.locked));		/* still draining us */
	CHECK(atomic_load(&w.vma->vm_refcnt) & VMA_LOCK_OFFSET);

	vma_end_read(w.vma);			/* last reader out wakes it */
	CHECK(eventually(&w.locked));
	pthread_join(t, NULL);
	pv_mm_destroy(w.mm);
	passes++;
}

static void test_waiting_writer_blocks_new_readers(void)
{
	struct mm_struct *mm = pv_mm_create(16, 1);
	struct lock_task reader = { .mm = mm }, writer = { .mm = mm, .write = 1 };
	struct lock_task late = { .mm = mm };
	pthread_t tr, tw, tl;

	CHECK(!mmap_lock_is_contended(mm));
	pthread_create(&tr, NULL, lock_task_fn, &reader);
	CHECK(eventually(&reader.acquired));
	CHECK(!mmap_lock_is_contended(mm));	/* readers alone: no one waits */

	pthread_create(&tw, NULL, lock_task_fn, &writer);
	sleep_ms(50);
	CHECK(!atomic_load(&writer.acquired));
	CHECK(mmap_lock_is_contended(mm));	/* what the rollup polls */

	/* A reader arriving now queues behind the writer. */
	CHECK(!down_read_trylock(&mm->mmap_lock));
	pthread_create(&tl, NULL, lock_task_fn, &late);
	sleep_ms(50);
	CHECK(!atomic_load(&late.acquired));

	atomic_store(&reader.release, 1);
	CHECK(eventually(&writer.acquired));
	CHECK(!atomic_load(&late.acquired));	/* the writer went first */
	atomic_store(&writer.release, 1);
	CHECK(eventually(&late.acquired));
	atomic_store(&late.release, 1);
	pthread_join(tr, NULL);
	pthread_join(tw, NULL);
	pthread_join(tl, NULL);
	CHECK(!mmap_lock_is_contended(mm));
	pv_mm_destroy(mm);
	passes++;
}

static void test_mm_lock_seq_counts_write_cycles(void)
{
	struct mm_struct *mm = pv_mm_create(16, 1);
	unsigned int seq = atomic_load(&mm->mm_lock_seq);

	CHECK(!(seq & 1));
	mmap_write_lock(mm);
	CHECK(atomic_load(&mm->mm_lock_seq) == seq + 1);
	CHECK(mmap_lock_is_write_locked(mm));
	mmap_write_unlock(mm);
	CHECK(atomic_load(&mm->mm_lock_seq) == seq + 2);
	pv_mm_destroy(mm);
	passes++;
}

int main(void)
{
	pv_rcu_register_thread();
	test_read_lock_unlocked_vma();
	test_read_fails_on_write_locked_vma();
	test_read_fails_on_detached_vma();
	test_read_fails_while_writer_waits();
	test_writer_waits_for_vma_readers();
	test_waiting_writer_blocks_new_readers();
	test_mm_lock_seq_counts_write_cycles();
	pv_rcu_unregister_thread();
	printf("test_vma_locks: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
