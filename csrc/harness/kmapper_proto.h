/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel backend's mapper process (kmapper/kmapper.c) and the harness that
 * spawns it (bench_kernel.c) talk through two file descriptors the
 * mapper finds already open:
 *
 *   PV_KMAPPER_SHM_FD  a memfd holding one struct pv_kmapper_shm, mapped
 *                      shared by both: the mapper's histogram and counts
 *                      land there as it runs, so they survive even a
 *                      mapper that had to be killed;
 *   PV_KMAPPER_CTL_FD  one end of a stream socketpair carrying single
 *                      bytes: the mapper says READY (region populated) or
 *                      FAILED (set-up error, see err/errmsg), waits for
 *                      START, says DONE when its results are final, and
 *                      exits when the harness closes its end.  End of
 *                      file on either side means the other is gone.
 */
#ifndef PROCVMA_KMAPPER_PROTO_H
#define PROCVMA_KMAPPER_PROTO_H

#include <stdatomic.h>
#include <stdint.h>

#include "hist.h"

/* The unit of --pages: the harness's region_pages count 4 KiB pages. */
#define PV_KMAPPER_PAGE_SIZE 4096UL

#define PV_KMAPPER_SHM_FD 3
#define PV_KMAPPER_CTL_FD 4

#define PV_KMAPPER_MAGIC 0x70766b6d6170ull	/* "pvkmap" */

/* Bytes on the control socket. */
#define PV_KMAPPER_READY 'R'
#define PV_KMAPPER_FAILED 'F'
#define PV_KMAPPER_START 'S'
#define PV_KMAPPER_DONE 'D'

/* What the mapper was doing when it stopped with an error. */
#define PV_KMAPPER_OP_NONE 0
#define PV_KMAPPER_OP_SETUP 1	/* arguments, shared page, CPU pinning */
#define PV_KMAPPER_OP_REGION 2	/* mapping and populating the region */
#define PV_KMAPPER_OP_MMAP 3	/* one-page mmap(MAP_FIXED|MAP_POPULATE) */
#define PV_KMAPPER_OP_MUNMAP 4	/* one-page munmap() */

struct pv_kmapper_shm {
	uint64_t magic;			/* set by the harness */
	/*
	 * Harness -> mapper: end the loop now (Ctrl-C).  Polled between
	 * operations, never inside a timed call.
	 */
	atomic_int stop;
	/* Mapper -> harness, final once DONE has been sent. */
	int err;			/* errno that stopped the mapper, or 0 */
	int err_op;			/* PV_KMAPPER_OP_* */
	uint64_t nmaps;
	uint64_t nunmaps;
	uint64_t vmas;			/* the region's VMAs at the end */
	char errmsg[200];
	struct pv_hist hist;		/* one entry per timed call, in ns */
};

#endif
