/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A reader/writer semaphore with the properties of the kernel's rwsem that
 * matter here: a writer waits for readers to leave, and once it is queued
 * new readers wait too; waiting is a short optimistic spin, then sleep on
 * a futex; rwsem_is_contended() says whether anyone is queued.
 *
 * And its unfairness, which decides how long a /proc reader stalls the
 * mapper: a reader that finds the lock free takes it even with a writer
 * queued (the kernel's reader optimistic lock stealing), so a reader that
 * drops the lock for a waiting writer and retakes it at once keeps it;
 * only a writer that has waited RWSEM_WAIT_TIMEOUT (4 ms) claims the
 * handoff and stops the stealing.  See rwsem_cycle_read().
 */
#ifndef PROCVMA_RWSEM_H
#define PROCVMA_RWSEM_H

#include <stdatomic.h>
#include <stdbool.h>

struct rw_semaphore {
	/* > 0: that many readers hold it; -1: a writer holds it; 0: free. */
	atomic_int count;
	/* Writers waiting for it; non-zero makes new readers wait. */
	atomic_int writers_waiting;
	/* Tasks past their spin, about to sleep or sleeping. */
	atomic_int sleepers;
	/* Futex word: bumped on every release that may unblock someone. */
	atomic_uint wake_seq;
	/* Writers that waited RWSEM_WAIT_TIMEOUT_NS: readers may not steal. */
	atomic_int handoff;
};

void init_rwsem(struct rw_semaphore *sem);

void rwsem_down_read_slowpath(struct rw_semaphore *sem);
void rwsem_down_write_slowpath(struct rw_semaphore *sem);
void rwsem_wake(struct rw_semaphore *sem);
void rwsem_cycle_read(struct rw_semaphore *sem);

static inline bool down_read_trylock(struct rw_semaphore *sem)
{
	int c = atomic_load_explicit(&sem->count, memory_order_relaxed);

	/*
	 * seq_cst load of writers_waiting: pairs with the writer's
	 * seq_cst increment in down_write() before it samples count, so
	 * either the writer sees our reader count or we see it waiting.
	 */
	while (c >= 0 && !atomic_load(&sem->writers_waiting)) {
		/* Acquire: the critical section starts after we own it. */
		if (atomic_compare_exchange_weak(&sem->count, &c, c + 1))
			return true;
	}
	return false;
}

static inline void down_read(struct rw_semaphore *sem)
{
	if (!down_read_trylock(sem))
		rwsem_down_read_slowpath(sem);
}

static inline void up_read(struct rw_semaphore *sem)
{
	/* Release: our critical section ends before the count drops. */
	if (atomic_fetch_sub(&sem->count, 1) == 1 &&
	    atomic_load(&sem->sleepers))
		rwsem_wake(sem);
}

static inline bool down_write_trylock(struct rw_semaphore *sem)
{
	int zero = 0;

	return atomic_compare_exchange_strong(&sem->count, &zero, -1);
}

static inline void down_write(struct rw_semaphore *sem)
{
	if (!down_write_trylock(sem))
		rwsem_down_write_slowpath(sem);
}

static inline void up_write(struct rw_semaphore *sem)
{
	atomic_store(&sem->count, 0);	/* release; pairs with the CAS in the lockers */
	if (atomic_load(&sem->sleepers))
		rwsem_wake(sem);
}

static inline bool rwsem_is_contended(struct rw_semaphore *sem)
{
	return atomic_load_explicit(&sem->writers_waiting, memory_order_relaxed) ||
	       atomic_load_explicit(&sem->sleepers, memory_order_relaxed);
}

#endif
