// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rwsem slow paths.
 *
 * Sleeping uses one futex word, wake_seq, for readers and writers alike:
 * a waiter samples wake_seq, re-checks whether it may proceed, and sleeps
 * only if wake_seq is still what it sampled.  Every release that may let
 * a waiter in bumps wake_seq before waking, so a release that lands
 * between the re-check and the sleep makes futex_wait() return at once.
 */
#include "rwsem.h"
#include "compiler.h"
#include "futex.h"

/*
 * How long to spin before sleeping: a single-page mmap()/munmap() in the
 * simulator holds the lock for about a microsecond, so a spin of this
 * length catches a running holder and gives up on a preempted one, as the
 * kernel's optimistic spinning does.
 */
#define RWSEM_SPIN_LOOPS 200

void init_rwsem(struct rw_semaphore *sem)
{
	atomic_init(&sem->count, 0);
	atomic_init(&sem->writers_waiting, 0);
	atomic_init(&sem->sleepers, 0);
	atomic_init(&sem->wake_seq, 0);
}

void rwsem_wake(struct rw_semaphore *sem)
{
	/* Pairs with the waiter's sample of wake_seq in rwsem_sleep(). */
	atomic_fetch_add(&sem->wake_seq, 1);
	futex_wake_all(&sem->wake_seq);
}

static bool reader_may_enter(struct rw_semaphore *sem)
{
	return atomic_load(&sem->count) >= 0 && !atomic_load(&sem->writers_waiting);
}

static bool writer_may_enter(struct rw_semaphore *sem)
{
	return atomic_load(&sem->count) == 0;
}

/*
 * Sleep until @may_enter might have become true.  The sleepers count goes
 * up before the re-check, so a releaser that does not see it has released
 * before our re-check, which then sees the lock free.
 */
static void rwsem_sleep(struct rw_semaphore *sem,
			bool (*may_enter)(struct rw_semaphore *))
{
	unsigned int seq;

	atomic_fetch_add(&sem->sleepers, 1);
	seq = atomic_load(&sem->wake_seq);
	if (!may_enter(sem))
		futex_wait(&sem->wake_seq, seq);
	atomic_fetch_sub(&sem->sleepers, 1);
}

void rwsem_down_read_slowpath(struct rw_semaphore *sem)
{
	int spins = 0;

	while (!down_read_trylock(sem)) {
		if (spins++ < RWSEM_SPIN_LOOPS)
			cpu_relax();
		else
			rwsem_sleep(sem, reader_may_enter);
	}
}

void rwsem_down_write_slowpath(struct rw_semaphore *sem)
{
	int spins = 0;

	/*
	 * Announce ourselves first: from here on new readers queue behind
	 * us, so the readers inside drain and we cannot be starved.
	 */
	atomic_fetch_add(&sem->writers_waiting, 1);
	while (!down_write_trylock(sem)) {
		if (spins++ < RWSEM_SPIN_LOOPS)
			cpu_relax();
		else
			rwsem_sleep(sem, writer_may_enter);
	}
	atomic_fetch_sub(&sem->writers_waiting, 1);
}
