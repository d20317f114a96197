// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helpers both benchmark backends use: task placement, the stop flag,
 * the start gate, the busy-waiter and turning a histogram into a sample.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench_common.h"

atomic_int pv_stop_requested;

void pv_bench_stop(void)
{
	/* Pairs with nothing: a flag polled by pv_stopping(), see there. */
	atomic_store_explicit(&pv_stop_requested, 1, memory_order_relaxed);
}

void pv_bench_reset_stop(void)
{
	atomic_store_explicit(&pv_stop_requested, 0, memory_order_relaxed);
}

int pv_place_self(int cpu, int nice)
{
	cpu_set_t set;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* pid 0: the calling thread, not the whole process. */
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	/*
	 * On Linux nice is a per-thread attribute and PRIO_PROCESS with a
	 * thread id sets just that thread's: the scanners go to nice 15
	 * while the busy-waiters and the mapper beside them stay at 0.
	 */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice))
		return -errno;
	return 0;
}

void pv_sample_from_hist(struct pv_sample *out, const struct pv_hist *h)
{
	if (h->count == 0) {
		out->opavg_ms = out->opmax_ms = 0.0;
		out->p50_ms = out->p90_ms = out->p99_ms = out->p999_ms = 0.0;
		return;
	}
	out->opavg_ms = (double)h->sum_ns / (double)h->count / 1e6;
	out->opmax_ms = (double)h->max_ns / 1e6;
	out->p50_ms = (double)pv_hist_quantile(h, 0.50) / 1e6;
	out->p90_ms = (double)pv_hist_quantile(h, 0.90) / 1e6;
	out->p99_ms = (double)pv_hist_quantile(h, 0.99) / 1e6;
	out->p999_ms = (double)pv_hist_quantile(h, 0.999) / 1e6;
}

int pv_sample_fail(struct pv_sample *out, int err, const char *fmt, ...)
{
	va_list ap;

	if (err < 0)
		err = -err;
	out->err = err;
	va_start(ap, fmt);
	vsnprintf(out->errmsg, sizeof(out->errmsg), fmt, ap);
	va_end(ap);
	return -err;
}

void pv_bench_opstream(unsigned long long seed, unsigned long region_pages,
		       unsigned long n, unsigned long *pages, int *maps)
{
	struct pv_opgen gen;
	unsigned long i;

	pv_opgen_init(&gen, seed, region_pages);
	for (i = 0; i < n; i++)
		pv_opgen_next(&gen, &pages[i], &maps[i]);
}

int pv_bench_holes(unsigned long long seed, unsigned long region_pages,
		   unsigned long holes, unsigned long *pages)
{
	unsigned long i;

	if (holes > region_pages / PV_HOLES_MIN_PAGES_EACH)
		return -EINVAL;
	for (i = 0; i < holes; i++)
		pages[i] = pv_hole_page(seed, region_pages, holes, i);
	return 0;
}

/* ---- start barrier ---------------------------------------------------- */

int pv_gate_init(struct pv_start_gate *g, int expected)
{
	int err;

	memset(g, 0, sizeof(*g));
	g->expected = expected;
	err = pthread_mutex_init(&g->lock, NULL);
	if (err)
		return -err;
	err = pthread_cond_init(&g->cond, NULL);
	if (err) {
		pthread_mutex_destroy(&g->lock);
		return -err;
	}
	return 0;
}

void pv_gate_destroy(struct pv_start_gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

/* Count a task in, with g->lock held. */
static void gate_check_in(struct pv_start_gate *g, int err)
{
	g->arrived++;
	if (err && !g->first_err)
		g->first_err = err;
	/* One condvar for both directions: the driver and the tasks recheck. */
	pthread_cond_broadcast(&g->cond);
}

int pv_gate_arrive(struct pv_start_gate *g, int err, uint64_t *start_ns)
{
	int ret;

	pthread_mutex_lock(&g->lock);
	gate_check_in(g, err);
	while (g->state == PV_GATE_WAITING)
		pthread_cond_wait(&g->cond, &g->lock);
	ret = g->state == PV_GATE_OPEN ? 0 : -ECANCELED;
	if (start_ns)
		*start_ns = g->start_ns;
	pthread_mutex_unlock(&g->lock);
	return ret;
}

void pv_gate_report(struct pv_start_gate *g, int err)
{
	pthread_mutex_lock(&g->lock);
	gate_check_in(g, err);
	pthread_mutex_unlock(&g->lock);
}

int pv_gate_wait_ready(struct pv_start_gate *g)
{
	int ret;

	pthread_mutex_lock(&g->lock);
	while (g->arrived < g->expected && !g->first_err &&
	       g->state == PV_GATE_WAITING)
		pthread_cond_wait(&g->cond, &g->lock);
	ret = g->first_err;
	pthread_mutex_unlock(&g->lock);
	return ret;
}

uint64_t pv_gate_open(struct pv_start_gate *g)
{
	uint64_t now;

	pthread_mutex_lock(&g->lock);
	now = ktime_get_ns();
	g->start_ns = now;
	g->state = PV_GATE_OPEN;
	/* Pairs with the acquire load in pv_gate_is_open(). */
	atomic_store_explicit(&g->opened, 1, memory_order_release);
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	return now;
}

void pv_gate_abort(struct pv_start_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->state = PV_GATE_ABORTED;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* ---- busy-waiter -------------------------------------------------------- */

static bool pv_busy_stopping(const atomic_int *stop)
{
	/* Flags only; see pv_stopping(). */
	return atomic_load_explicit(stop, memory_order_relaxed) || pv_stopping();
}

void pv_busy_wait_loop(int busyduration_ms, const atomic_int *stop,
		       void (*poke)(void *arg), void *arg,
		       int (*resume)(int woken))
{
	const struct timespec pause = { 0, PV_BUSY_SLEEP_NS };
	const uint64_t spin_ns = (uint64_t)busyduration_ms * 1000000u;

	for (;;) {
		uint64_t until;

		/* Woken: the spin begins once the task has its CPU. */
		while (resume && resume(1))
			if (pv_busy_stopping(stop))
				return;
		until = ktime_get_ns() + spin_ns;
		do {
			if (pv_busy_stopping(stop))
				return;
			if (poke)
				poke(arg);
			while (resume && resume(0))
				if (pv_busy_stopping(stop))
					return;
		} while (busyduration_ms == 0 || ktime_get_ns() < until);
		nanosleep(&pause, NULL);
	}
}

static int pv_scanner_stopping(const struct pv_scanner *s)
{
	/* Flags only, published with nothing: relaxed (see pv_stopping()). */
	return atomic_load_explicit(s->stop, memory_order_relaxed) || pv_stopping();
}

void pv_scanner_run(struct pv_scanner *s)
{
	const struct pv_scanner_ops *ops = s->ops;
	uint64_t end_ns = 0;	/* the sample's end, once it has begun */
	int reported = 0, over = 0;

	while (!pv_scanner_stopping(s)) {
		const unsigned long long passes = s->pass.passes;
		uint64_t t0, ns, cpu0 = 0;
		int err;

		if (!end_ns && pv_gate_is_open(s->gate)) {
			s->cpu_ns = 0;
			if (ops->sample_begins)
				ops->sample_begins(s);
			end_ns = s->gate->start_ns + (uint64_t)(s->duration_s * 1e9);
		}
		/* Two reads of the thread's CPU clock a pass: 1.2 us of several ms. */
		if (s->count_cpu)
			cpu0 = task_cputime_ns();
		t0 = ktime_get_ns();
		if (end_ns && t0 > end_ns && !over) {
			/* Once: every later pass begins later still. */
			over = 1;
			if (ops->sample_over)
				ops->sample_over(s);
		}
		err = ops->pass(s);
		ns = ktime_get_ns() - t0;
		if (err) {
			if (!pv_scanner_stopping(s))
				s->err = err;
			break;
		}
		pv_pass_times_add(&s->pass, t0, ns, end_ns);
		if (s->count_cpu && s->pass.passes != passes)
			s->cpu_ns += task_cputime_ns() - cpu0;
		if (!reported) {
			pv_gate_report(s->gate, 0);
			reported = 1;
		}
		if (ops->after_pass) {
			s->err = ops->after_pass(s);
			if (s->err)
				break;
		}
	}
	if (s->err && ops->failed)
		ops->failed(s);
	/* Stopped before a whole pass (Ctrl-C), or failed: never leave the driver waiting. */
	if (!reported)
		pv_gate_report(s->gate, s->err);
}
