/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the C lock tests share: a CHECK() that counts and returns, waits on
 * a state, and a task that holds mmap_lock until told to let go.
 *
 * No test waits a fixed time and hopes: every wait is for the state
 * itself (a writer queued, a reader asleep, a VMA writer draining), with
 * a generous deadline (5 s) that only a broken lock reaches.  A check
 * that something did NOT happen is made once the thread is seen blocked
 * where the lock keeps it, so it cannot have happened.
 */
#ifndef PROCVMA_LOCK_TEST_H
#define PROCVMA_LOCK_TEST_H

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "kernel/mmap_lock.h"

static int failures, passes;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		failures++;						\
		return;							\
	}								\
} while (0)

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

#define WAIT_DEADLINE_MS 5000

/* Wait up to 5 s for @cond, an expression re-evaluated each ms; its last value. */
#define wait_for(cond) ({						\
	int __i;							\
	for (__i = 0; __i < WAIT_DEADLINE_MS && !(cond); __i++)	\
		sleep_ms(1);						\
	!!(cond);							\
})

/* Wait up to 5 s for *flag to become non-zero. */
static inline int eventually(atomic_int *flag)
{
	return wait_for(atomic_load(flag));
}

/* A thread that takes mmap_lock, says so, and holds it until released. */
struct lock_task {
	struct mm_struct *mm;
	int write;
	atomic_int acquired;
	atomic_int release;
};

static inline void *lock_task_fn(void *arg)
{
	struct lock_task *t = arg;

	if (t->write)
		mmap_write_lock(t->mm);
	else
		mmap_read_lock(t->mm);
	atomic_store(&t->acquired, 1);
	while (!atomic_load(&t->release))
		sleep_ms(1);
	if (t->write)
		mmap_write_unlock(t->mm);
	else
		mmap_read_unlock(t->mm);
	return NULL;
}

#endif
