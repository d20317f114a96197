// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mmap_lock's rwsem, as the kernel's behaves: a reader that finds no
 * writer in and no handoff takes the lock although a writer is queued
 * (reader optimistic lock stealing); a queued writer claims the handoff
 * at a wake-up once it has waited RWSEM_WAIT_TIMEOUT, and then the
 * rollup's drop-and-retake (unlock, relock) lets it in; a release
 * grants the lock to queued readers before they run.
 *
 * Waits are for the state itself (lock_test.h), except where time must
 * pass: RWSEM_WAIT_TIMEOUT, counted in jiffies.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "kernel/api.h"
#include "kernel/mm.h"
#include "kernel/mmap_lock.h"
#include "lock_test.h"

static long readers_in(struct rw_semaphore *sem)
{
	return atomic_load(&sem->count) >> RWSEM_READER_SHIFT;
}

/*
 * up_read() without its rwsem_wake(): the moment between the release and
 * the woken writer running, held still, so that what a reader retaking
 * the lock then does is tested without a race against that writer.
 */
static void up_read_unwoken(struct rw_semaphore *sem)
{
	atomic_fetch_sub(&sem->count, RWSEM_READER_BIAS);
}

/* A writer queued behind a reader, no handoff: a new reader steals a free lock. */
static void test_reader_steals_free_lock_from_queued_writer(void)
{
	struct mm_struct *mm = pv_mm_create(16, 1);
	struct rw_semaphore *sem = &mm->mmap_lock;
	struct lock_task writer = { .mm = mm, .write = 1 };
	pthread_t tw;

	/* It lets go as soon as it has the lock: no test can hang on it. */
	atomic_store(&writer.release, 1);
	mmap_read_lock(mm);
	pthread_create(&tw, NULL, lock_task_fn, &writer);
	CHECK(wait_for(rwsem_is_contended(sem)));
	/* Drop and retake before the woken writer has run. */
	up_read_unwoken(sem);
	down_read(sem);
	CHECK(readers_in(sem) == 1);
	CHECK(!atomic_load(&writer.acquired));
	CHECK(!down_read_trylock(sem));			/* the fast path defers */
	mmap_read_unlock(mm);
	CHECK(eventually(&writer.acquired));
	pthread_join(tw, NULL);
	CHECK(atomic_load(&sem->count) == 0);
	pv_mm_destroy(mm);
	passes++;
}

/*
 * A writer queued behind a reader claims the handoff at the first
 * wake-up after RWSEM_WAIT_TIMEOUT; from then on the reader's
 * drop-and-retake lets it in before the reader has the lock back.
 */
static void test_writer_gets_in_after_handoff(void)
{
	struct mm_struct *mm = pv_mm_create(16, 1);
	struct rw_semaphore *sem = &mm->mmap_lock;
	struct lock_task writer = { .mm = mm, .write = 1 };
	pthread_t tw;

	atomic_store(&writer.release, 1);	/* it lets go as soon as it has it */
	mmap_read_lock(mm);
	pthread_create(&tw, NULL, lock_task_fn, &writer);
	CHECK(wait_for(rwsem_is_contended(sem)));
	sleep_ms(50);				/* well past the timeout */
	/* Sleeping, it cannot claim anything: nobody woke it. */
	CHECK(!(atomic_load(&sem->count) & RWSEM_FLAG_HANDOFF));
	/* We steal it back before the writer we woke runs. */
	up_read_unwoken(sem);
	down_read(sem);
	rwsem_wake(sem);
	CHECK(!atomic_load(&writer.acquired));
	/* It ran, and claimed the handoff. */
	CHECK(wait_for(atomic_load(&sem->count) & RWSEM_FLAG_HANDOFF));

	mmap_read_unlock(mm);
	mmap_read_lock(mm);
	CHECK(atomic_load(&writer.acquired));	/* it went first */
	CHECK(readers_in(sem) == 1);		/* and we are back in */
	mmap_read_unlock(mm);
	pthread_join(tw, NULL);
	CHECK(atomic_load(&sem->count) == 0);
	CHECK(!mmap_lock_is_contended(mm));
	pv_mm_destroy(mm);
	passes++;
}

/*
 * The writer's release grants the lock to the reader queued behind it
 * and counts it in before that reader runs: right after up_write() the
 * lock is read-held, and a writer coming next waits for that reader.
 */
static void test_release_grants_queued_readers_before_they_run(void)
{
	struct mm_struct *mm = pv_mm_create(16, 1);
	struct rw_semaphore *sem = &mm->mmap_lock;
	struct lock_task reader = { .mm = mm };
	pthread_t tr;

	mmap_write_lock(mm);
	pthread_create(&tr, NULL, lock_task_fn, &reader);
	CHECK(wait_for(rwsem_is_contended(sem)));
	mmap_write_unlock(mm);
	/* Granted by our release, whether or not the reader has run since. */
	CHECK(readers_in(sem) == 1);
	CHECK(!down_write_trylock(sem));
	CHECK(eventually(&reader.acquired));
	atomic_store(&reader.release, 1);
	pthread_join(tr, NULL);
	CHECK(atomic_load(&sem->count) == 0);
	pv_mm_destroy(mm);
	passes++;
}

int main(void)
{
	pv_rcu_register_thread();
	test_reader_steals_free_lock_from_queued_writer();
	test_writer_gets_in_after_handoff();
	test_release_grants_queued_readers_before_they_run();
	pv_rcu_unregister_thread();
	printf("%d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
