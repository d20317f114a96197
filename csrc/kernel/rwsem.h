/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's rwsem (kernel/locking/rwsem.c), the parts that decide how
 * long a /proc reader keeps the mapper waiting, with the kernel's names:
 *
 *  - one count word: the writer bit, RWSEM_FLAG_WAITERS (someone is
 *    queued), RWSEM_FLAG_HANDOFF, and the number of readers;
 *  - a FIFO wait list of readers and writers under wait_lock;
 *  - reader optimistic lock stealing: a reader that finds no writer and
 *    no handoff takes the lock although a writer is queued;
 *  - the writer's handoff: a queued writer that has waited
 *    RWSEM_WAIT_TIMEOUT (counted in jiffies) sets RWSEM_FLAG_HANDOFF at
 *    its next wake-up, and readers stop stealing;
 *  - rwsem_mark_wake(): a release that wakes queued readers grants them
 *    the lock first, counting them into count, and wakes them after.  A
 *    woken reader holds the lock before it runs; one on a CPU where a
 *    busy task at a better nice value runs keeps the writer out until
 *    the scheduler lets it run, walk and release.
 *
 * Waiting is sleeping on a futex, each waiter on its own word.
 */
#ifndef PROCVMA_RWSEM_H
#define PROCVMA_RWSEM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define RWSEM_WRITER_LOCKED	(1L << 0)
#define RWSEM_FLAG_WAITERS	(1L << 1)
#define RWSEM_FLAG_HANDOFF	(1L << 2)
#define RWSEM_READER_SHIFT	8
#define RWSEM_READER_BIAS	(1L << RWSEM_READER_SHIFT)
#define RWSEM_READER_MASK	(~(RWSEM_READER_BIAS - 1))
#define RWSEM_WRITER_MASK	RWSEM_WRITER_LOCKED
#define RWSEM_LOCK_MASK		(RWSEM_WRITER_MASK | RWSEM_READER_MASK)
#define RWSEM_READ_FAILED_MASK	(RWSEM_WRITER_MASK | RWSEM_FLAG_WAITERS | \
				 RWSEM_FLAG_HANDOFF)

struct rwsem_waiter;

struct rw_semaphore {
	atomic_long count;
	/*
	 * The kernel's sem->owner, as far as it matters here: whether the
	 * last task to take the lock was a reader (RWSEM_READER_OWNED).
	 * Left set when readers leave, as the kernel leaves owner.
	 */
	atomic_int reader_owned;
	/*
	 * The kernel takes it with interrupts off, so its holder is never
	 * preempted; a user-space holder can be, which only lengthens a
	 * section of a few instructions now and then.
	 */
	pthread_mutex_t wait_lock;
	struct rwsem_waiter *wait_head, *wait_tail;	/* FIFO, under wait_lock */
};

void init_rwsem(struct rw_semaphore *sem);

void rwsem_down_read_slowpath(struct rw_semaphore *sem, long count);
void rwsem_down_write_slowpath(struct rw_semaphore *sem);
void rwsem_wake(struct rw_semaphore *sem);
/* How many tasks are on the wait list (for tests and checks). */
int rwsem_nr_waiters(struct rw_semaphore *sem);

static inline bool down_read_trylock(struct rw_semaphore *sem)
{
	long c = atomic_load_explicit(&sem->count, memory_order_relaxed);

	while (!(c & RWSEM_READ_FAILED_MASK)) {
		/* Acquire (seq_cst): pairs with the release in up_write(). */
		if (atomic_compare_exchange_weak(&sem->count, &c, c + RWSEM_READER_BIAS)) {
			atomic_store_explicit(&sem->reader_owned, 1, memory_order_relaxed);
			return true;
		}
	}
	return false;
}

static inline void down_read(struct rw_semaphore *sem)
{
	/*
	 * Add our bias first, as rwsem_read_trylock() does: seq_cst, so a
	 * writer's cmpxchg either sees us or we see its bit.
	 */
	long c = atomic_fetch_add(&sem->count, RWSEM_READER_BIAS) + RWSEM_READER_BIAS;

	if (!(c & RWSEM_READ_FAILED_MASK)) {
		atomic_store_explicit(&sem->reader_owned, 1, memory_order_relaxed);
		return;
	}
	rwsem_down_read_slowpath(sem, c);
}

static inline void up_read(struct rw_semaphore *sem)
{
	/* Release (seq_cst): our critical section ends before the count drops. */
	long tmp = atomic_fetch_sub(&sem->count, RWSEM_READER_BIAS) - RWSEM_READER_BIAS;

	/* The last reader out with someone queued and no writer in: wake. */
	if ((tmp & (RWSEM_LOCK_MASK | RWSEM_FLAG_WAITERS)) == RWSEM_FLAG_WAITERS)
		rwsem_wake(sem);
}

static inline bool down_write_trylock(struct rw_semaphore *sem)
{
	long zero = 0;

	/* Acquire (seq_cst): pairs with the releases in up_read()/up_write(). */
	if (atomic_compare_exchange_strong(&sem->count, &zero, RWSEM_WRITER_LOCKED)) {
		atomic_store_explicit(&sem->reader_owned, 0, memory_order_relaxed);
		return true;
	}
	return false;
}

static inline void down_write(struct rw_semaphore *sem)
{
	if (!down_write_trylock(sem))
		rwsem_down_write_slowpath(sem);
}

static inline void up_write(struct rw_semaphore *sem)
{
	/* Release (seq_cst): pairs with the lockers' acquiring RMWs. */
	long tmp = atomic_fetch_sub(&sem->count, RWSEM_WRITER_LOCKED);

	if (tmp & RWSEM_FLAG_WAITERS)
		rwsem_wake(sem);
}

/* The kernel's !list_empty(&sem->wait_list): RWSEM_FLAG_WAITERS tracks it. */
static inline bool rwsem_is_contended(struct rw_semaphore *sem)
{
	return atomic_load_explicit(&sem->count, memory_order_relaxed) & RWSEM_FLAG_WAITERS;
}

#endif
