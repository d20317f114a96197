/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PROCVMA_TORTURE_API_H
#define PROCVMA_TORTURE_API_H
/*
 * The torture test's API (torture.c, procvma torture): a test of the
 * simulated kernel's internals, kept beside it as the kernel keeps
 * locktorture.c beside its locking.  Built on the ground floor's
 * constants and records (kernel/uapi.h), which cffi reads first.
 *
 * Read by the C compiler and by cffi's cdef parser alike: plain
 * declarations and integer #defines only, as in kernel/api.h (the
 * include guard and the include of uapi.h aside, which the cffi build
 * drops).
 */

#include "kernel/uapi.h"

/*
 * Writers churn a simulated mm while readers walk it with every check on
 * (procvma torture).  The bit masks select what the readers walk:
 * 1 << PV_LOCK_* and 1 << PV_PROC_*; of those, each file in each design
 * that reads it (pv_lock_check()).
 */
struct pv_torture_config {
	unsigned int locks;
	unsigned int procfiles;
	int writers;			/* threads contending for the write lock */
	int readers;			/* each cycles through every lock x procfile */
	double duration_s;
	int inject;			/* PV_INJECT_* bits */
	unsigned long region_pages;
	unsigned long max_map_count;	/* 0: region_pages / 9, ENOMEM now and then */
	double phase_ms;		/* length of a churn or a conserving phase */
	unsigned long long seed;	/* the writers' op streams */
	unsigned long long stop_after;	/* stop at this many violations; 0: never */
};

struct pv_torture_result {
	unsigned long long walks[PV_NR_LOCKS][4];	/* [PV_LOCK_*][PV_PROC_*] */
	struct pv_walk_stats stats[PV_NR_LOCKS];	/* per design */
	unsigned long long conserving_checks;	/* walks checked for exact totals */
	unsigned long long coverage_checks;	/* walks checked for lost pages */
	unsigned long long coverage_pages;	/* pages they required: mapped throughout */
	unsigned long long maps, unmaps, remaps, enomem;	/* writer ops */
	unsigned long vmas_in_tree, vmas_free, vmas_total;	/* at the end */
	unsigned long pages_populated;
	double elapsed_s;
	int stopped_early;		/* stop_after or pv_torture_stop() */
	unsigned long long violations;
	int nmessages;
	char messages[8][200];		/* the first violations, one line each */
};

/* 0, or -errno (-EINVAL: a bad config; -ENOMEM). */
int pv_torture_run(const struct pv_torture_config *cfg,
		   struct pv_torture_result *out);
/*
 * Ask a running pv_torture_run() to finish early (Ctrl-C).  Sticky: a
 * run that starts later stops at once, until pv_torture_reset_stop().
 */
void pv_torture_stop(void);
void pv_torture_reset_stop(void);

#endif /* PROCVMA_TORTURE_API_H */
