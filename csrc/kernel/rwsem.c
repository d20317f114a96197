// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rwsem slow paths, after kernel/locking/rwsem.c (Linux 6.x): the wait
 * list, rwsem_mark_wake(), reader lock stealing, the writer's optimistic
 * spin and its handoff.  The function names are the kernel's.
 *
 * A waiter sleeps on a futex word of its own: a reader on waiter.task,
 * which its waker clears when it grants the lock (the kernel's
 * smp_store_release(&waiter->task, NULL)); a writer on waiter.wakeups,
 * which its waker bumps.  Wakers collect the words under wait_lock and
 * wake them after dropping it (the kernel's wake_q).  A word may belong
 * to a waiter that has already returned by the time it is woken: futex
 * waits here always re-check their condition, so such a wake-up is only
 * spurious.
 */
#include "rwsem.h"
#include "compiler.h"
#include "futex.h"
#include "ktime.h"
#include "sched.h"

/*
 * RWSEM_WAIT_TIMEOUT is DIV_ROUND_UP(HZ, 250) jiffies and is checked
 * with time_after(jiffies, timeout), so a queued task may claim the
 * handoff from 1 to 2 jiffies after it queued: 4 to 8 ms at HZ=250, the
 * host's CONFIG_HZ; 4 to 5 ms at HZ=1000.
 */
#define HZ 250
#define NSEC_PER_JIFFY (1000000000L / HZ)
#define RWSEM_WAIT_TIMEOUT ((HZ + 249) / 250)

/* A writer spins on a reader-owned lock this long (rwsem_rspin_threshold()). */
#define RWSEM_MAX_READERS_SPIN 30
/* Wakers batch this many futex words before dropping wait_lock to wake them. */
#define WAKE_Q_MAX 32

enum rwsem_waiter_type { RWSEM_WAITING_FOR_WRITE, RWSEM_WAITING_FOR_READ };

enum rwsem_wake_type {
	RWSEM_WAKE_ANY,		/* wake whatever is at the head of the list */
	RWSEM_WAKE_READERS,	/* wake readers only */
	RWSEM_WAKE_READ_OWNED,	/* the waker holds the read lock */
};

struct rwsem_waiter {
	struct rwsem_waiter *prev, *next;
	enum rwsem_waiter_type type;
	atomic_uint task;		/* reader: 1 until granted the lock */
	atomic_uint wakeups;		/* writer: bumped by each wake-up of it */
	/* writer: when the wake-up of its last sleep came; 0: none */
	_Atomic uint64_t woken_ns;
	/*
	 * writer: its task state, under wait_lock: true from its failed
	 * rwsem_try_write_lock() to its next one (TASK_UNINTERRUPTIBLE, as
	 * it sleeps), false while it runs (TASK_RUNNING).
	 */
	bool sleeping;
	unsigned long timeout;		/* jiffies */
	bool handoff_set;
};

struct wake_q_head {
	atomic_uint *word[WAKE_Q_MAX];
	int n;
};

static unsigned long jiffies(void)
{
	return (unsigned long)(ktime_get_ns() / NSEC_PER_JIFFY);
}

static bool time_after(unsigned long a, unsigned long b)
{
	return (long)(b - a) < 0;
}

void init_rwsem(struct rw_semaphore *sem)
{
	atomic_init(&sem->count, 0);
	atomic_init(&sem->reader_owned, 0);
	pthread_mutex_init(&sem->wait_lock, NULL);
	sem->wait_head = sem->wait_tail = NULL;
}

/* ---- the wait list, under wait_lock ------------------------------------ */

static void rwsem_init_waiter(struct rwsem_waiter *w, enum rwsem_waiter_type type)
{
	w->type = type;
	atomic_init(&w->task, 1);
	atomic_init(&w->wakeups, 0);
	atomic_init(&w->woken_ns, 0);
	w->timeout = jiffies() + RWSEM_WAIT_TIMEOUT;
	w->handoff_set = false;
	w->sleeping = false;
}

static void rwsem_add_waiter(struct rw_semaphore *sem, struct rwsem_waiter *w)
{
	w->next = NULL;
	w->prev = sem->wait_tail;
	if (sem->wait_tail)
		sem->wait_tail->next = w;
	else
		sem->wait_head = w;
	sem->wait_tail = w;
}

static void rwsem_del_waiter(struct rw_semaphore *sem, struct rwsem_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		sem->wait_head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		sem->wait_tail = w->prev;
}

static void wake_up_q(struct wake_q_head *q)
{
	int i;

	for (i = 0; i < q->n; i++)
		futex_wake_all(q->word[i]);
	q->n = 0;
}

/* wake_q_add(); a full queue is woken at once, still under wait_lock. */
static void wake_q_add(struct wake_q_head *q, atomic_uint *word)
{
	if (q->n == WAKE_Q_MAX)
		wake_up_q(q);
	q->word[q->n++] = word;
}

/*
 * rwsem_mark_wake(): the head of the list is a writer: wake it (it takes
 * the lock itself, if it still can).  Readers: grant the lock to every
 * reader on the list, counting them into count here, by the waker, and
 * only then mark them woken.  Holds wait_lock.
 */
static void rwsem_mark_wake(struct rw_semaphore *sem, enum rwsem_wake_type type,
			    struct wake_q_head *wake_q)
{
	struct rwsem_waiter *waiter = sem->wait_head, *next, *granted = NULL;
	long oldcount, adjustment = 0, woken = 0;

	if (waiter->type == RWSEM_WAITING_FOR_WRITE) {
		/*
		 * try_to_wake_up() of a writer that is already awake (woken
		 * and not yet back, or running) finds no state to change
		 * (ttwu_state_match()): a few atomics, no wake-up, no IPI,
		 * no sched_waking.  Only a sleeping writer is woken.
		 */
		if (type == RWSEM_WAKE_ANY && waiter->sleeping) {
			waiter->sleeping = false;
			/*
			 * The stamp is ordered before the bump (seq_cst), the
			 * bump before the writer's futex_wait() return.
			 */
			atomic_store_explicit(&waiter->woken_ns, ktime_get_ns(),
					      memory_order_relaxed);
			atomic_fetch_add(&waiter->wakeups, 1);	/* seen by its futex_wait() */
			wake_q_add(wake_q, &waiter->wakeups);
		}
		return;
	}

	if (type != RWSEM_WAKE_READ_OWNED) {
		/*
		 * Take the first grant before counting the readers, so that a
		 * writer that got in meanwhile is seen (seq_cst RMW: pairs
		 * with the writer's cmpxchg).
		 */
		adjustment = RWSEM_READER_BIAS;
		oldcount = atomic_fetch_add(&sem->count, adjustment);
		if (oldcount & RWSEM_WRITER_MASK) {
			/* Waited too long for writers: make them hand off. */
			if (!(oldcount & RWSEM_FLAG_HANDOFF) &&
			    time_after(jiffies(), waiter->timeout)) {
				adjustment -= RWSEM_FLAG_HANDOFF;
				waiter->handoff_set = true;
			}
			atomic_fetch_sub(&sem->count, adjustment);
			return;
		}
		atomic_store_explicit(&sem->reader_owned, 1, memory_order_relaxed);
	}

	/* Every reader on the list, passing over writers, in order. */
	for (waiter = sem->wait_head; waiter; waiter = next) {
		next = waiter->next;
		if (waiter->type == RWSEM_WAITING_FOR_WRITE)
			continue;
		rwsem_del_waiter(sem, waiter);
		waiter->next = granted;
		granted = waiter;
		woken++;
	}

	adjustment = woken * RWSEM_READER_BIAS - adjustment;
	oldcount = atomic_load(&sem->count);
	if (!sem->wait_head) {
		adjustment -= RWSEM_FLAG_WAITERS;
		if (oldcount & RWSEM_FLAG_HANDOFF)
			adjustment -= RWSEM_FLAG_HANDOFF;
	} else if (woken && (oldcount & RWSEM_FLAG_HANDOFF)) {
		/* A reader got in: writers need not be forced out any more. */
		adjustment -= RWSEM_FLAG_HANDOFF;
	}
	if (adjustment)
		atomic_fetch_add(&sem->count, adjustment);

	for (waiter = granted; waiter; waiter = next) {
		next = waiter->next;
		/*
		 * Release: the grant in count above is visible before the
		 * reader sees its task cleared (its acquire load in
		 * rwsem_down_read_slowpath()).  Past this store the waiter
		 * may be gone.
		 */
		atomic_store_explicit(&waiter->task, 0, memory_order_release);
		wake_q_add(wake_q, &waiter->task);
	}
}

/* rwsem_cond_wake_waiter(): wake waiters the state @count lets in. */
static void rwsem_cond_wake_waiter(struct rw_semaphore *sem, long count,
				   struct wake_q_head *wake_q)
{
	if (count & RWSEM_WRITER_MASK)
		return;
	rwsem_mark_wake(sem, (count & RWSEM_READER_MASK) ? RWSEM_WAKE_READERS :
			RWSEM_WAKE_ANY, wake_q);
}

void rwsem_wake(struct rw_semaphore *sem)
{
	struct wake_q_head wake_q = { .n = 0 };

	pthread_mutex_lock(&sem->wait_lock);
	if (sem->wait_head)
		rwsem_mark_wake(sem, RWSEM_WAKE_ANY, &wake_q);
	pthread_mutex_unlock(&sem->wait_lock);
	wake_up_q(&wake_q);
}

int rwsem_nr_waiters(struct rw_semaphore *sem)
{
	struct rwsem_waiter *w;
	int n = 0;

	pthread_mutex_lock(&sem->wait_lock);
	for (w = sem->wait_head; w; w = w->next)
		n++;
	pthread_mutex_unlock(&sem->wait_lock);
	return n;
}

/* ---- readers --------------------------------------------------------------- */

/*
 * rwsem_down_read_slowpath(): the fast path added our bias and found a
 * writer, a waiter or a handoff in @count.
 */
void rwsem_down_read_slowpath(struct rw_semaphore *sem, long count)
{
	struct wake_q_head wake_q = { .n = 0 };
	struct rwsem_waiter waiter;
	long adjustment = -RWSEM_READER_BIAS;
	long rcnt = count >> RWSEM_READER_SHIFT;

	/* Other readers are in: joining them would starve a queued writer. */
	if (atomic_load_explicit(&sem->reader_owned, memory_order_relaxed) &&
	    rcnt > 1 && !(count & RWSEM_WRITER_LOCKED))
		goto queue;

	/* Reader optimistic lock stealing: no writer in, no handoff claimed. */
	if (!(count & (RWSEM_WRITER_LOCKED | RWSEM_FLAG_HANDOFF))) {
		atomic_store_explicit(&sem->reader_owned, 1, memory_order_relaxed);
		/* The first reader in lets the readers queued behind join. */
		if (rcnt == 1 && (count & RWSEM_FLAG_WAITERS)) {
			pthread_mutex_lock(&sem->wait_lock);
			if (sem->wait_head)
				rwsem_mark_wake(sem, RWSEM_WAKE_READ_OWNED, &wake_q);
			pthread_mutex_unlock(&sem->wait_lock);
			wake_up_q(&wake_q);
		}
		return;
	}

queue:
	rwsem_init_waiter(&waiter, RWSEM_WAITING_FOR_READ);

	pthread_mutex_lock(&sem->wait_lock);
	if (!sem->wait_head) {
		/* Nobody queued and no writer in: our bias is our lock. */
		if (!(atomic_load(&sem->count) & RWSEM_WRITER_MASK)) {
			pthread_mutex_unlock(&sem->wait_lock);
			atomic_store_explicit(&sem->reader_owned, 1, memory_order_relaxed);
			return;
		}
		adjustment += RWSEM_FLAG_WAITERS;
	}
	rwsem_add_waiter(sem, &waiter);
	/* No longer locking, only waiting: our bias goes. */
	count = atomic_fetch_add(&sem->count, adjustment) + adjustment;
	rwsem_cond_wake_waiter(sem, count, &wake_q);
	pthread_mutex_unlock(&sem->wait_lock);
	wake_up_q(&wake_q);

	/* Acquire: pairs with the release in rwsem_mark_wake(). */
	while (atomic_load_explicit(&waiter.task, memory_order_acquire)) {
		uint64_t since = sched_sleep_begin();	/* schedule() */

		sched_sleep_end(since, futex_wait(&waiter.task, 1));
	}
}

/* ---- writers ----------------------------------------------------------------- */

/*
 * rwsem_optimistic_spin(), before queueing: take the lock as soon as it
 * is free; on readers, give up after rwsem_rspin_threshold() (about
 * 10 µs), since a reader may be preempted or walking a large mm.  Not
 * queued, so nobody sees the lock contended meanwhile.
 */
static bool rwsem_optimistic_spin(struct rw_semaphore *sem)
{
	uint64_t until = 0;

	for (;;) {
		long c = atomic_load_explicit(&sem->count, memory_order_relaxed);
		long readers = c >> RWSEM_READER_SHIFT;

		/* rwsem_try_write_lock_unqueued(); acquire as in down_write_trylock(). */
		if (!(c & (RWSEM_LOCK_MASK | RWSEM_FLAG_HANDOFF)) &&
		    atomic_compare_exchange_strong(&sem->count, &c, c | RWSEM_WRITER_LOCKED)) {
			atomic_store_explicit(&sem->reader_owned, 0, memory_order_relaxed);
			return true;
		}
		if (!until) {
			if (readers > RWSEM_MAX_READERS_SPIN)
				readers = RWSEM_MAX_READERS_SPIN;
			until = ktime_get_ns() + (uint64_t)(20 + readers) * 1000 / 2;
		} else if (ktime_get_ns() > until) {
			return false;
		}
		cpu_relax();
	}
}

/*
 * rwsem_try_write_lock(), under wait_lock: take the lock if it is free,
 * or, once @waiter has waited RWSEM_WAIT_TIMEOUT, set the handoff bit so
 * that readers stop stealing it.
 */
static bool rwsem_try_write_lock(struct rw_semaphore *sem, struct rwsem_waiter *waiter)
{
	struct rwsem_waiter *first = sem->wait_head;
	long count = atomic_load(&sem->count), new;

	do {
		bool has_handoff = count & RWSEM_FLAG_HANDOFF;

		/* Honour a handoff only when the first waiter claimed it. */
		if (has_handoff && first->handoff_set && waiter != first)
			return false;
		new = count;
		if (count & RWSEM_LOCK_MASK) {
			if (has_handoff || !time_after(jiffies(), waiter->timeout))
				return false;
			new |= RWSEM_FLAG_HANDOFF;
		} else {
			new |= RWSEM_WRITER_LOCKED;
			new &= ~RWSEM_FLAG_HANDOFF;
			if (sem->wait_head == waiter && !waiter->next)
				new &= ~RWSEM_FLAG_WAITERS;
		}
		/* Acquire (seq_cst): pairs with the releases in up_read()/up_write(). */
	} while (!atomic_compare_exchange_weak(&sem->count, &count, new));

	if (new & RWSEM_FLAG_HANDOFF) {
		first->handoff_set = true;
		return false;
	}
	rwsem_del_waiter(sem, waiter);
	atomic_store_explicit(&sem->reader_owned, 0, memory_order_relaxed);
	return true;
}

void rwsem_down_write_slowpath(struct rw_semaphore *sem)
{
	struct wake_q_head wake_q = { .n = 0 };
	struct rwsem_waiter waiter;

	if (rwsem_optimistic_spin(sem))
		return;

	rwsem_init_waiter(&waiter, RWSEM_WAITING_FOR_WRITE);

	pthread_mutex_lock(&sem->wait_lock);
	rwsem_add_waiter(sem, &waiter);
	if (sem->wait_head != &waiter) {
		/* Readers ahead of us may be let in by the lock's state now. */
		rwsem_cond_wake_waiter(sem, atomic_load(&sem->count), &wake_q);
		if (wake_q.n) {
			pthread_mutex_unlock(&sem->wait_lock);
			wake_up_q(&wake_q);
			pthread_mutex_lock(&sem->wait_lock);
		}
	} else {
		atomic_fetch_or(&sem->count, RWSEM_FLAG_WAITERS);
	}

	for (;;) {
		unsigned int seen;
		uint64_t since;
		int ret;

		if (rwsem_try_write_lock(sem, &waiter))
			break;
		/*
		 * Sampled under wait_lock, where a waker that finds us
		 * sleeping bumps it: a wake-up after we drop the lock makes
		 * futex_wait() return at once.
		 */
		seen = atomic_load(&waiter.wakeups);
		atomic_store_explicit(&waiter.woken_ns, 0, memory_order_relaxed);
		waiter.sleeping = true;		/* set_current_state() */
		pthread_mutex_unlock(&sem->wait_lock);
		since = sched_sleep_begin();	/* schedule() */
		ret = futex_wait(&waiter.wakeups, seen);
		sched_sleep_end(since, ret);
		/*
		 * Woken and running again (the CPU is ours under none and
		 * voluntary).  The stamp was stored before the bump that ended
		 * the futex wait, which orders it before our load.
		 */
		if (ret == 0)
			sched_wake_ran(atomic_load_explicit(&waiter.woken_ns,
							    memory_order_relaxed));
		pthread_mutex_lock(&sem->wait_lock);
		/* Back on its CPU, woken or not (a signal, a spurious return). */
		waiter.sleeping = false;
	}
	pthread_mutex_unlock(&sem->wait_lock);
}
