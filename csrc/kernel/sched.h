/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's preemption model, as far as it decides who runs on a CPU
 * while a task is in kernel code (kernel/sched/core.c, the
 * preempt= / "Dynamic Preempt:" models).
 *
 * The simulated tasks are host threads, and the host preempts a thread
 * anywhere.  A kernel booted "none" or "voluntary" does not: a task
 * running kernel code (a /proc reader inside read(), holding mmap_lock
 * or not) is switched out only at a preemption point -- cond_resched(),
 * and under "voluntary" also might_resched() (might_sleep(), e.g. at the
 * top of down_read()) -- when it sleeps, or on its return to user space.
 * A task woken meanwhile on that CPU (the nice-0 busy-waiter after its
 * 1 ms sleep), or one the scheduler would give the CPU to, sets
 * need_resched and waits for that point.
 *
 * So each simulated CPU (struct pv_rq) has one "running kernel code"
 * token, rq->curr.  A task takes it on entering the kernel and gives it
 * up at the kernel's switch points; any other task of that CPU that
 * finds itself running while the token is held (the host put it there)
 * sets rq->need_resched and sleeps until the holder reaches a preemption
 * point and hands the CPU over (RQ_HANDOFF).  Under "full" there is no
 * token: the host's preemption anywhere is the model's.  Under "lazy" a
 * woken task waits for the holder's preemption point or the next tick,
 * whichever comes first (TIF_NEED_RESCHED_LAZY is made urgent at the
 * tick).
 *
 * Only what the figures need is counted: the time a task spends switched
 * out at its preemption points and asleep in the kernel.
 */
#ifndef PROCVMA_SCHED_H
#define PROCVMA_SCHED_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "uapi.h"
#include "compiler.h"

/* rq->curr: nobody in kernel code, or the CPU handed to whoever waits. */
#define RQ_IDLE		0u
#define RQ_HANDOFF	(~0u)

struct pv_rq {
	alignas(64) atomic_uint curr;	/* RQ_IDLE, a task's id, RQ_HANDOFF */
	atomic_int need_resched;	/* a task of this CPU waits to run */
	atomic_int nr_sleepers;		/* asleep on curr: worth a wake-up */
	int preempt;			/* PV_PREEMPT_* */
	atomic_uint next_id;
};

struct task_struct {
	struct pv_rq *rq;
	unsigned int id;
	int kernel_depth;		/* nested syscall_enter()s */
	bool has_cpu;			/* holds rq->curr */
	/* Only this task writes these; times in ns, growing. */
	uint64_t preempted_ns;		/* switched out at a preemption point */
	uint64_t slept_ns;		/* asleep in the kernel */
	unsigned long long sleeps;	/* sleeps in the kernel */
	unsigned long long wakeups;	/* ... that a wake-up ended */
	uint64_t wake_to_run_ns;	/* from its waker's call to running again */
	unsigned long long wake_runs;	/* ... over these wake-ups */
};

/* This thread's simulated task, or NULL (a thread outside the model). */
extern __thread struct task_struct *current;

void __syscall_enter(struct task_struct *t);
void __syscall_exit(struct task_struct *t);
void __preempt_schedule(struct task_struct *t);

static inline bool preempt_model_tokenized(const struct task_struct *t)
{
	return t && (t->rq->preempt == PV_PREEMPT_NONE ||
		     t->rq->preempt == PV_PREEMPT_VOLUNTARY);
}

/* Entry into the kernel: a system call. */
static inline void syscall_enter(void)
{
	struct task_struct *t = current;

	if (t && t->rq->preempt != PV_PREEMPT_FULL && t->kernel_depth++ == 0)
		__syscall_enter(t);
}

/* The return to user space: a preemption point under every model. */
static inline void syscall_exit(void)
{
	struct task_struct *t = current;

	if (t && t->rq->preempt != PV_PREEMPT_FULL && --t->kernel_depth == 0)
		__syscall_exit(t);
}

static inline bool need_resched(const struct task_struct *t)
{
	return atomic_load_explicit(&t->rq->need_resched, memory_order_relaxed);
}

/* cond_resched(): a preemption point under none and voluntary. */
static inline void cond_resched(void)
{
	struct task_struct *t = current;

	if (preempt_model_tokenized(t) && t->has_cpu && unlikely(need_resched(t)))
		__preempt_schedule(t);
}

/* might_resched() (might_sleep()): a preemption point under voluntary only. */
static inline void might_resched(void)
{
	struct task_struct *t = current;

	if (t && t->rq->preempt == PV_PREEMPT_VOLUNTARY && t->has_cpu &&
	    unlikely(need_resched(t)))
		__preempt_schedule(t);
}

/*
 * Around a sleep in the kernel (the rwsem's and the VMA lock's futex
 * waits): the CPU goes to whoever waits for it, and the task asks for it
 * back once woken.  sched_sleep_begin() returns what sched_sleep_end()
 * needs: when the sleep began (0 outside the model).
 */
uint64_t sched_sleep_begin(void);
/*
 * @ret: what futex_wait() returned: a sleep (0: ended by a wake-up, as
 * the kernel's sched_wakeup counts them; -EINTR), or none (-EAGAIN).
 */
void sched_sleep_end(uint64_t since_ns, int ret);
/*
 * After a sleep that a wake-up ended (sched_sleep_end() with 0), with
 * the CPU back: @woken_ns is when the waker woke us (the kernel's
 * sched_waking, in the waker's try_to_wake_up()).
 */
void sched_wake_ran(uint64_t woken_ns);

#endif
