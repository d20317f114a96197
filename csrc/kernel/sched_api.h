/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PROCVMA_KERNEL_SCHED_API_H
#define PROCVMA_KERNEL_SCHED_API_H
/*
 * The simulated CPUs' interface (sched.c): what the harness and the tests
 * call to run their threads as tasks of a simulated CPU under a
 * preemption model.  Its own header, so that sched.c includes what it
 * implements and not the whole kernel's api.h above it.
 *
 * cdef-parseable, as api.h is (procvma/_build_core.py reads it first).
 */

/* One simulated CPU's run state.  NULL: out of memory or no such model. */
struct pv_rq;
struct pv_rq *pv_rq_create(int preempt);
void pv_rq_destroy(struct pv_rq *rq);
/* The calling thread is a task of @rq's CPU from now on; NULL: no longer. */
void pv_sched_attach(struct pv_rq *rq);
/*
 * A task in user space that was woken (@woken), or that the host put on
 * the CPU: wait while another task of its CPU runs kernel code it cannot
 * be preempted in.  0: go on; 1: check your stop flag and call again.
 */
int pv_sched_user_resume(int woken);

/* The calling task's scheduling figures so far (ns and counts). */
struct pv_sched_stat {
	unsigned long long preempted_ns;	/* switched out at preemption points */
	unsigned long long slept_ns;		/* asleep in the kernel */
	unsigned long long sleeps;
	unsigned long long wakeups;		/* sleeps a wake-up ended */
};
void pv_sched_task_stat(struct pv_sched_stat *out);

#endif /* PROCVMA_KERNEL_SCHED_API_H */
