/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mapper's op stream and pace, shared by the simulator's mapper
 * thread (bench_sim.c) and the kernel backend's mapper process (kmapper/).
 */
#ifndef PROCVMA_OPGEN_H
#define PROCVMA_OPGEN_H

#include <stdint.h>

#define PV_MAPPER_SLEEP_NS 10000	/* the reference's nanosleep between ops */

/*
 * The mapper's op stream: which page to hit next and whether to map or
 * unmap it.  A pure function of (seed, region_pages), so that --seed
 * repeats the same sequence on either backend.  splitmix64: one add and
 * a few multiplies per draw, cheap enough next to the op it picks.
 */
struct pv_opgen {
	uint64_t state;
	unsigned long region_pages;
};

static inline uint64_t pv_opgen_draw(struct pv_opgen *g)
{
	uint64_t z = (g->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void pv_opgen_init(struct pv_opgen *g, uint64_t seed,
				 unsigned long region_pages)
{
	g->state = seed;
	g->region_pages = region_pages;
}

/* Next op: *@page in [0, region_pages), *@map 1 for mmap, 0 for munmap. */
static inline void pv_opgen_next(struct pv_opgen *g, unsigned long *page,
				 int *map)
{
	uint64_t r = pv_opgen_draw(g);

	/* Multiply-shift instead of %: unbiased enough and no division. */
	*page = (unsigned long)(((unsigned __int128)pv_opgen_draw(g) *
				 g->region_pages) >> 64);
	*map = (int)(r >> 63);
}

/*
 * The region's starting layout with --holes K: K single-page holes spread
 * evenly, one in each of K equal buckets of the region, at a page of the
 * bucket drawn from @seed other than its first and its last.  So no two
 * holes touch and none is at an end of the region: K+1 VMAs.  A pure
 * function of its arguments, so both backends (and procvma show) cut the
 * same holes; it needs buckets of 3 pages at least
 * (PV_HOLES_MIN_PAGES_EACH, harness/api.h).
 */
static inline unsigned long pv_hole_page(uint64_t seed, unsigned long region_pages,
					 unsigned long holes, unsigned long i)
{
	unsigned long lo = (unsigned long)((unsigned __int128)i * region_pages / holes);
	unsigned long hi = (unsigned long)((unsigned __int128)(i + 1) * region_pages / holes);
	/* Each hole its own draw: hole i does not depend on the others. */
	struct pv_opgen g = { .state = seed ^ ((uint64_t)i * 0xd1b54a32d192ed03ull) };

	return lo + 1 + (unsigned long)(((unsigned __int128)pv_opgen_draw(&g) *
					 (hi - lo - 2)) >> 64);
}

#endif
