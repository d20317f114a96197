/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Log-linear latency histogram: fixed storage, no allocation, O(1) insert,
 * so it can sit inside the mapper's timed loop.  Values are nanoseconds.
 * Relative bucket error is below 1/PV_HIST_SUB (about 1.6 %).
 */
#ifndef PROCVMA_HIST_H
#define PROCVMA_HIST_H

#include <stdint.h>

#define PV_HIST_SUB_BITS 6
#define PV_HIST_SUB (1u << PV_HIST_SUB_BITS)
#define PV_HIST_GROUPS 40	/* covers up to 2^(40+6) ns: days */
#define PV_HIST_BUCKETS (PV_HIST_GROUPS * PV_HIST_SUB)

struct pv_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns;
	uint64_t min_ns;
	uint32_t bucket[PV_HIST_BUCKETS];
};

void pv_hist_init(struct pv_hist *h);
void pv_hist_add(struct pv_hist *h, uint64_t ns);
/* Value (ns) at quantile q in [0, 1]: the upper edge of its bucket, capped at max. */
uint64_t pv_hist_quantile(const struct pv_hist *h, double q);

#endif
