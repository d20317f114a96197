/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one clock procvma reads: CLOCK_MONOTONIC in nanoseconds, and a
 * busy-wait on it for the calibrated work the simulator does not model
 * step by step (spent on the CPU, as the kernel would spend it).
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

static inline void spin_until_ns(uint64_t until_ns)
{
	while (ktime_get_ns() < until_ns)
		cpu_relax();
}

#endif
