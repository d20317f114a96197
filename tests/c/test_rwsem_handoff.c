// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mmap_lock's unfairness, as the kernel's rwsem has it: a reader that
 * finds the lock free takes it although a writer is queued (reader
 * optimistic lock stealing), until the writer has waited
 * RWSEM_WAIT_TIMEOUT and claimed the handoff; the smaps_rollup's
 * drop-and-retake (mmap_read_cycle()) keeps the lock until then.
 *
 * Real writers where the state can be reached and held through the API;
 * where it cannot, the rwsem's fields are set by hand and the test says
 * why.  Waits are for the state itself (lock_test.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "kernel/api.h"
#include "kernel/mm.h"
#include "kernel/mmap_lock.h"
#include "lock_test.h"

/*
 * A queued writer, no handoff: a reader takes the free lock anyway.
 *
 * By hand: "lock free, writer queued" lasts, with a real writer, only
 * until the writer that the release woke runs and takes the lock; a
 * reader arriving in that window is the race itself, not a state a test
 * can hold.
 */
static void test_reader_steals_free_lock_from_queued_writer(void)
{
	struct mm_struct *mm = pv_mm_create(16, 1);
	struct rw_semaphore *sem = &mm->mmap_lock;

	atomic_store(&sem->writers_waiting, 1);		/* as if queued */
	CHECK(!down_read_trylock(sem));			/* the fast path defers */
	mmap_read_lock(mm);				/* the slow path steals */
	CHECK(atomic_load(&sem->count) == 1);
	mmap_read_unlock(mm);
	atomic_store(&sem->writers_waiting, 0);
	pv_mm_destroy(mm);
	passes++;
}

/*
 * Once the writer claimed the handoff, no reader steals the free lock.
 *
 * By hand, for the reason above: a real writer with the handoff claimed
 * takes a free lock at once.
 */
static void test_no_stealing_after_handoff(void)
{
	struct mm_struct *mm = pv_mm_create(16, 1);
	struct rw_semaphore *sem = &mm->mmap_lock;
	struct lock_task reader = { .mm = mm };
	pthread_t tr;

	atomic_store(&sem->writers_waiting, 1);
	atomic_store(&sem->handoff, 1);
	pthread_create(&tr, NULL, lock_task_fn, &reader);
	/* Asleep: past its one stealing attempt, and it did not get in. */
	CHECK(wait_for(atomic_load(&sem->sleepers) == 1));
	CHECK(!atomic_load(&reader.acquired));
	/* The writer is gone: the reader may go. */
	atomic_store(&sem->handoff, 0);
	atomic_store(&sem->writers_waiting, 0);
	rwsem_wake(sem);
	CHECK(eventually(&reader.acquired));
	atomic_store(&reader.release, 1);
	pthread_join(tr, NULL);
	pv_mm_destroy(mm);
	passes++;
}

/*
 * The only reader, no handoff: the rollup's drop-and-retake keeps the lock.
 *
 * By hand: a real writer claims the handoff 4 ms after it queues, and
 * nothing bounds how long this thread takes from seeing it queued to the
 * cycle; the test would be about the scheduler.
 */
static void test_cycle_keeps_lock_before_handoff(void)
{
	struct mm_struct *mm = pv_mm_create(16, 1);
	struct rw_semaphore *sem = &mm->mmap_lock;

	mmap_read_lock(mm);
	atomic_store(&sem->writers_waiting, 1);
	mmap_read_cycle(mm);
	CHECK(atomic_load(&sem->count) == 1);
	atomic_store(&sem->writers_waiting, 0);
	mmap_read_unlock(mm);
	pv_mm_destroy(mm);
	passes++;
}

/*
 * A real writer queued behind a reader claims the handoff after
 * RWSEM_WAIT_TIMEOUT (4 ms), and then the reader's drop-and-retake lets
 * it in before the reader has the lock back.
 */
static void test_writer_gets_in_after_handoff(void)
{
	struct mm_struct *mm = pv_mm_create(16, 1);
	struct rw_semaphore *sem = &mm->mmap_lock;
	struct lock_task writer = { .mm = mm, .write = 1 };
	pthread_t tw;

	mmap_read_lock(mm);
	pthread_create(&tw, NULL, lock_task_fn, &writer);
	CHECK(wait_for(atomic_load(&sem->handoff) == 1));
	CHECK(!atomic_load(&writer.acquired));		/* we hold it */
	CHECK(mmap_lock_is_contended(mm));

	atomic_store(&writer.release, 1);	/* it lets go as soon as it has it */
	mmap_read_cycle(mm);
	CHECK(atomic_load(&writer.acquired));	/* it went first */
	CHECK(atomic_load(&sem->count) >= 1);	/* and we are back in */
	mmap_read_unlock(mm);
	pthread_join(tw, NULL);
	CHECK(atomic_load(&sem->handoff) == 0);
	CHECK(!mmap_lock_is_contended(mm));
	pv_mm_destroy(mm);
	passes++;
}

int main(void)
{
	pv_rcu_register_thread();
	test_reader_steals_free_lock_from_queued_writer();
	test_no_stealing_after_handoff();
	test_cycle_keeps_lock_before_handoff();
	test_writer_gets_in_after_handoff();
	pv_rcu_unregister_thread();
	printf("%d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
