// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The race checker of proc_maps_race.h against this machine's kernel, so
 * that what the simulator's test accepts is known to be what a real
 * kernel does.  The scenarios are the kernel selftest's
 * (tools/testing/selftests/proc/proc-maps-race.c), in code of our own:
 *
 * A child process maps 129 VMAs of 3 pages side by side, alternately
 * read-write and read-only so that none merges, then changes the VMA at
 * a 4 KiB read() boundary of /proc/CHILD/{maps,smaps} and puts it back,
 * over and over, while the parent reads the file.  A process of its own,
 * as in the selftest, so that nothing but its changes moves its layout
 * (the reader's own allocations, a sanitizer's included, go elsewhere):
 *
 *   split/merge     mmap(PROT_NONE) over its first page, then mmap() it
 *                   back with the VMA's own protection
 *   shrink/expand   mremap() it to one page, then back to three
 *   remap           mremap(MREMAP_DONTUNMAP) the next VMA's last page into
 *                   its middle, then mprotect() that page back
 *
 *   test_proc_maps_race_kernel [SECONDS]     per case (default 0.5)
 *
 * Needs no privilege: a process may read its own child's maps.  A kernel
 * without MREMAP_DONTUNMAP runs the other cases, and the test exits with
 * KSFT_SKIP and a line saying why.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc_maps_race.h"

#define VMA_PAGES 3
#define MAX_READ (64 * 1024)

/* The kernel selftests' exit status for "not tested here", and ours. */
#define KSFT_SKIP 4

/* Headers older than the kernel that has it (5.7) may not name it. */
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* In memory shared by the reader and the child. */
struct kernel_ctx {
	size_t psize;
	char *base;			/* the child's first VMA */
	int nvmas;
	char *addr, *next_addr;		/* the VMAs on either side of the boundary */
	int prot;			/* the boundary VMA's protection */
	atomic_int mapped;		/* the child: 1 VMAs mapped, -1 failed */
	struct race_ops child_ops;	/* the child's: the real changes */
	struct race_modifier mod;
};

/* The reader's own. */
struct reader {
	struct kernel_ctx *c;
	pid_t child;
	int fd;
	int skip;			/* whole read()s before the boundary */
};

static char readbuf[MAX_READ];

/* One read() of a page, as the selftest does; every one ends a line. */
static long read_page(struct reader *r)
{
	ssize_t n = read(r->fd, readbuf, r->c->psize);

	if (n <= 0 || readbuf[n - 1] != '\n')
		return -1;
	return n;
}

static bool kernel_read_boundary(void *arg, struct race_boundary *out)
{
	struct reader *r = arg;
	long n;
	int i;

	if (lseek(r->fd, 0, SEEK_SET) < 0)
		return false;
	for (i = 0; i < r->skip; i++)
		if (read_page(r) < 0)
			return false;
	n = read_page(r);
	if (n < 0 || !race_find_line(readbuf, (size_t)n, true, &out->last))
		return false;
	n = read_page(r);
	return n >= 0 && race_find_line(readbuf, (size_t)n, false, &out->first);
}

/* The reader's modify and restore: the child makes them. */
static bool call_modify(void *arg)
{
	struct reader *r = arg;

	return race_modifier_call(&r->c->mod, RACE_CMD_MODIFY);
}

static bool call_restore(void *arg)
{
	struct reader *r = arg;

	return race_modifier_call(&r->c->mod, RACE_CMD_RESTORE);
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

static const struct race_scenario scenarios[] = {
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

/* Index of the child's VMA starting at @start, or -1. */
static int our_vma(const struct kernel_ctx *c, unsigned long start)
{
	uintptr_t b = (uintptr_t)c->base, span = VMA_PAGES * c->psize;

	if (start < b || start >= b + c->nvmas * span || (start - b) % span)
		return -1;
	return (int)((start - b) / span);
}

/*
 * The first read() boundary with one of the child's VMAs on each side,
 * the one before it not the last of them.
 */
static bool find_boundary(struct reader *r)
{
	struct kernel_ctx *c = r->c;
	struct race_boundary b;
	int i;

	for (r->skip = 0; r->skip < 4096; r->skip++) {
		if (!kernel_read_boundary(r, &b))
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

/* The child: map the VMAs, then change them as the reader says. */
static void child_main(struct kernel_ctx *c, pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	atomic_store(&c->mapped, map_vmas(c) ? 1 : -1);
	race_modifier_fn(&c->mod);
	_exit(0);
}

static int failures, passes, skips;
static bool no_dontunmap;

/*
 * Whether mremap(MREMAP_DONTUNMAP) works here, tried as remap() uses it
 * on a scratch mapping: a kernel before 5.7 rejects the flag it does not
 * know with EINVAL, and a release number would not tell a backport.
 * Returns 0 if it works, else the errno.
 */
static int probe_dontunmap(size_t psize)
{
	char *p = mmap(NULL, 2 * psize, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err = 0;

	if (p == MAP_FAILED)
		return errno;
	if (mremap(p, psize, psize, MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
		   p + psize) == MAP_FAILED)
		err = errno;
	munmap(p, 2 * psize);
	return err;
}

static void run_file(const char *file, struct reader *r, double seconds)
{
	struct kernel_ctx *c = r->c;
	struct race_ops ops = {
		.ctx = r, .read_boundary = kernel_read_boundary,
		.modify = call_modify, .restore = call_restore,
	};
	char path[64];
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)r->child, file);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0 || !find_boundary(r)) {
		printf("FAIL %s: no read() boundary between two of the child's VMAs (%s)\n",
		       file, r->fd < 0 ? strerror(errno) : "layout");
		failures++;
		if (r->fd >= 0)
			close(r->fd);
		return;
	}
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		struct race_result res;
		double t0 = race_now();
		bool ok;

		if (scenarios[i].modify == remap && no_dontunmap) {
			skips++;
			continue;
		}
		/* The child is paused: it reads these when told to run. */
		c->child_ops.modify = scenarios[i].modify;
		c->child_ops.restore = scenarios[i].restore;
		ok = race_run(&c->mod, &ops, scenarios[i].shape, seconds, false, &res);
		printf("kernel/%s %s: %.2f s, %d reads skipped, %llu boundary reads "
		       "(restored %llu, modified %llu, reported twice %llu, bad %llu), "
		       "%llu modifications\n", file, scenarios[i].name,
		       race_now() - t0, r->skip, res.reads, res.seen[RACE_SEEN_RESTORED],
		       res.seen[RACE_SEEN_MODIFIED], res.seen[RACE_SEEN_REPORTED_TWICE],
		       res.seen[RACE_SEEN_BAD], res.modifications);
		if (!ok || !res.reads) {
			printf("FAIL: %s\n", res.error[0] ? res.error : "no boundary read");
			failures++;
		} else {
			passes++;
		}
	}
	close(r->fd);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 0.5;
	struct kernel_ctx *c;
	struct reader r = { .fd = -1 };
	pid_t parent = getpid();
	int status, i, err;

	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		 -1, 0);
	if (c == MAP_FAILED) {
		printf("FAIL: no shared page\n");
		return 1;
	}
	c->psize = (size_t)sysconf(_SC_PAGESIZE);
	/* Enough VMAs that maps holds more than a page of them, as the selftest. */
	c->nvmas = (int)(c->psize / 32 + 1);
	c->child_ops.ctx = c;
	c->child_ops.modify = split;
	c->child_ops.restore = merge;
	race_modifier_init(&c->mod, &c->child_ops);
	atomic_init(&c->mapped, 0);
	if (c->psize > MAX_READ) {
		printf("FAIL: pages of %zu bytes\n", c->psize);
		return 1;
	}
	err = probe_dontunmap(c->psize);
	if (err == EINVAL) {
		no_dontunmap = true;
		printf("SKIP remap: this kernel rejects mremap(MREMAP_DONTUNMAP) with EINVAL\n");
	} else if (err) {
		printf("FAIL: the probe of mremap(MREMAP_DONTUNMAP): %s\n", strerror(err));
		return 1;
	}
	fflush(stdout);
	r.c = c;
	r.child = fork();
	if (r.child < 0) {
		printf("FAIL: fork: %s\n", strerror(errno));
		return 1;
	}
	if (r.child == 0)
		child_main(c, parent);

	for (i = 0; i < 50000 && !atomic_load(&c->mapped); i++)
		usleep(100);
	if (atomic_load(&c->mapped) != 1) {
		printf("FAIL: the child could not map %d VMAs\n", c->nvmas);
		failures++;
	} else {
		run_file("maps", &r, seconds);
		run_file("smaps", &r, seconds);
	}
	atomic_store(&c->mod.run, -1);
	if (waitpid(r.child, &status, 0) != r.child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		printf("FAIL: the child did not exit cleanly\n");
		failures++;
	}
	printf("test_proc_maps_race_kernel: %d passed, %d failed, %d skipped\n",
	       passes, failures, skips);
	return failures ? 1 : skips ? KSFT_SKIP : 0;
}
