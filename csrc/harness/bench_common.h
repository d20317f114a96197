/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the simulator and kernel backends share: task placement (CPU
 * affinity and nice per thread), the busy-waiter loop, the start barrier,
 * the stop flag, and turning a histogram into a
 * struct pv_sample.
 */
#ifndef PROCVMA_BENCH_COMMON_H
#define PROCVMA_BENCH_COMMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "kernel/api.h"
#include "kernel/ktime.h"
#include "api.h"
#include "hist.h"
#include "opgen.h"

#define PV_MAPPER_NICE 0
#define PV_SCANNER_NICE 15
#define PV_BUSY_NICE 0
#define PV_BUSY_SLEEP_NS 1000000	/* a busy-waiter's pause between spins */

/*
 * Set by pv_bench_stop() (Ctrl-C); every loop of every task polls it.
 * Sticky: it stays set until pv_bench_reset_stop(), so a Ctrl-C that
 * lands between two samples still stops the next one.
 */
extern atomic_int pv_stop_requested;

static inline int pv_stopping(void)
{
	/* A bare flag: nothing is published with it, relaxed is enough. */
	return atomic_load_explicit(&pv_stop_requested, memory_order_relaxed);
}

/* Pin the calling thread to @cpu and set its nice value.  0 or -errno. */
int pv_place_self(int cpu, int nice);

/* Fill the mapper-side figures of @out from @h. */
void pv_sample_from_hist(struct pv_sample *out, const struct pv_hist *h);

/* snprintf into out->errmsg and set out->err; returns -err. */
int pv_sample_fail(struct pv_sample *out, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A scanner's passes that lie wholly inside the sample. */
struct pv_pass_times {
	unsigned long long passes;
	uint64_t sum_ns;	/* their total time */
	uint64_t max_ns;	/* the longest */
};

/*
 * Count the pass of @ns that began at @t0 if the sample, which ends at
 * @end_ns, holds all of it (@end_ns 0: the sample has not begun).
 */
static inline void pv_pass_times_add(struct pv_pass_times *p, uint64_t t0,
				     uint64_t ns, uint64_t end_ns)
{
	if (!end_ns || t0 + ns > end_ns)
		return;
	p->passes++;
	p->sum_ns += ns;
	if (ns > p->max_ns)
		p->max_ns = ns;
}

struct pv_start_gate;
struct pv_scanner;

/*
 * What a scanner does, chosen once per task from --scanner (and the
 * backend); pv_scanner_run() calls them.  Only pass is required.
 */
struct pv_scanner_ops {
	/* One pass over the file, timed: 0 or -errno. */
	int (*pass)(struct pv_scanner *s);
	/* After each pass, untimed, no lock held: 0 or -errno. */
	int (*after_pass)(struct pv_scanner *s);
	/* The sample began: the figures it keeps start now. */
	void (*sample_begins)(struct pv_scanner *s);
	/* The passes from now on begin after the sample: they count nothing. */
	void (*sample_over)(struct pv_scanner *s);
	/* A pass failed (s->err), before the driver hears of it: say why. */
	void (*failed)(struct pv_scanner *s);
};

/* One scanner task's loop, as both backends run it (pv_scanner_run()). */
struct pv_scanner {
	const struct pv_scanner_ops *ops;
	struct pv_start_gate *gate;
	const atomic_int *stop;		/* the backend's "stop scanning" flag */
	double duration_s;
	struct pv_pass_times pass;	/* the passes the sample holds whole */
	int count_cpu;			/* also their CPU time, into cpu_ns */
	uint64_t cpu_ns;
	int err;			/* -errno of the pass that failed, or 0 */
};

/*
 * Scan until *s->stop or pv_stop_requested: pass after pass, each timed.
 * The scanner reads from before the mapper starts, as the reference's do
 * (they run a second before its busy-waiters, the mapper after those):
 * it reports in at the gate once it has read the file through, and a
 * pass of it is under way when the mapper makes its first call.  A pass
 * that fails ends the loop (s->err), unless the scanner was being
 * stopped: a pass cut short by the end of the sample is no error.
 */
void pv_scanner_run(struct pv_scanner *s);

/*
 * The start barrier (the reference's waitfile): every task places itself,
 * reports in, and waits; the driver waits until all have reported, then
 * opens the gate for all at once, or aborts the sample if any failed.
 * Scanners report in without waiting: they are already reading when the
 * gate opens, as the reference's are (see pv_gate_report()).
 */
struct pv_start_gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int expected;		/* tasks that will report in */
	int arrived;
	int first_err;		/* -errno of the first task that failed, or 0 */
	int state;		/* PV_GATE_* */
	uint64_t start_ns;	/* when the gate opened */
	atomic_int opened;	/* state == PV_GATE_OPEN, readable without the lock */
};

#define PV_GATE_WAITING 0
#define PV_GATE_OPEN 1
#define PV_GATE_ABORTED 2

int pv_gate_init(struct pv_start_gate *g, int expected);
void pv_gate_destroy(struct pv_start_gate *g);
/*
 * A task reports in with the result of its placement (0 or -errno) and
 * waits for the verdict.  Returns 0 when the sample starts, -ECANCELED
 * when it was aborted.  @start_ns (may be NULL) receives the start time.
 */
int pv_gate_arrive(struct pv_start_gate *g, int err, uint64_t *start_ns);
/*
 * A task that does not wait for the gate reports in: 0 once it is doing
 * what it does during the sample, or -errno if it cannot.
 */
void pv_gate_report(struct pv_start_gate *g, int err);
/* Has the gate opened?  For a task that did not wait at it. */
static inline int pv_gate_is_open(struct pv_start_gate *g)
{
	/* Pairs with the release store in pv_gate_open(): start_ns is set. */
	return atomic_load_explicit(&g->opened, memory_order_acquire);
}
/* The driver: wait until every task reported in; 0 or the first -errno. */
int pv_gate_wait_ready(struct pv_start_gate *g);
/* The driver: let everyone go; returns the start time. */
uint64_t pv_gate_open(struct pv_start_gate *g);
/* The driver: release waiting (and late) tasks with -ECANCELED. */
void pv_gate_abort(struct pv_start_gate *g);

/*
 * The busy-waiter: spin for @busyduration_ms, sleep 1 ms, repeat (0: spin
 * without a break).  Calls @poke(@arg) on each spin iteration when given
 * (the kernel backend stat()s the mapper's /proc file there).  With
 * @resume (the simulator's preemption model, pv_sched_user_resume()), it
 * is asked whether the busy-waiter may run, each time it wakes and on each
 * spin iteration, and it returns 0 when it may.  Returns once *@stop or
 * pv_stop_requested is set.
 */
void pv_busy_wait_loop(int busyduration_ms, const atomic_int *stop,
		       void (*poke)(void *arg), void *arg,
		       int (*resume)(int woken));

#endif
