/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the C lock tests share: a CHECK() that counts and returns, bounded
 * waits, and a task that holds mmap_lock until told to let go.
 *
 * Waits are bounded and generous: a check that something did NOT happen
 * looks for 50 ms; one that it did happen allows 5 s.
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

/* Wait up to 5 s for *flag to become non-zero. */
static inline int eventually(atomic_int *flag)
{
	int i;

	for (i = 0; i < 5000 && !atomic_load(flag); i++)
		sleep_ms(1);
	return atomic_load(flag);
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
