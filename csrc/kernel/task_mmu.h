/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The /proc/PID/{maps,smaps,smaps_rollup,numa_maps} walkers (fs/proc/task_mmu.c),
 * with an optional observer for the torture checker.
 */
#ifndef PROCVMA_TASK_MMU_H
#define PROCVMA_TASK_MMU_H

#include <stdbool.h>

#include "uapi.h"
#include "mm_types.h"
#include "proc_maps_lock.h"
#include "seq_file.h"

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
 * What show_numa_map() counts of one VMA's pages (struct numa_maps), in
 * pages.  The simulated machine has one memory node.
 */
#define MAX_NUMNODES 1

struct numa_maps {
	unsigned long pages;
	unsigned long anon;
	unsigned long active;
	unsigned long writeback;
	unsigned long mapcount_max;
	unsigned long dirty;
	unsigned long swapcache;
	unsigned long node[MAX_NUMNODES];
};

/*
 * What a walker tells an observer, for every VMA it reports: the range it
 * saw when it got the VMA, the part it accounted ([walk_from, end) for
 * the rollup, the whole VMA otherwise), and the VMA's change stamp read
 * when it got the VMA and again when done with it.  Records a read()
 * threw away (the seq_file overflowed, or the design refused the page)
 * are not reported; when the design validates its pages, a page's
 * records are reported once it goes out.
 */
struct walk_observer {
	void (*walk_begin)(struct walk_observer *obs);
	void (*vma_shown)(struct walk_observer *obs, unsigned long start,
			  unsigned long end, unsigned long walk_from,
			  unsigned int gen_before, unsigned int gen_after);
	void (*rollup_done)(struct walk_observer *obs,
			    const struct mem_size_stats *mss);
	/*
	 * A read() filled its page and is about to ask the design whether
	 * it may go out, still holding what it filled it under: where a
	 * test makes the mm change under a page.  NULL: not told.
	 */
	void (*page_filled)(struct walk_observer *obs);
};

/* The largest seq_file buffer a read() may grow to (one smaps record is ~1 KiB). */
#define SEQ_BUF_MAX (16 * PAGE_SIZE)

/* What a walker got of a VMA it reported (walk_observer's vma_shown()). */
struct walk_shown {
	unsigned long start, end, walk_from;
	unsigned int gen_before, gen_after;
};

/*
 * The records of one read() held back for the observer until the design
 * lets the page go out: a page of maps lines, 41 bytes or more each,
 * and a read() that would show more stops short.
 */
#define WALK_HELD_MAX (PAGE_SIZE / 32)

struct proc_maps_private {
	struct proc_maps_locking_ctx lock_ctx;	/* the design, and what it holds */
	unsigned long last_pos;		/* where the next read() resumes */
	struct walk_observer *obs;
	unsigned int gen_before;	/* locked_vma's vm_gen when we got it */
	unsigned long shown_start;	/* ... and its range then */
	unsigned long shown_end;
	unsigned int nheld;		/* observed records of the page ... */
	struct walk_shown held[WALK_HELD_MAX];	/* ... held back until it goes out */
};

struct proc_maps_file;
struct seq_operations;

/*
 * What a /proc/PID file does on read() (the kernel's file_operations
 * with its seq_operations or single_open() show), chosen once, at open.
 */
struct proc_pid_file_operations {
	const char *name;		/* under /proc/PID */
	/* One read(): bytes produced, 0 at EOF, or -errno; sets f->eof. */
	long (*read)(struct proc_maps_file *f);
	const struct seq_operations *seq_ops;	/* seq_read()'s walk */
	void (*single_show)(struct proc_maps_private *priv, struct seq_file *m);
};

/*
 * An open /proc/PID/{maps,smaps,smaps_rollup,numa_maps}: what seq_open() and
 * proc_maps_open() set up, read one read() at a time with
 * proc_maps_read().  Large (the seq_file buffer is inside); callers keep
 * it on their stack or in their own allocation.
 */
struct proc_maps_file {
	struct proc_maps_private priv;
	struct seq_file m;
	const struct proc_pid_file_operations *fops;	/* bound at open */
	bool eof;
	struct pv_walk_stats dummy;	/* stats when the caller wants none */
	char buf[SEQ_BUF_MAX];
};

/*
 * 0; -EINVAL for an unknown @procfile or @lock; -EOPNOTSUPP when design
 * @lock does not read @procfile.  @stats, @obs may be NULL.
 */
int proc_maps_open(struct proc_maps_file *f, struct mm_struct *mm, int procfile,
		   int lock, struct pv_walk_stats *stats, struct walk_observer *obs);
/*
 * One read() of at least a page: the next whole records, in f->m.buf.
 * Returns their length, 0 at EOF, or -EFBIG if one record outgrew
 * SEQ_BUF_MAX.  The first read() starts the walk (obs->walk_begin).
 */
long proc_maps_read(struct proc_maps_file *f);
/* close(): counts a finished walk (stats->walks) if it reached EOF. */
void proc_maps_release(struct proc_maps_file *f);

long proc_read_all(struct mm_struct *mm, int procfile, int lock, char *buf,
		   unsigned long len, struct pv_walk_stats *stats,
		   struct walk_observer *obs);

#endif
