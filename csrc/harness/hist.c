// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Log-linear latency histogram (see hist.h).
 *
 * Group 0 holds the values 0 .. PV_HIST_SUB-1 exactly, one per bucket.
 * Group g >= 1 covers [PV_HIST_SUB << (g-1), PV_HIST_SUB << g) with
 * PV_HIST_SUB buckets of width 1 << (g-1), so a bucket is never wider
 * than 1/PV_HIST_SUB of the values it holds.  Values beyond the last
 * group land in the last bucket; max_ns still records them exactly.
 *
 * This file stands alone (the kernel backend's mapper executable links
 * it without the rest of the core): no allocation, no locks, no libc
 * beyond <string.h>.
 */
#include <string.h>

#include "hist.h"

static unsigned int pv_hist_index(uint64_t ns)
{
	unsigned int msb, group, sub;

	if (ns < PV_HIST_SUB)
		return (unsigned int)ns;

	msb = 63 - (unsigned int)__builtin_clzll(ns);
	group = msb - PV_HIST_SUB_BITS + 1;
	if (group >= PV_HIST_GROUPS)
		return PV_HIST_BUCKETS - 1;
	/* The PV_HIST_SUB_BITS bits below the leading one pick the bucket. */
	sub = (unsigned int)(ns >> (group - 1)) - PV_HIST_SUB;
	return group * PV_HIST_SUB + sub;
}

/* Largest value that falls into bucket @idx. */
static uint64_t pv_hist_bucket_last(unsigned int idx)
{
	unsigned int group = idx / PV_HIST_SUB, sub = idx % PV_HIST_SUB;
	uint64_t first, width;

	if (group == 0)
		return idx;
	width = (uint64_t)1 << (group - 1);
	first = ((uint64_t)PV_HIST_SUB + sub) << (group - 1);
	return first + width - 1;
}

void pv_hist_init(struct pv_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

void pv_hist_add(struct pv_hist *h, uint64_t ns)
{
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
	h->bucket[pv_hist_index(ns)]++;
}

uint64_t pv_hist_quantile(const struct pv_hist *h, double q)
{
	uint64_t rank, seen = 0;
	unsigned int i;

	if (h->count == 0)
		return 0;
	if (q <= 0.0)
		return h->min_ns;
	if (q >= 1.0)
		return h->max_ns;

	/* The smallest value v such that at least q of the values are <= v. */
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;

	for (i = 0; i < PV_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			uint64_t last;

			/* The last bucket also holds everything beyond the range. */
			if (i == PV_HIST_BUCKETS - 1)
				return h->max_ns;
			last = pv_hist_bucket_last(i);
			return last < h->max_ns ? last : h->max_ns;
		}
	}
	return h->max_ns;	/* not reached: the buckets sum to count */
}
