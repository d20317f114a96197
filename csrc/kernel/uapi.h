/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PROCVMA_KERNEL_UAPI_H
#define PROCVMA_KERNEL_UAPI_H
/*
 * The ground floor: the constants and records the simulated kernel shares
 * with whoever stands outside it (the harness, the torture test, Python),
 * as include/uapi/ does for Linux.  Every other header of ours may include
 * it; it includes nothing, so no arrow leaves it.
 *
 * Read by the C compiler and by cffi's cdef parser alike (first of all
 * the API headers, procvma/_build_core.py): plain declarations and
 * integer #defines only, no includes, no inline code, no conditional
 * compilation but the include guard, which the cffi build drops.
 */

#define PV_PAGE_SIZE 4096

/* vm.max_map_count's default (include/linux/mm.h: DEFAULT_MAX_MAP_COUNT). */
#define PV_DEFAULT_MAX_MAP_COUNT 65530

/*
 * Reader locking designs (docs/design.md), numbered from 0: each one's
 * ops table is registered under its number (kernel/proc_maps_lock.c).
 */
#define PV_LOCK_MMAP 0	/* every walk under the mmap read lock */
#define PV_LOCK_VMA 1	/* RCU + per-VMA read locks, mmap lock fallback */
#define PV_LOCK_SPECULATE 2	/* maps under RCU, each page checked against mm_lock_seq */
#define PV_NR_LOCKS 3	/* one more than the last design's number */

#define PV_PROC_MAPS 0
#define PV_PROC_SMAPS 1
#define PV_PROC_SMAPS_ROLLUP 2
#define PV_PROC_NUMA_MAPS 3

/*
 * The kernel's preemption models (kernel/sched/core.c, "Dynamic Preempt:"):
 * where a task running kernel code may be switched out.
 */
#define PV_PREEMPT_NONE 0
#define PV_PREEMPT_VOLUNTARY 1
#define PV_PREEMPT_FULL 2
#define PV_PREEMPT_LAZY 3

/* Faults that deliberately break the model (procvma torture --inject). */
#define PV_INJECT_NONE 0
#define PV_INJECT_NO_RESUME_CHECK 1	/* rollup re-walks what it already counted */
#define PV_INJECT_NO_VMA_LOCK 2		/* per-VMA readers skip vma_start_read */
#define PV_INJECT_NO_DRAIN 4		/* vma_start_write does not wait for readers */
#define PV_INJECT_SKIP_MERGED 8		/* maps/smaps skip a VMA grown across the resume point */
#define PV_INJECT_NO_SPECULATE_RETRY 16	/* speculation returns a page unchecked */

/* Counters a reader accumulates over its walks. */
struct pv_walk_stats {
	unsigned long long walks;	/* completed read-to-EOF passes */
	unsigned long long vmas;	/* VMAs shown (a re-shown VMA counts again) */
	unsigned long long reads;	/* read() calls (seq_file chunks) */
	unsigned long long fallbacks;	/* the lockless way failed, took mmap_lock */
	unsigned long long drops;	/* rollup dropped mmap_lock on contention */
	unsigned long long retries;	/* the mm changed under a lockless read, read again */
};

/*
 * PROCMAP_QUERY, the ioctl on /proc/PID/maps (include/uapi/linux/fs.h):
 * the same struct procmap_query and flags, under the simulator's names.
 */
#define PV_PROCMAP_QUERY_VMA_READABLE 0x01
#define PV_PROCMAP_QUERY_VMA_WRITABLE 0x02
#define PV_PROCMAP_QUERY_VMA_EXECUTABLE 0x04
#define PV_PROCMAP_QUERY_VMA_SHARED 0x08
#define PV_PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10
#define PV_PROCMAP_QUERY_FILE_BACKED_VMA 0x20

struct pv_procmap_query {
	unsigned long long size;		/* in: sizeof(struct pv_procmap_query) */
	unsigned long long query_flags;		/* in: PV_PROCMAP_QUERY_* */
	unsigned long long query_addr;		/* in */
	unsigned long long vma_start;		/* out */
	unsigned long long vma_end;
	unsigned long long vma_flags;		/* PV_PROCMAP_QUERY_VMA_* */
	unsigned long long vma_page_size;
	unsigned long long vma_offset;
	unsigned long long inode;
	unsigned int dev_major;
	unsigned int dev_minor;
	unsigned int vma_name_size;		/* in/out; 0 out: no name */
	unsigned int build_id_size;		/* in/out; 0 out: no build ID */
	unsigned long long vma_name_addr;	/* in: never written (anonymous) */
	unsigned long long build_id_addr;
};

/*
 * One task's mmap_lock figures, as a tracer would add them up from the
 * kernel's mmap_lock tracepoints (mmap_lock_start_locking,
 * mmap_lock_acquire_returned, mmap_lock_released): kept by the
 * mmap_lock wrappers for the thread that attached it, written by that
 * thread alone.  Times in ns.
 */
struct pv_lock_stat {
	unsigned long long read_locks;		/* mmap read lock acquisitions */
	unsigned long long read_hold_ns;	/* their holds, acquire to release */
	unsigned long long read_hold_max_ns;
	unsigned long long write_wait_ns;	/* waits for the write lock */
	unsigned long long write_wait_max_ns;
	/*
	 * How the read holds were spent: the holder switched out at a
	 * preemption point, or asleep, by the model's own scheduling; and
	 * off its CPU by the host's, measured on one hold in
	 * PV_HOLD_CPU_SAMPLE with the thread's CPU clock (a system call, too
	 * dear for every hold) and scaled to all.
	 */
	unsigned long long read_hold_preempted_ns;
	unsigned long long read_hold_slept_ns;
	unsigned long long read_hold_host_off_ns;	/* on the sampled holds */
	unsigned long long read_holds_sampled;
	unsigned long long write_sleeps;	/* sleeps waiting for the write lock */
	unsigned long long write_wakeups;	/* ... that a wake-up ended */
	unsigned long long write_wake_to_run_ns;	/* woken to running, summed */
	unsigned long long write_wake_runs;		/* ... over these */
	unsigned long long read_since_ns;	/* private: the hold in progress */
	unsigned long long read_since_preempted_ns;	/* private */
	unsigned long long read_since_slept_ns;		/* private */
	unsigned long long read_since_cpu_ns;		/* private: 0, not sampled */
	unsigned long long wait_since_ns;	/* private: the wait in progress */
	unsigned long long wait_since_sleeps;		/* private */
	unsigned long long wait_since_wakeups;		/* private */
	unsigned long long wait_since_wake_to_run_ns;	/* private */
	unsigned long long wait_since_wake_runs;	/* private */
};
#define PV_HOLD_CPU_SAMPLE 8

/*
 * The preemption model the simulated kernel is booted with (sched.h):
 * under NONE and VOLUNTARY a task in kernel code is switched out only at
 * preemption points; FULL and LAZY preempt it anywhere (LAZY by the
 * next tick).
 */
#define PV_PREEMPT_NONE 0
#define PV_PREEMPT_VOLUNTARY 1
#define PV_PREEMPT_FULL 2
#define PV_PREEMPT_LAZY 3

#endif /* PROCVMA_KERNEL_UAPI_H */
