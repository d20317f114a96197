// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Lock semantics of the simulated mm, one function per behaviour:
 * mmap_lock (rwsem) fairness and contention, the per-VMA lock's read
 * failures, a VMA writer waiting for its readers and woken by the last
 * one, and the page test hooks waiting like any other PTE writer.
 *
 * Every state is reached through the API, and every wait is for the
 * state itself (lock_test.h).
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

/* A writer is draining the VMA's readers: VMA_LOCK_OFFSET is in vm_refcnt. */
static bool writer_draining(struct vm_area_struct *vma)
{
	return atomic_load(&vma->vm_refcnt) & VMA_LOCK_OFFSET;
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
	CHECK(wait_for(writer_draining(w.vma)));
	CHECK(!atomic_load(&w.locked));		/* our reference holds it */

	vma_end_read(w.vma);			/* last reader out wakes it */
	CHECK(eventually(&w.locked));
	pthread_join(t, NULL);
	pv_mm_destroy(w.mm);
	passes++;
}

/* While a writer drains the VMA, no new reader gets in. */
static void test_read_fails_while_writer_waits(void)
{
	struct vma_writer w = { 0 };
	pthread_t t;

	w.mm = mm_one_vma(&w.vma);
	rcu_read_lock();
	CHECK(vma_start_read(w.mm, w.vma) == 0);
	pthread_create(&t, NULL, vma_writer_fn, &w);
	CHECK(wait_for(writer_draining(w.vma)));
	/* Not stamped yet (the writer is still draining): the offset says no. */
	CHECK(vma_start_read(w.mm, w.vma) == -EBUSY);
	vma_end_read(w.vma);
	rcu_read_unlock();
	CHECK(eventually(&w.locked));
	pthread_join(t, NULL);
	pv_mm_destroy(w.mm);
	passes++;
}

/*
 * Two readers, a writer draining them: the first to leave does not wake
 * it (is_vma_writer_only() is false, one reader is still in), the last
 * does.  Counted on the futex word every wake-up bumps.
 */
static void test_only_the_last_reader_wakes_the_writer(void)
{
	struct vma_writer w = { 0 };
	unsigned int wakes;
	pthread_t t;

	w.mm = mm_one_vma(&w.vma);
	rcu_read_lock();
	CHECK(vma_start_read(w.mm, w.vma) == 0);
	CHECK(vma_start_read(w.mm, w.vma) == 0);
	rcu_read_unlock();
	pthread_create(&t, NULL, vma_writer_fn, &w);
	CHECK(wait_for(writer_draining(w.vma)));

	wakes = atomic_load(&w.mm->vma_writer_wait);
	vma_end_read(w.vma);
	CHECK(atomic_load(&w.mm->vma_writer_wait) == wakes);
	CHECK(!atomic_load(&w.locked));
	vma_end_read(w.vma);
	CHECK(atomic_load(&w.mm->vma_writer_wait) == wakes + 1);
	CHECK(eventually(&w.locked));
	pthread_join(t, NULL);
	pv_mm_destroy(w.mm);
	passes++;
}

struct page_hook {
	struct mm_struct *mm;
	atomic_int done;
	int err;
};

static void *page_hook_fn(void *arg)
{
	struct page_hook *h = arg;

	pv_rcu_register_thread();
	h->err = pv_page_set_state(h->mm, 5, 2, 0, 0);
	atomic_store(&h->done, 1);
	pv_rcu_unregister_thread();
	return NULL;
}

/*
 * A test hook changing a PTE write-locks the VMA first, so it waits for
 * a per-VMA reader that may be walking that page.
 */
static void test_page_hook_waits_for_vma_readers(void)
{
	struct page_hook h = { 0 };
	struct vm_area_struct *vma;
	pthread_t t;

	h.mm = mm_one_vma(&vma);
	rcu_read_lock();
	CHECK(vma_start_read(h.mm, vma) == 0);
	rcu_read_unlock();
	pthread_create(&t, NULL, page_hook_fn, &h);
	CHECK(wait_for(writer_draining(vma)));
	CHECK(!atomic_load(&h.done));
	CHECK(pte_mapcount(ptep_get(h.mm, 5)) == 1);	/* unchanged under our lock */
	vma_end_read(vma);
	CHECK(eventually(&h.done));
	pthread_join(t, NULL);
	CHECK(h.err == 0 && pte_mapcount(ptep_get(h.mm, 5)) == 2);
	pv_mm_destroy(h.mm);
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
	CHECK(wait_for(mmap_lock_is_contended(mm)));	/* what the rollup polls */
	CHECK(!atomic_load(&writer.acquired));

	/*
	 * A reader arriving now queues behind the writer (other readers
	 * are in: it may not steal); it is blocked once it is on the list.
	 */
	CHECK(!down_read_trylock(&mm->mmap_lock));
	CHECK(wait_for(rwsem_nr_waiters(&mm->mmap_lock) == 1));
	pthread_create(&tl, NULL, lock_task_fn, &late);
	CHECK(wait_for(rwsem_nr_waiters(&mm->mmap_lock) == 2));
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
	test_writer_waits_for_vma_readers();
	test_read_fails_while_writer_waits();
	test_only_the_last_reader_wakes_the_writer();
	test_page_hook_waits_for_vma_readers();
	test_waiting_writer_blocks_new_readers();
	test_mm_lock_seq_counts_write_cycles();
	pv_rcu_unregister_thread();
	printf("test_vma_locks: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
