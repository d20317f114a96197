/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the BPF lock trace (locktrace.bpf.c) and its loader
 * (harness/ktrace.c) share: the layout of one CPU's sums, which the
 * programs add to and the loader reads back from the per-CPU array.
 *
 * It includes nothing: __u64 comes from vmlinux.h on the BPF side and
 * from <linux/types.h> (through libbpf's headers) on the loader's.
 */
#ifndef PROCVMA_BPF_LOCKTRACE_H
#define PROCVMA_BPF_LOCKTRACE_H

/* One sample's sums, per CPU (no atomics on the hot path). */
struct pv_ktrace_sums {
	__u64 mapper_wait_ns;
	__u64 mapper_wait_max_ns;
	__u64 mapper_waits;
	__u64 mapper_sleeps;
	__u64 mapper_wakeups;
	__u64 mapper_wake_to_run_ns;	/* sched_waking to its switch-in, summed */
	__u64 mapper_wake_runs;		/* ... over these */
	__u64 reader_locks;
	__u64 reader_holds;
	__u64 hold_ns;
	__u64 hold_max_ns;
	__u64 hold_running_ns;
	__u64 hold_preempted_ns;
	__u64 hold_sleeping_ns;
	__u64 reader_cpu_ns;
	__u64 missed;		/* a task the map had no room for */
};

#endif
