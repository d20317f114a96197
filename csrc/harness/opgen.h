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

#endif
