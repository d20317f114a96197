/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The /proc/PID/{maps,smaps,smaps_rollup} walkers (fs/proc/task_mmu.c),
 * with an optional observer for the torture checker.
 */
#ifndef PROCVMA_TASK_MMU_H
#define PROCVMA_TASK_MMU_H

#include "api.h"
#include "mm_types.h"

#define PSS_SHIFT 12

struct mem_size_stats {
	unsigned long resident;
	unsigned long shared_clean;
	unsigned long shared_dirty;
	unsigned long private_clean;
	unsigned long private_dirty;
	unsigned long referenced;
	unsigned long anonymous;
	unsigned long lazyfree;
	unsigned long anonymous_thp;
	unsigned long shmem_thp;
	unsigned long file_thp;
	unsigned long swap;
	unsigned long shared_hugetlb;
	unsigned long private_hugetlb;
	unsigned long ksm;
	unsigned long long pss;
	unsigned long long pss_anon;
	unsigned long long pss_file;
	unsigned long long pss_shmem;
	unsigned long long pss_dirty;
	unsigned long long pss_locked;
	unsigned long long swap_pss;
};

/*
 * What a walker tells an observer, for every VMA it reports: the range it
 * saw when it got the VMA, the part it accounted ([walk_from, end) for
 * the rollup, the whole VMA otherwise), and the VMA's change stamp read
 * when it got the VMA and again when done with it.  Records a read()
 * threw away (the seq_file overflowed) are not reported.
 */
struct walk_observer {
	void (*walk_begin)(struct walk_observer *obs);
	void (*vma_shown)(struct walk_observer *obs, unsigned long start,
			  unsigned long end, unsigned long walk_from,
			  unsigned int gen_before, unsigned int gen_after);
	void (*rollup_done)(struct walk_observer *obs,
			    const struct mem_size_stats *mss);
};

long proc_read_all(struct mm_struct *mm, int procfile, int lock, char *buf,
		   unsigned long len, struct pv_walk_stats *stats,
		   struct walk_observer *obs);

#endif
