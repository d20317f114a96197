// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The preemption model (kernel/sched.h): under none and voluntary a task
 * that wakes on a CPU where another runs kernel code waits for that
 * task's preemption point; voluntary adds might_resched(); full never
 * makes it wait; lazy makes it wait no longer than the next tick.
 *
 * The "kernel code" here is a holder thread that sits in the kernel
 * (syscall_enter()) and reaches a preemption point only when told to, so
 * a waiter seen still waiting after the holder has run past points that
 * are not preemption points cannot have been let through by them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "kernel/api.h"
#include "kernel/sched.h"
#include "lock_test.h"

enum point { POINT_NONE, POINT_MIGHT_RESCHED, POINT_COND_RESCHED, POINT_EXIT };

struct holder {
	struct pv_rq *rq;
	atomic_int in_kernel;
	atomic_int go;		/* the point to reach next */
	atomic_int passed;	/* points passed */
	struct pv_sched_stat stat;
};

static void *holder_fn(void *arg)
{
	struct holder *h = arg;
	int done = 0;

	pv_sched_attach(h->rq);
	syscall_enter();
	atomic_store(&h->in_kernel, 1);
	while (!done) {
		int p = atomic_exchange(&h->go, POINT_NONE);

		switch (p) {
		case POINT_MIGHT_RESCHED:
			might_resched();
			break;
		case POINT_COND_RESCHED:
			cond_resched();
			break;
		case POINT_EXIT:
			done = 1;
			break;
		default:
			cpu_relax();	/* kernel code with no preemption point */
			continue;
		}
		atomic_fetch_add(&h->passed, 1);
	}
	syscall_exit();
	pv_sched_task_stat(&h->stat);
	pv_sched_attach(NULL);
	return NULL;
}

struct waiter {
	struct pv_rq *rq;
	atomic_int asked;
	atomic_int ran;
};

/* A busy-waiter woken on the holder's CPU. */
static void *waiter_fn(void *arg)
{
	struct waiter *w = arg;

	pv_sched_attach(w->rq);
	atomic_store(&w->asked, 1);
	while (pv_sched_user_resume(1))
		;
	atomic_store(&w->ran, 1);
	pv_sched_attach(NULL);
	return NULL;
}

static void point(struct holder *h, int p)
{
	int before = atomic_load(&h->passed);

	atomic_store(&h->go, p);
	while (atomic_load(&h->passed) == before)
		cpu_relax();
}

/*
 * Pass point @p until the waiter has run (up to 5 s).  More than one may
 * be needed: a holder switched out whose waiter has not got the CPU
 * within a slice takes it back, need_resched still set, and yields at
 * its next point.
 */
static int points_until_ran(struct holder *h, struct waiter *w, int p)
{
	return wait_for((point(h, p), atomic_load(&w->ran)));
}

/* Holder in the kernel, a waiter woken: returns with both running. */
static void start(struct pv_rq *rq, struct holder *h, struct waiter *w,
		  pthread_t *th, pthread_t *tw)
{
	*h = (struct holder){ .rq = rq };
	*w = (struct waiter){ .rq = rq };
	pthread_create(th, NULL, holder_fn, h);
	while (!atomic_load(&h->in_kernel))
		cpu_relax();
	pthread_create(tw, NULL, waiter_fn, w);
	while (!atomic_load(&w->asked))
		cpu_relax();
}

static void finish(struct holder *h, pthread_t th, pthread_t tw)
{
	atomic_store(&h->go, POINT_EXIT);
	pthread_join(th, NULL);
	pthread_join(tw, NULL);
}

/* none: only cond_resched() lets the woken task in; might_resched() does not. */
static void test_none_waits_for_cond_resched(void)
{
	struct pv_rq *rq = pv_rq_create(PV_PREEMPT_NONE);
	struct holder h;
	struct waiter w;
	pthread_t th, tw;

	start(rq, &h, &w, &th, &tw);
	CHECK(wait_for(atomic_load(&rq->need_resched)));	/* it asked */
	for (int i = 0; i < 20; i++) {
		point(&h, POINT_MIGHT_RESCHED);
		sleep_ms(1);
	}
	CHECK(!atomic_load(&w.ran));
	/* cond_resched() hands over, and the holder waits its turn. */
	CHECK(points_until_ran(&h, &w, POINT_COND_RESCHED));
	finish(&h, th, tw);
	CHECK(h.stat.preempted_ns > 0);
	pv_rq_destroy(rq);
	passes++;
}

/* voluntary: might_resched() (down_read()'s might_sleep()) is a point too. */
static void test_voluntary_switches_at_might_resched(void)
{
	struct pv_rq *rq = pv_rq_create(PV_PREEMPT_VOLUNTARY);
	struct holder h;
	struct waiter w;
	pthread_t th, tw;

	start(rq, &h, &w, &th, &tw);
	CHECK(wait_for(atomic_load(&rq->need_resched)));
	sleep_ms(20);
	CHECK(!atomic_load(&w.ran));
	CHECK(points_until_ran(&h, &w, POINT_MIGHT_RESCHED));
	finish(&h, th, tw);
	pv_rq_destroy(rq);
	passes++;
}

/* The return to user space lets the woken task in under every model. */
static void test_return_to_user_is_a_preemption_point(void)
{
	struct pv_rq *rq = pv_rq_create(PV_PREEMPT_NONE);
	struct holder h;
	struct waiter w;
	pthread_t th, tw;

	start(rq, &h, &w, &th, &tw);
	CHECK(wait_for(atomic_load(&rq->need_resched)));
	atomic_store(&h.go, POINT_EXIT);
	CHECK(eventually(&w.ran));
	pthread_join(th, NULL);
	pthread_join(tw, NULL);
	CHECK(atomic_load(&rq->curr) == RQ_IDLE);
	pv_rq_destroy(rq);
	passes++;
}

/* full: the host preempts anywhere, so nobody waits for a point. */
static void test_full_never_waits(void)
{
	struct pv_rq *rq = pv_rq_create(PV_PREEMPT_FULL);
	struct holder h;
	struct waiter w;
	pthread_t th, tw;

	start(rq, &h, &w, &th, &tw);
	CHECK(eventually(&w.ran));
	CHECK(!atomic_load(&rq->need_resched));
	finish(&h, th, tw);
	pv_rq_destroy(rq);
	passes++;
}

/* lazy: the woken task waits at most for the next tick (4 ms at HZ=250). */
static void test_lazy_waits_no_longer_than_a_tick(void)
{
	struct pv_rq *rq = pv_rq_create(PV_PREEMPT_LAZY);
	struct holder h;
	struct waiter w;
	pthread_t th, tw;

	start(rq, &h, &w, &th, &tw);
	CHECK(eventually(&w.ran));	/* with no preemption point reached */
	CHECK(atomic_load(&h.passed) == 0);
	finish(&h, th, tw);
	pv_rq_destroy(rq);
	passes++;
}

/* A sleep in the kernel gives the CPU up, and asks for it back on waking. */
static void test_sleep_gives_the_cpu_up(void)
{
	struct pv_rq *rq = pv_rq_create(PV_PREEMPT_NONE);
	uint64_t since;

	pv_sched_attach(rq);
	syscall_enter();
	CHECK(atomic_load(&rq->curr) != RQ_IDLE);
	since = sched_sleep_begin();
	CHECK(atomic_load(&rq->curr) == RQ_IDLE);
	sched_sleep_end(since, 0);
	CHECK(atomic_load(&rq->curr) == current->id);
	CHECK(current->sleeps == 1 && current->wakeups == 1);
	sched_sleep_end(sched_sleep_begin(), -EAGAIN);	/* did not sleep */
	CHECK(current->sleeps == 1);
	syscall_exit();
	CHECK(atomic_load(&rq->curr) == RQ_IDLE);
	pv_sched_attach(NULL);
	pv_rq_destroy(rq);
	passes++;
}

int main(void)
{
	test_none_waits_for_cond_resched();
	test_voluntary_switches_at_might_resched();
	test_return_to_user_is_a_preemption_point();
	test_full_never_waits();
	test_lazy_waits_no_longer_than_a_tick();
	test_sleep_gives_the_cpu_up();
	printf("test_sched: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
