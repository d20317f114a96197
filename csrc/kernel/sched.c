// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The preemption model's switch points (see sched.h): who holds a
 * simulated CPU's "running kernel code" token, and how it is handed over
 * at the kernel's preemption points.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "sched_api.h"
#include "futex.h"
#include "ktime.h"
#include "sched.h"

__thread struct task_struct *current;
static __thread struct task_struct task_storage;

/*
 * How long a task switched out at a preemption point waits before the
 * scheduler would give it its turn again: one base slice, the kernel's
 * sysctl_sched_base_slice (0.75 ms) scaled by 1 + ilog2(CPUs, at most 8),
 * as sched_update_scaling() does by default.
 */
static uint64_t base_slice_ns(void)
{
	static uint64_t slice;
	long cpus;
	unsigned int factor = 1;

	if (slice)
		return slice;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus > 8)
		cpus = 8;
	while (cpus > 1) {
		factor++;
		cpus >>= 1;
	}
	slice = 750000u * factor;
	return slice;
}

/* The jiffy after @now at HZ=250, this host class's CONFIG_HZ. */
static uint64_t next_tick_ns(uint64_t now)
{
	const uint64_t jiffy = 4000000u;

	return (now / jiffy + 1) * jiffy;
}

struct pv_rq *pv_rq_create(int preempt)
{
	struct pv_rq *rq;

	if (preempt < PV_PREEMPT_NONE || preempt > PV_PREEMPT_LAZY)
		return NULL;
	if (posix_memalign((void **)&rq, 64, sizeof(*rq)))
		return NULL;
	atomic_init(&rq->curr, RQ_IDLE);
	atomic_init(&rq->need_resched, 0);
	atomic_init(&rq->nr_sleepers, 0);
	atomic_init(&rq->next_id, 0);
	rq->preempt = preempt;
	return rq;
}

void pv_rq_destroy(struct pv_rq *rq)
{
	free(rq);
}

void pv_sched_attach(struct pv_rq *rq)
{
	struct task_struct *t = &task_storage;

	if (!rq) {
		current = NULL;
		return;
	}
	*t = (struct task_struct){
		.rq = rq,
		.id = atomic_fetch_add(&rq->next_id, 1) + 1,
	};
	current = t;
}

void pv_sched_task_stat(struct pv_sched_stat *out)
{
	struct task_struct *t = current;

	*out = (struct pv_sched_stat){ 0 };
	if (!t)
		return;
	out->preempted_ns = t->preempted_ns;
	out->slept_ns = t->slept_ns;
	out->sleeps = t->sleeps;
	out->wakeups = t->wakeups;
}

/* ---- the token ---------------------------------------------------------- */

/*
 * Sleep while rq->curr is still @seen, at most until @deadline_ns.  The
 * sleeper count is raised first (seq_cst), and a task that changes curr
 * stores it (seq_cst) before it reads the count: either it sees us and
 * wakes us, or futex_wait() sees the new curr and returns at once.
 */
static void rq_sleep(struct pv_rq *rq, unsigned int seen, uint64_t deadline_ns)
{
	uint64_t now = ktime_get_ns();

	if (now >= deadline_ns)
		return;
	atomic_fetch_add(&rq->nr_sleepers, 1);
	futex_wait_ns(&rq->curr, seen, (long long)(deadline_ns - now));
	atomic_fetch_sub(&rq->nr_sleepers, 1);
}

static void rq_set_curr(struct pv_rq *rq, unsigned int curr)
{
	atomic_store(&rq->curr, curr);
	if (atomic_load(&rq->nr_sleepers))
		futex_wake_all(&rq->curr);
}

/*
 * Wait until this task may run kernel code on its CPU, and take the
 * token.  @woken: the task was just woken, or the host has put it on the
 * CPU, so it asks for the CPU at once (need_resched) and may take a
 * handoff; a task switched out at a preemption point instead waits its
 * turn, a base slice, before it asks.
 */
static void get_cpu_token(struct task_struct *t, bool woken)
{
	struct pv_rq *rq = t->rq;
	uint64_t turn = woken ? 0 : ktime_get_ns() + base_slice_ns();

	for (;;) {
		unsigned int c = atomic_load(&rq->curr);

		if (c == RQ_IDLE || (c == RQ_HANDOFF && woken)) {
			/* seq_cst: pairs with rq_set_curr()'s store. */
			if (atomic_compare_exchange_weak(&rq->curr, &c, t->id))
				break;
			continue;
		}
		if (woken) {
			atomic_store(&rq->need_resched, 1);
			rq_sleep(rq, c, ktime_get_ns() + base_slice_ns());
		} else {
			rq_sleep(rq, c, turn);
			if (ktime_get_ns() >= turn)
				woken = true;
		}
	}
	t->has_cpu = true;
}

/*
 * Give the token up: to whoever asked for the CPU (need_resched), or to
 * nobody.
 */
static bool put_cpu_token(struct task_struct *t)
{
	struct pv_rq *rq = t->rq;
	bool handoff = atomic_exchange(&rq->need_resched, 0);

	t->has_cpu = false;
	rq_set_curr(rq, handoff ? RQ_HANDOFF : RQ_IDLE);
	return handoff;
}

void __syscall_enter(struct task_struct *t)
{
	if (preempt_model_tokenized(t))
		get_cpu_token(t, true);
}

/*
 * The return to user space.  With need_resched set the task is switched
 * out here: it goes on only once the task that asked has the CPU (or has
 * gone), so that it cannot re-enter the kernel ahead of it.
 */
void __syscall_exit(struct task_struct *t)
{
	struct pv_rq *rq = t->rq;
	uint64_t turn;

	if (!t->has_cpu || !put_cpu_token(t))
		return;
	turn = ktime_get_ns() + base_slice_ns();
	while (atomic_load(&rq->curr) == RQ_HANDOFF && ktime_get_ns() < turn)
		rq_sleep(rq, RQ_HANDOFF, turn);
}

/* preempt_schedule() at cond_resched()/might_resched(): need_resched was set. */
void __preempt_schedule(struct task_struct *t)
{
	uint64_t t0 = ktime_get_ns();

	put_cpu_token(t);
	get_cpu_token(t, false);
	t->preempted_ns += ktime_get_ns() - t0;
}

uint64_t sched_sleep_begin(void)
{
	struct task_struct *t = current;

	if (!t)
		return 0;
	if (t->has_cpu)
		put_cpu_token(t);
	return ktime_get_ns();
}

void sched_sleep_end(uint64_t since_ns, int ret)
{
	struct task_struct *t = current;

	if (!t || !since_ns)
		return;
	if (ret != -EAGAIN)
		t->sleeps++;
	if (ret == 0)
		t->wakeups++;
	/* A woken task in the kernel asks for its CPU back. */
	if (preempt_model_tokenized(t) && t->kernel_depth > 0)
		get_cpu_token(t, true);
	t->slept_ns += ktime_get_ns() - since_ns;
}

void sched_wake_ran(uint64_t woken_ns)
{
	struct task_struct *t = current;
	uint64_t now = ktime_get_ns();

	if (!t || !woken_ns || now < woken_ns)
		return;
	t->wake_to_run_ns += now - woken_ns;
	t->wake_runs++;
}

/* ---- tasks in user space (the busy-waiters) ----------------------------- */

/*
 * The calling task is running user code, woken (@woken) or put on the
 * CPU by the host: if another task of its CPU is in kernel code that
 * cannot be preempted, it waits for that task's preemption point, as
 * the kernel's scheduler would make it.  Under "lazy" a woken task waits
 * at most until the next tick; under "full" it never waits.  Returns 0
 * when it may go on, 1 when it should check its stop flag and call again.
 */
int pv_sched_user_resume(int woken)
{
	struct task_struct *t = current;
	struct pv_rq *rq;
	uint64_t now, deadline;
	unsigned int c;

	if (!t || t->rq->preempt == PV_PREEMPT_FULL)
		return 0;
	rq = t->rq;
	if (rq->preempt == PV_PREEMPT_LAZY && !woken)
		return 0;
	/* The busy-waiter asks on every spin: the common answer costs a load. */
	if (atomic_load_explicit(&rq->curr, memory_order_relaxed) == RQ_IDLE)
		return 0;
	now = ktime_get_ns();
	deadline = rq->preempt == PV_PREEMPT_LAZY ? next_tick_ns(now) :
		   now + base_slice_ns();
	for (;;) {
		c = atomic_load(&rq->curr);
		if (c == RQ_IDLE)
			return 0;
		if (c == RQ_HANDOFF) {
			if (atomic_compare_exchange_weak(&rq->curr, &c, RQ_IDLE)) {
				/* The task that handed over may go on when the host lets it. */
				if (atomic_load(&rq->nr_sleepers))
					futex_wake_all(&rq->curr);
				return 0;
			}
			continue;
		}
		if (ktime_get_ns() >= deadline)
			/* lazy: the tick makes the request urgent, preempting it. */
			return rq->preempt == PV_PREEMPT_LAZY ? 0 : 1;
		atomic_store(&rq->need_resched, 1);
		rq_sleep(rq, c, deadline);
	}
}
