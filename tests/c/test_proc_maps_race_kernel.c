// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The race checker of proc_maps_race.h against this machine's kernel, so
 * that what the simulator's test accepts is known to be what a real
 * kernel does.  The scenarios are the kernel selftest's
 * (tools/testing/selftests/proc/proc-maps-race.c), in code of our own:
 *
 * 129 VMAs of 3 pages side by side, alternately read-write and read-only
 * so that none merges; a thread of this process changes the VMA at a
 * 4 KiB read() boundary of /proc/self/{maps,smaps} and puts it back, over
 * and over, while the main thread reads the file:
 *
 *   split/merge     mmap(PROT_NONE) over its first page, then mmap() it
 *                   back with the VMA's own protection
 *   shrink/expand   mremap() it to one page, then back to three
 *   remap           mremap(MREMAP_DONTUNMAP) the next VMA's last page into
 *                   its middle, then mprotect() that page back
 *
 *   test_proc_maps_race_kernel [SECONDS]     per case (default 0.5)
 *
 * Needs no privilege: a process may always read its own maps.  Nothing is
 * allocated or printed while the modifier runs, so the layout around the
 * boundary is ours alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proc_maps_race.h"

#define VMA_PAGES 3
#define MAX_READ (64 * 1024)

struct kernel_ctx {
	int fd;
	size_t psize;
	int skip;			/* whole read()s before the boundary */
	char *base;			/* our first VMA */
	int nvmas;
	char *addr, *next_addr;		/* the VMAs on either side of the boundary */
	int prot;			/* the boundary VMA's protection */
};

static char readbuf[MAX_READ];

/* One read() of a page, as the selftest does; every one ends a line. */
static long read_page(struct kernel_ctx *c)
{
	ssize_t n = read(c->fd, readbuf, c->psize);

	if (n <= 0 || readbuf[n - 1] != '\n')
		return -1;
	return n;
}

static bool kernel_read_boundary(void *arg, struct race_boundary *out)
{
	struct kernel_ctx *c = arg;
	long n;
	int i;

	if (lseek(c->fd, 0, SEEK_SET) < 0)
		return false;
	for (i = 0; i < c->skip; i++)
		if (read_page(c) < 0)
			return false;
	n = read_page(c);
	if (n < 0 || !race_find_line(readbuf, (size_t)n, true, &out->last))
		return false;
	n = read_page(c);
	return n >= 0 && race_find_line(readbuf, (size_t)n, false, &out->first);
}

static bool split(void *arg)
{
	struct kernel_ctx *c = arg;

	/* PROT_NONE differs from both neighbours: the VMA splits in two. */
	return mmap(c->addr, c->psize, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED;
}

static bool merge(void *arg)
{
	struct kernel_ctx *c = arg;

	return mmap(c->addr, c->psize, c->prot,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED;
}

static bool shrink(void *arg)
{
	struct kernel_ctx *c = arg;

	return mremap(c->addr, c->psize * VMA_PAGES, c->psize, 0) != MAP_FAILED;
}

static bool expand(void *arg)
{
	struct kernel_ctx *c = arg;

	return mremap(c->addr, c->psize, c->psize * VMA_PAGES, 0) != MAP_FAILED;
}

/*
 * The next VMA's last page moves into the middle of ours (an unfaulted
 * anonymous page takes its new address as its offset, so it can merge
 * back), splitting ours in three; DONTUNMAP leaves the next VMA whole.
 */
static bool remap(void *arg)
{
	struct kernel_ctx *c = arg;

	return mremap(c->next_addr + c->psize * 2, c->psize, c->psize,
		      MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
		      c->addr + c->psize) != MAP_FAILED;
}

static bool patch(void *arg)
{
	struct kernel_ctx *c = arg;

	return mprotect(c->addr + c->psize, c->psize, c->prot) == 0;
}

static const struct scenario {
	const char *name;
	bool (*modify)(void *);
	bool (*restore)(void *);
	enum race_shape shape;
} scenarios[] = {
	{ "split", split, merge, RACE_BOTH_CHANGE },
	{ "shrink", shrink, expand, RACE_LAST_CHANGES },
	{ "remap", remap, patch, RACE_BOTH_CHANGE },
};

static int prot_of(int i)
{
	return i % 2 ? PROT_READ : PROT_READ | PROT_WRITE;
}

/* Our VMAs, side by side in one reserved range. */
static bool map_vmas(struct kernel_ctx *c)
{
	size_t len = (size_t)c->nvmas * VMA_PAGES * c->psize;
	int i;

	c->base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->base == MAP_FAILED)
		return false;
	for (i = 0; i < c->nvmas; i++)
		if (mmap(c->base + (size_t)i * VMA_PAGES * c->psize,
			 VMA_PAGES * c->psize, prot_of(i),
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			return false;
	return true;
}

/* Index of our VMA starting at @start, or -1. */
static int our_vma(const struct kernel_ctx *c, unsigned long start)
{
	uintptr_t b = (uintptr_t)c->base, span = VMA_PAGES * c->psize;

	if (start < b || start >= b + c->nvmas * span || (start - b) % span)
		return -1;
	return (int)((start - b) / span);
}

/*
 * The first read() boundary with one of our VMAs on each side, the one
 * before it not the last of ours.
 */
static bool find_boundary(struct kernel_ctx *c)
{
	struct race_boundary b;
	int i;

	for (c->skip = 0; c->skip < 4096; c->skip++) {
		if (!kernel_read_boundary(c, &b))
			return false;
		i = our_vma(c, b.last.start);
		if (i >= 0 && i + 1 < c->nvmas && our_vma(c, b.first.start) == i + 1 &&
		    b.last.end - b.last.start == VMA_PAGES * c->psize) {
			c->addr = c->base + (size_t)i * VMA_PAGES * c->psize;
			c->next_addr = c->addr + VMA_PAGES * c->psize;
			c->prot = prot_of(i);
			return true;
		}
	}
	return false;
}

static int failures, passes;

static void run_file(const char *file, struct race_modifier *mod,
		     struct race_ops *ops, struct kernel_ctx *c, double seconds)
{
	char path[64];
	size_t i;

	snprintf(path, sizeof(path), "/proc/self/%s", file);
	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0 || !find_boundary(c)) {
		printf("FAIL %s: no read() boundary between two of our VMAs (%s)\n",
		       file, c->fd < 0 ? strerror(errno) : "layout");
		failures++;
		if (c->fd >= 0)
			close(c->fd);
		return;
	}
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		struct race_result res;
		double t0 = race_now();
		bool ok;

		ops->modify = scenarios[i].modify;
		ops->restore = scenarios[i].restore;
		ok = race_run(mod, scenarios[i].shape, seconds, false, &res);
		printf("kernel/%s %s: %.2f s, %d reads skipped, %llu boundary reads "
		       "(restored %llu, modified %llu, reported twice %llu, bad %llu), "
		       "%llu modifications\n", file, scenarios[i].name,
		       race_now() - t0, c->skip, res.reads, res.seen[RACE_SEEN_RESTORED],
		       res.seen[RACE_SEEN_MODIFIED], res.seen[RACE_SEEN_REPORTED_TWICE],
		       res.seen[RACE_SEEN_BAD], res.modifications);
		if (!ok || !res.reads) {
			printf("FAIL: %s\n", res.error[0] ? res.error : "no boundary read");
			failures++;
		} else {
			passes++;
		}
	}
	close(c->fd);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 0.5;
	struct kernel_ctx c = { .psize = (size_t)sysconf(_SC_PAGESIZE) };
	struct race_ops ops = { .ctx = &c, .read_boundary = kernel_read_boundary };
	struct race_modifier mod = { .ops = &ops };
	pthread_t thread;

	/* Enough VMAs that maps holds more than a page of them, as the selftest. */
	c.nvmas = (int)(c.psize / 32 + 1);
	if (c.psize > MAX_READ || race_modifier_start(&mod, &thread)) {
		printf("FAIL: set-up\n");
		return 1;
	}
	if (!map_vmas(&c)) {
		printf("FAIL: mapping %d VMAs: %s\n", c.nvmas, strerror(errno));
		failures++;
	} else {
		run_file("maps", &mod, &ops, &c, seconds);
		run_file("smaps", &mod, &ops, &c, seconds);
	}
	race_modifier_exit(&mod, thread);
	printf("test_proc_maps_race_kernel: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
