/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the simulator and kernel backends share: task placement (CPU
 * affinity and nice per thread), the busy-waiter loop, the start barrier,
 * the stop flag, and turning a histogram into a struct pv_sample.
 */
#ifndef PROCVMA_BENCH_COMMON_H
#define PROCVMA_BENCH_COMMON_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "api.h"
#include "hist.h"

#define PV_SCANNER_NICE 15
#define PV_BUSY_NICE 0
#define PV_MAPPER_SLEEP_NS 10000	/* the reference's nanosleep between ops */

static inline uint64_t pv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Set by pv_bench_stop() (Ctrl-C); every loop of every task polls it. */
extern atomic_int pv_stop_requested;

/* Pin the calling thread to @cpu and set its nice value.  0 or -errno. */
int pv_place_self(int cpu, int nice);

/* Seconds since an arbitrary epoch, for deadlines. */
double pv_now_s(void);

/* Fill the mapper-side figures of @out from @h. */
void pv_sample_from_hist(struct pv_sample *out, const struct pv_hist *h);

/* snprintf into out->errmsg and set out->err; returns -err. */
int pv_sample_fail(struct pv_sample *out, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
