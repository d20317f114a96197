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
#include "ktime.h"

/*
 * How long to spin before sleeping: a single-page mmap()/munmap() in the
 * simulator holds the lock for about a microsecond, so a spin of this
 * length catches a running holder and gives up on a preempted one, as the
 * kernel's optimistic spinning does.
 */
#define RWSEM_SPIN_LOOPS 200

/*
 * How long a queued writer lets readers steal the lock before it claims
 * the handoff: the kernel's RWSEM_WAIT_TIMEOUT, DIV_ROUND_UP(HZ, 250)
 * jiffies, 4 ms at any HZ from 250 up.
 */
#define RWSEM_WAIT_TIMEOUT_NS 4000000

void init_rwsem(struct rw_semaphore *sem)
{
	atomic_init(&sem->count, 0);
	atomic_init(&sem->writers_waiting, 0);
	atomic_init(&sem->sleepers, 0);
	atomic_init(&sem->wake_seq, 0);
	atomic_init(&sem->handoff, 0);
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
static void rwsem_sleep_ns(struct rw_semaphore *sem,
			   bool (*may_enter)(struct rw_semaphore *), long long ns)
{
	unsigned int seq;

	atomic_fetch_add(&sem->sleepers, 1);
	seq = atomic_load(&sem->wake_seq);
	if (!may_enter(sem)) {
		if (ns > 0)
			futex_wait_ns(&sem->wake_seq, seq, ns);
		else
			futex_wait(&sem->wake_seq, seq);
	}
	atomic_fetch_sub(&sem->sleepers, 1);
}

static void rwsem_sleep(struct rw_semaphore *sem,
			bool (*may_enter)(struct rw_semaphore *))
{
	rwsem_sleep_ns(sem, may_enter, 0);
}

/*
 * Reader optimistic lock stealing, as in the kernel's
 * rwsem_down_read_slowpath(): a reader that finds the lock free takes it
 * although writers are queued, unless one of them claimed the handoff.
 * Only a free lock: joining readers inside would starve the writer.
 */
static bool down_read_steal(struct rw_semaphore *sem)
{
	int zero = 0;

	/*
	 * seq_cst load of handoff pairs with the writer's seq_cst increment
	 * before its next trylock: either it sees our count or we its flag.
	 */
	return !atomic_load(&sem->handoff) &&
	       atomic_compare_exchange_strong(&sem->count, &zero, 1);
}

/*
 * The rollup's "drop mmap_lock and take it again" when a writer waits.
 * On the kernel the reader retakes it (down_read_steal()) long before
 * the writer it woke is scheduled, so a queued writer gets in only once
 * it has claimed the handoff.  The model's futex wake costs the reader
 * a system call first, during which a writer on another CPU would win
 * the race far more often than on the kernel; so while no handoff is
 * claimed and we are the only reader, keep the lock: the same outcome
 * without the race.
 */
void rwsem_cycle_read(struct rw_semaphore *sem)
{
	if (!atomic_load(&sem->handoff) && atomic_load(&sem->count) == 1)
		return;
	up_read(sem);
	down_read(sem);
}

void rwsem_down_read_slowpath(struct rw_semaphore *sem)
{
	int spins = 0;

	/* Once, on entry, as the kernel does before it queues. */
	if (down_read_steal(sem))
		return;
	while (!down_read_trylock(sem)) {
		if (spins++ < RWSEM_SPIN_LOOPS)
			cpu_relax();
		else
			rwsem_sleep(sem, reader_may_enter);
	}
}

void rwsem_down_write_slowpath(struct rw_semaphore *sem)
{
	bool handoff = false;
	long long queued_ns;
	int spins;

	/*
	 * Optimistic spin first.  Not queued yet, as in the kernel (no
	 * RWSEM_FLAG_WAITERS while spinning): readers still come and go,
	 * and a walker polling rwsem_is_contended() does not see us.
	 */
	for (spins = 0; spins < RWSEM_SPIN_LOOPS; spins++) {
		if (down_write_trylock(sem))
			return;
		cpu_relax();
	}

	/*
	 * Queued: new readers now wait behind us, except one that finds the
	 * lock free (down_read_steal()), until we claim the handoff once we
	 * have waited RWSEM_WAIT_TIMEOUT_NS.
	 */
	atomic_fetch_add(&sem->writers_waiting, 1);
	queued_ns = (long long)ktime_get_ns();
	while (!down_write_trylock(sem)) {
		long long left = RWSEM_WAIT_TIMEOUT_NS - ((long long)ktime_get_ns() - queued_ns);

		if (!handoff && left <= 0) {
			atomic_fetch_add(&sem->handoff, 1);	/* seq_cst: see down_read_steal() */
			handoff = true;
			continue;
		}
		rwsem_sleep_ns(sem, writer_may_enter, handoff ? 0 : left);
	}
	if (handoff)
		atomic_fetch_sub(&sem->handoff, 1);
	atomic_fetch_sub(&sem->writers_waiting, 1);
}
