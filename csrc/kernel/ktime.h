/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one clock procvma reads: CLOCK_MONOTONIC in nanoseconds, and a
 * busy-wait on it for the calibrated work the simulator does not model
 * step by step (spent on the CPU, as the kernel would spend it, and
 * counted in CPU time).
 */
#ifndef PROCVMA_KTIME_H
#define PROCVMA_KTIME_H

#include <stdint.h>
#include <time.h>

#include "compiler.h"

static inline uint64_t ktime_get_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * This thread's CPU time: a system call (about 0.6 us on this host class,
 * against 25 ns for the monotonic clock), so kept out of hot paths.
 */
static inline uint64_t task_cputime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A gap between two clock reads this long means the task was off the CPU. */
#define SPIN_OFF_CPU_NS 10000

/*
 * Work that takes @ns of this task's CPU time, as the kernel's work it
 * stands for does: time off the CPU (preempted by a busier task, an
 * interrupt) does none of it, so a nice-15 scanner sharing its CPU
 * with a nice-0 busy-waiter needs as long for its pass as the kernel's
 * would.  A wall-clock spin would finish while the task waits for the
 * CPU.  The gaps are seen on the cheap monotonic clock: the thread CPU
 * clock is a system call, dearer than the shortest spins here.
 */
static inline void spin_cpu_ns(uint64_t ns)
{
	uint64_t now = ktime_get_ns(), until = now + ns, prev = now;

	while (now < until) {
		cpu_relax();
		now = ktime_get_ns();
		if (now - prev > SPIN_OFF_CPU_NS)
			until += now - prev;
		prev = now;
	}
}

#endif
