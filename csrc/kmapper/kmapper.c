// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * procvma-kmapper: the kernel backend's mapper, a process of its own so
 * that the mm the scanners read through /proc/PID is small and holds
 * nothing but this loop's region (as in the reference harness's mapper).
 *
 * It maps and populates an anonymous region, tells the harness it is
 * ready, waits for the start byte, then for --duration seconds picks a
 * random page of the region and either mmap(MAP_FIXED|MAP_POPULATE)s one
 * page there or munmap()s it, timing that one call, sleeping 10 us
 * (untimed) between calls.  See harness/kmapper_proto.h for how it reports.
 *
 * Only bench_kernel.c runs this; the command line is not a user interface.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "harness/hist.h"
#include "harness/opgen.h"
#include "kernel/ktime.h"
#include "harness/kmapper_proto.h"

struct kmapper_args {
	int cpu;
	unsigned long pages;		/* region size in 4 KiB units */
	unsigned long holes;		/* single-page holes cut before the start */
	double duration_s;
	unsigned long long seed;
	pid_t parent;
};

static struct pv_kmapper_shm *shm;

/* Record why the mapper stopped; the harness turns it into its error line. */
static void __attribute__((format(printf, 3, 4)))
kmapper_fail(int err, int op, const char *fmt, ...)
{
	va_list ap;

	shm->err = err;
	shm->err_op = op;
	va_start(ap, fmt);
	vsnprintf(shm->errmsg, sizeof(shm->errmsg), fmt, ap);
	va_end(ap);
}

static void ctl_send(char c)
{
	/* A harness that is gone cannot be told; PDEATHSIG ends us anyway. */
	if (write(PV_KMAPPER_CTL_FD, &c, 1) != 1)
		_exit(1);
}

static int parse_args(int argc, char **argv, struct kmapper_args *a)
{
	static const struct option opts[] = {
		{ "cpu", required_argument, NULL, 'c' },
		{ "pages", required_argument, NULL, 'p' },
		{ "holes", required_argument, NULL, 'h' },
		{ "duration", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "parent", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	a->cpu = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		errno = 0;
		switch (c) {
		case 'c':
			a->cpu = (int)strtol(optarg, &end, 10);
			break;
		case 'p':
			a->pages = strtoul(optarg, &end, 10);
			break;
		case 'h':
			a->holes = strtoul(optarg, &end, 10);
			break;
		case 'd':
			a->duration_s = strtod(optarg, &end);
			break;
		case 's':
			a->seed = strtoull(optarg, &end, 10);
			break;
		case 'P':
			a->parent = (pid_t)strtol(optarg, &end, 10);
			break;
		default:
			return -1;
		}
		if (errno || *end)
			return -1;
	}
	if (optind != argc || a->pages == 0 || a->duration_s < 0 ||
	    a->parent <= 0)
		return -1;
	return 0;
}

/*
 * The region's VMAs: lines of /proc/self/maps that overlap it.  The rest
 * of this mm (the program, its libraries, stack, the shared page) is
 * not what the experiment varies.
 */
static uint64_t count_region_vmas(const char *region, unsigned long len)
{
	const unsigned long lo = (unsigned long)region, hi = lo + len;
	unsigned long start, end;
	uint64_t n = 0;
	char line[8192];
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		    start < hi && end > lo)
			n++;
	fclose(f);
	return n;
}

/*
 * --holes: unmap the harness's layout of single pages (opgen.h), so that
 * the region starts as holes+1 VMAs.  Set-up, before READY: untimed.
 */
static int cut_holes(char *region, unsigned long psize,
		     const struct kmapper_args *a)
{
	unsigned long npages = a->pages * PV_KMAPPER_PAGE_SIZE / psize, i;

	if (a->holes > npages / 3)
		return EINVAL;
	for (i = 0; i < a->holes; i++)
		if (munmap(region + pv_hole_page(a->seed, npages, a->holes, i) * psize,
			   psize))
			return errno;
	return 0;
}

/*
 * The reference loop.  Only the one mmap()/munmap() call sits between
 * the two clock reads; picking the page, the histogram update and the
 * sleep are outside it.
 */
static void remap_loop(char *region, unsigned long psize,
		       const struct kmapper_args *a)
{
	const struct timespec pause = { 0, PV_MAPPER_SLEEP_NS };
	unsigned long npages = a->pages * PV_KMAPPER_PAGE_SIZE / psize;
	uint64_t deadline, t0, t1;
	struct pv_opgen gen;

	/*
	 * The simulator's stream: the same --seed hits the same pages (on
	 * a 4 KiB-page kernel; a larger base page just means fewer pages).
	 */
	pv_opgen_init(&gen, a->seed, npages ? npages : 1);
	deadline = ktime_get_ns() + (uint64_t)(a->duration_s * 1e9);
	while (ktime_get_ns() < deadline) {
		unsigned long page;
		char *addr;
		int map, err = 0;

		/*
		 * Relaxed: a hint to stop early that needs no ordering; the
		 * harness reads our results only after DONE or our death.
		 */
		if (atomic_load_explicit(&shm->stop, memory_order_relaxed))
			break;

		pv_opgen_next(&gen, &page, &map);
		addr = region + page * psize;
		if (map) {
			void *p;

			/*
			 * PROT_READ|PROT_WRITE like the region, so that the
			 * page merges back into its neighbours (the reference
			 * asks for PROT_WRITE alone, which is readable too).
			 */
			t0 = ktime_get_ns();
			p = mmap(addr, psize, PROT_READ | PROT_WRITE,
				 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS |
				 MAP_POPULATE, -1, 0);
			t1 = ktime_get_ns();
			if (p == MAP_FAILED)
				err = errno;
		} else {
			t0 = ktime_get_ns();
			if (munmap(addr, psize))
				err = errno;
			t1 = ktime_get_ns();
		}
		if (err) {
			/* Like the reference: a failed call ends the run. */
			kmapper_fail(err, map ? PV_KMAPPER_OP_MMAP :
					 PV_KMAPPER_OP_MUNMAP,
				     "%s() of one page at %p failed: %s",
				     map ? "mmap" : "munmap", (void *)addr,
				     strerror(err));
			break;
		}
		if (map)
			shm->nmaps++;
		else
			shm->nunmaps++;
		pv_hist_add(&shm->hist, t1 - t0);
		nanosleep(&pause, NULL);
	}
}

int main(int argc, char **argv)
{
	const unsigned long psize = (unsigned long)sysconf(_SC_PAGESIZE);
	struct kmapper_args a;
	cpu_set_t set;
	char *region;
	char start;
	int err;

	/*
	 * Never outlive the harness thread that spawned us (a killed
	 * harness included).  PDEATHSIG survives exec but not a parent that
	 * died before we set it, hence the getppid() check after.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || parse_args(argc, argv, &a) ||
	    getppid() != a.parent) {
		fprintf(stderr, "%s: to be run by procvma only\n", argv[0]);
		return 2;
	}

	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_POPULATE, PV_KMAPPER_SHM_FD, 0);
	if (shm == MAP_FAILED || shm->magic != PV_KMAPPER_MAGIC) {
		fprintf(stderr, "%s: no shared results page\n", argv[0]);
		return 2;
	}

	CPU_ZERO(&set);
	CPU_SET(a.cpu, &set);
	if (a.cpu < 0 || sched_setaffinity(0, sizeof(set), &set)) {
		kmapper_fail(errno ? errno : EINVAL, PV_KMAPPER_OP_SETUP,
			     "cannot pin the mapper to CPU %d: %s", a.cpu,
			     strerror(errno ? errno : EINVAL));
		ctl_send(PV_KMAPPER_FAILED);
		return 1;
	}

	region = mmap(NULL, a.pages * PV_KMAPPER_PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (region == MAP_FAILED) {
		kmapper_fail(errno, PV_KMAPPER_OP_REGION,
			     "mapping the %lu-page region failed: %s",
			     a.pages, strerror(errno));
		ctl_send(PV_KMAPPER_FAILED);
		return 1;
	}

	err = cut_holes(region, psize, &a);
	if (err) {
		kmapper_fail(err, PV_KMAPPER_OP_REGION,
			     "cutting %lu holes in the %lu-page region failed: %s",
			     a.holes, a.pages, strerror(err));
		ctl_send(PV_KMAPPER_FAILED);
		return 1;
	}

	ctl_send(PV_KMAPPER_READY);
	if (read(PV_KMAPPER_CTL_FD, &start, 1) != 1 ||
	    start != PV_KMAPPER_START)
		return 0;	/* the harness gave up before the start */

	remap_loop(region, psize, &a);

	shm->vmas = count_region_vmas(region, a.pages * PV_KMAPPER_PAGE_SIZE);
	ctl_send(PV_KMAPPER_DONE);
	/*
	 * Stay (idle) until the harness has stopped its scanners, so that a
	 * scanner never meets a vanished /proc/PID during the sample.
	 */
	if (read(PV_KMAPPER_CTL_FD, &start, 1) < 0)
		return 1;
	return 0;
}
