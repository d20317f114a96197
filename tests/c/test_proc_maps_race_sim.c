// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kernel selftest's race scenarios (proc_maps_race.h) against the
 * simulated mm, for maps and smaps in both designs: a modifier splits and
 * merges, shrinks and expands, or re-maps in place the VMA at the first
 * read() boundary while the reader reads the file 4 KiB at a time.
 *
 * Then the fault the checker is for: with --inject skip-merged the walker
 * skips a VMA that grew back across its resume point, and the check must
 * catch it.
 *
 *   test_proc_maps_race_sim [SECONDS [SCENARIO]]
 *
 * SECONDS per clean case (default 0.2); SCENARIO limits the run to one of
 * split, shrink, remap.  Fault runs stop at the first bad boundary, or
 * fail after 10 s.
 *
 * The layout: 200 VMAs of 3 pages, each followed by a 1-page hole, so no
 * two merge; the 4 KiB boundary falls after some VMA A = [a, a+3):
 *
 *   split/merge     munmap(a+1)        [a,a+1) [a+2,a+3)  | mmap(a+1)
 *   shrink/expand   munmap(a+1, 2)     [a,a+1)            | mmap(a+1, 2)
 *   re-map          mmap(a+1) over the populated page: the layout stays,
 *                   but the writer replaces VMAs under lockless readers
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/api.h"
#include "kernel/compiler.h"
#include "kernel/mm.h"
#include "proc_maps_race.h"
#include "kernel/task_mmu.h"

#define NVMAS 200
#define VMA_PAGES 3

struct sim_ctx {
	struct mm_struct *mm;
	int procfile, lock;
	unsigned long a;		/* region page of the boundary VMA's start */
	struct pv_walk_stats stats;
	struct proc_maps_file file;
};

static bool sim_read_boundary(void *arg, struct race_boundary *out)
{
	struct sim_ctx *c = arg;
	struct proc_maps_file *f = &c->file;
	bool ok;
	long n;

	if (proc_maps_open(f, c->mm, c->procfile, c->lock, &c->stats, NULL))
		return false;
	n = proc_maps_read(f);
	ok = n > 0 && race_find_line(f->m.buf, (size_t)n, true, &out->last);
	if (ok) {
		n = proc_maps_read(f);
		ok = n > 0 && race_find_line(f->m.buf, (size_t)n, false, &out->first);
	}
	proc_maps_release(f);
	return ok;
}

static bool split(void *arg)
{
	struct sim_ctx *c = arg;

	return !pv_munmap(c->mm, c->a + 1, 1);
}

static bool merge(void *arg)
{
	struct sim_ctx *c = arg;

	return !pv_mmap_fixed_populate(c->mm, c->a + 1, 1);
}

static bool shrink(void *arg)
{
	struct sim_ctx *c = arg;

	return !pv_munmap(c->mm, c->a + 1, 2);
}

static bool expand(void *arg)
{
	struct sim_ctx *c = arg;

	return !pv_mmap_fixed_populate(c->mm, c->a + 1, 2);
}

static void rcu_start(void *arg)
{
	(void)arg;
	pv_rcu_register_thread();
}

static void rcu_end(void *arg)
{
	(void)arg;
	pv_rcu_unregister_thread();
}

static const struct race_scenario scenarios[] = {
	{ "split", split, merge, RACE_BOTH_CHANGE },
	{ "shrink", shrink, expand, RACE_LAST_CHANGES },
	{ "remap", merge, merge, RACE_NONE_CHANGES },
};


static int failures, passes;

/* The region as above; @c->a set from where the first read() ends. */
static bool build(struct sim_ctx *c)
{
	struct race_boundary b;
	unsigned long i;

	c->mm = pv_mm_create(NVMAS * (VMA_PAGES + 1), 1);
	if (!c->mm)
		return false;
	for (i = 0; i < NVMAS; i++)
		if (pv_munmap(c->mm, i * (VMA_PAGES + 1) + VMA_PAGES, 1))
			return false;
	if (!sim_read_boundary(c, &b))
		return false;
	c->a = addr_page(c->mm, b.last.start);
	return b.last.end - b.last.start == VMA_PAGES * PAGE_SIZE &&
	       c->a + VMA_PAGES + 1 < NVMAS * (VMA_PAGES + 1);
}

static void run_case(int procfile, int lock, const struct race_scenario *s,
		     double seconds, int inject)
{
	struct sim_ctx *c = calloc(1, sizeof(*c));
	struct race_ops ops = {
		.ctx = c, .read_boundary = sim_read_boundary,
		.modify = s->modify, .restore = s->restore,
		.thread_start = rcu_start, .thread_end = rcu_end,
	};
	struct race_modifier mod;
	struct race_result res;
	const char *how = inject ? "skip-merged" : "clean";
	double t0;
	pthread_t thread;
	bool ok;

	if (!c) {
		failures++;
		return;
	}
	c->procfile = procfile;
	c->lock = lock;
	if (race_modifier_start(&mod, &ops, &thread)) {
		printf("FAIL %s/%s %s: no modifier thread\n", pv_lock_name(lock),
		       pv_procfile_name(procfile), s->name);
		failures++;
		free(c);
		return;
	}
	if (!build(c)) {
		printf("FAIL %s/%s %s: building the layout\n", pv_lock_name(lock),
		       pv_procfile_name(procfile), s->name);
		failures++;
		goto out;
	}
	pv_mm_set_inject(c->mm, inject);
	t0 = race_now();
	ok = race_run(&mod, &ops, s->shape, seconds, inject != 0, &res);
	printf("%s/%s %s, %s: %.2f s, %llu reads (restored %llu, modified %llu, "
	       "reported twice %llu, bad %llu), %llu modifications\n",
	       pv_lock_name(lock), pv_procfile_name(procfile), s->name, how, race_now() - t0,
	       res.reads, res.seen[RACE_SEEN_RESTORED], res.seen[RACE_SEEN_MODIFIED],
	       res.seen[RACE_SEEN_REPORTED_TWICE], res.seen[RACE_SEEN_BAD],
	       res.modifications);
	if (!inject && !ok) {
		printf("FAIL: %s\n", res.error);
		failures++;
	} else if (inject && (!res.seen[RACE_SEEN_BAD] || res.bad.last.text[0] == '\0')) {
		printf("FAIL: the skip of a merged VMA went unnoticed%s%s\n",
		       res.error[0] ? ": " : "", res.error);
		failures++;
	} else if (!inject && !res.reads) {
		printf("FAIL: no boundary read while the modifier ran\n");
		failures++;
	} else {
		if (inject)
			printf("  caught after %llu reads: %s\n", res.reads, res.error);
		passes++;
	}
out:
	race_modifier_exit(&mod, thread);
	pv_mm_destroy(c->mm);
	free(c);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 0.2;
	const char *only = argc > 2 ? argv[2] : NULL;
	int procfile, lock;
	size_t i;

	pv_rcu_register_thread();
	/* Every design that reads the file. */
	for (procfile = PV_PROC_MAPS; procfile <= PV_PROC_SMAPS; procfile++)
		for (lock = 0; lock < PV_NR_LOCKS; lock++)
			for (i = 0; i < ARRAY_SIZE(scenarios); i++)
				if (!pv_lock_check(lock, procfile) &&
				    (!only || !strcmp(only, scenarios[i].name)))
					run_case(procfile, lock, &scenarios[i], seconds, 0);
	/* The split/merge race is the one that loses the grown VMA's pages. */
	for (procfile = PV_PROC_MAPS; procfile <= PV_PROC_SMAPS; procfile++)
		for (lock = 0; lock < PV_NR_LOCKS; lock++)
			if (!pv_lock_check(lock, procfile))
				run_case(procfile, lock, &scenarios[0], 10,
					 PV_INJECT_SKIP_MERGED);
	pv_rcu_unregister_thread();
	printf("test_proc_maps_race_sim: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
