// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One sample of the reference experiment (docs/design.md) on the simulated
 * kernel: a mapper thread churning single pages of a populated region
 * while, on each busy CPU, low-priority scanner threads read the simulated
 * /proc file to EOF and busy-waiters at normal priority preempt them.
 *
 * Every task is a pthread of this process, placed on its CPU with its
 * nice value before the start gate opens.  The driver (the caller of
 * pv_bench_run) builds the address space, waits for the mapper's
 * duration, calls a hang when the mapper overruns by hang_timeout_s, and
 * gathers the figures once everything has been joined.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

enum pv_sim_role { PV_SIM_MAPPER, PV_SIM_SCANNER, PV_SIM_BUSY };

static const char *const pv_sim_role_name[] = {
	[PV_SIM_MAPPER] = "mapper",
	[PV_SIM_SCANNER] = "scanner",
	[PV_SIM_BUSY] = "busy-waiter",
};

struct pv_sim_run;

/*
 * One thread.  Only its own thread writes it until it is joined, and the
 * tasks sit in separate cache lines, so the scanners' counters cost the
 * mapper nothing.
 */
struct pv_sim_task {
	alignas(64) struct pv_sim_run *run;
	enum pv_sim_role role;
	int cpu;
	int nice;
	int created;
	int place_err;			/* -errno from pv_place_self */

	/* scanner */
	struct pv_scanner scan;
	char *buf;
	unsigned long buflen;
	long len;			/* the last pass's text length */
	struct pv_walk_stats stats;
	struct pv_walk_stats *counted;	/* &stats; NULL once the sample is over */

	/* mapper (write waits) and scanner (read holds) */
	struct pv_lock_stat lockstat;

	/* mapper */
	unsigned long long nmaps, nunmaps, nfailed;
	int interrupted;

	pthread_t thread;
};

struct pv_sim_run {
	const struct pv_bench_config *cfg;
	int procfile;			/* cfg->procfile's PV_PROC_* */
	struct mm_struct *mm;
	struct pv_start_gate gate;
	/* One simulated CPU per CPU a task is placed on, NULL elsewhere. */
	struct pv_rq *rq[CPU_SETSIZE];

	/* Tells scanners and busy-waiters to finish; polled constantly. */
	alignas(64) atomic_int busy_stop;

	/* The mapper says it is done; the driver waits on it with a deadline. */
	alignas(64) pthread_mutex_t done_lock;
	pthread_cond_t done_cond;
	int mapper_done;

	/* Written by the mapper alone, read by the driver after the join. */
	alignas(64) struct pv_hist hist;
};

/* ---- the tasks ---------------------------------------------------------- */

static void pv_sim_mapper_loop(struct pv_sim_task *t, uint64_t start_ns)
{
	struct pv_sim_run *run = t->run;
	const struct pv_bench_config *cfg = run->cfg;
	const struct timespec pause = { 0, PV_MAPPER_SLEEP_NS };
	const uint64_t end_ns = start_ns + (uint64_t)(cfg->duration_s * 1e9);
	unsigned long long nmaps = 0, nunmaps = 0, nfailed = 0;
	struct pv_hist *hist = &run->hist;
	struct mm_struct *mm = run->mm;
	struct pv_opgen gen;
	uint64_t now = start_ns;

	pv_opgen_init(&gen, cfg->seed, cfg->region_pages);
	while (now < end_ns && !pv_stopping()) {
		unsigned long page;
		uint64_t t0;
		int map, ret;

		pv_opgen_next(&gen, &page, &map);
		/* Timed: the one call, as the reference times it. */
		t0 = ktime_get_ns();
		if (map)
			ret = pv_mmap_fixed_populate(mm, page, 1);
		else
			ret = pv_munmap(mm, page, 1);
		now = ktime_get_ns();

		pv_hist_add(hist, now - t0);
		if (ret)
			nfailed++;	/* ENOMEM at vm.max_map_count */
		else if (map)
			nmaps++;
		else
			nunmaps++;
		nanosleep(&pause, NULL);
	}
	t->nmaps = nmaps;
	t->nunmaps = nunmaps;
	t->nfailed = nfailed;
	t->interrupted = now < end_ns;
}

/*
 * Make room for @need bytes of text.  The new pages are left to fault in
 * during the next pass, once: touching them here would put megabytes of
 * page faults into every sample's set-up time instead.
 */
static int pv_sim_scanner_grow(struct pv_sim_task *t, unsigned long need)
{
	unsigned long len = t->buflen ? t->buflen : 4096;
	char *buf;

	while (len < need)
		len *= 2;
	if (len == t->buflen)
		return 0;
	buf = realloc(t->buf, len);
	if (!buf)
		return -ENOMEM;
	t->buf = buf;
	t->buflen = len;
	return 0;
}

/*
 * What a real scanner pays per pass outside any mm lock: for --scanner
 * cat, the reference's bash loop forking and execing cat, less the
 * walk; for --scanner read, open() and close() of /proc/PID/FILE and the
 * read() that returns EOF.  CPU work, spent inside the timed pass, as
 * the kernel backend times a pass.
 */
static void pv_sim_pass_cost(const struct pv_bench_config *cfg)
{
	if (cfg->pass_cost_ns > 0)
		spin_cpu_ns((uint64_t)cfg->pass_cost_ns);
}

static struct pv_sim_task *pv_sim_scanner_task(struct pv_scanner *s)
{
	return container_of(s, struct pv_sim_task, scan);
}

/* --scanner cat or read: the file read to EOF, its text into the buffer. */
static int pv_sim_read_pass(struct pv_scanner *s)
{
	struct pv_sim_task *t = pv_sim_scanner_task(s);
	struct pv_sim_run *run = t->run;

	pv_sim_pass_cost(run->cfg);
	t->len = pv_proc_read_all(run->mm, run->procfile, run->cfg->lock,
				  t->buf, t->buflen, t->counted);
	return t->len < 0 ? (int)t->len : 0;
}

/*
 * The text outgrew the buffer (the mapper splits VMAs): the pass still
 * walked everything, but the next one should be able to write it all,
 * as cat would.  Leave a quarter spare for further growth.
 */
static int pv_sim_read_after_pass(struct pv_scanner *s)
{
	struct pv_sim_task *t = pv_sim_scanner_task(s);
	unsigned long len = (unsigned long)t->len;

	return len >= t->buflen ? pv_sim_scanner_grow(t, len + len / 4 + 1) : 0;
}

/* --scanner query: every VMA through PROCMAP_QUERY; no text, no buffer. */
static int pv_sim_query_pass(struct pv_scanner *s)
{
	struct pv_sim_task *t = pv_sim_scanner_task(s);
	struct pv_sim_run *run = t->run;
	long n;

	pv_sim_pass_cost(run->cfg);
	n = pv_procmap_query_walk(run->mm, run->cfg->lock, t->counted);
	return n < 0 ? (int)n : 0;
}

/*
 * The sample's lock figures are those of the passes that began within it
 * (a pass still under way at its end included, as the kernel's trace has
 * it): they start with the first pass after the gate opened...
 */
static void pv_sim_scanner_sample_begins(struct pv_scanner *s)
{
	struct pv_sim_task *t = pv_sim_scanner_task(s);

	memset(&t->stats, 0, sizeof(t->stats));
	/* Between passes: no hold is in progress to lose. */
	memset(&t->lockstat, 0, sizeof(t->lockstat));
}

/* ... and end with the last pass that began before its end. */
static void pv_sim_scanner_sample_over(struct pv_scanner *s)
{
	struct pv_sim_task *t = pv_sim_scanner_task(s);

	t->counted = NULL;
	/* Between passes again: detaching loses no hold in progress. */
	pv_lock_stat_attach(NULL);
}

static const struct pv_scanner_ops pv_sim_read_ops = {
	.pass = pv_sim_read_pass,
	.after_pass = pv_sim_read_after_pass,
	.sample_begins = pv_sim_scanner_sample_begins,
	.sample_over = pv_sim_scanner_sample_over,
};

static const struct pv_scanner_ops pv_sim_query_ops = {
	.pass = pv_sim_query_pass,
	.sample_begins = pv_sim_scanner_sample_begins,
	.sample_over = pv_sim_scanner_sample_over,
};

/* Per --scanner: cat and read differ in their pass cost alone. */
static const struct pv_scanner_ops *const pv_sim_scanners[] = {
	[PV_SCANNER_READ] = &pv_sim_read_ops,
	[PV_SCANNER_CAT] = &pv_sim_read_ops,
	[PV_SCANNER_QUERY] = &pv_sim_query_ops,
};

static void *pv_sim_task_main(void *arg)
{
	struct pv_sim_task *t = arg;
	struct pv_sim_run *run = t->run;
	uint64_t start_ns;

	pv_rcu_register_thread();
	t->place_err = pv_place_self(t->cpu, t->nice);
	pv_sched_attach(run->rq[t->cpu]);
	if (t->role != PV_SIM_BUSY)
		pv_lock_stat_attach(&t->lockstat);
	if (t->role == PV_SIM_SCANNER) {
		/* It does not wait at the gate: see pv_scanner_run(). */
		if (t->place_err)
			pv_gate_report(&run->gate, t->place_err);
		else
			pv_scanner_run(&t->scan);
	} else if (pv_gate_arrive(&run->gate, t->place_err, &start_ns) == 0) {
		if (t->role == PV_SIM_MAPPER)
			pv_sim_mapper_loop(t, start_ns);
		else
			pv_busy_wait_loop(run->cfg->busyduration_ms,
					  &run->busy_stop, NULL, NULL,
					  pv_sched_user_resume);
	}
	pv_lock_stat_attach(NULL);
	pv_sched_attach(NULL);
	pv_rcu_unregister_thread();

	if (t->role == PV_SIM_MAPPER) {
		pthread_mutex_lock(&run->done_lock);
		run->mapper_done = 1;
		pthread_cond_signal(&run->done_cond);
		pthread_mutex_unlock(&run->done_lock);
	}
	return NULL;
}

/* ---- the driver --------------------------------------------------------- */

/*
 * A first guess at the text size so that the scanners rarely grow their
 * buffers mid-run: the mapper's churn settles near one VMA per four
 * pages (half the pages mapped, in runs of two on average).
 */
static unsigned long pv_sim_text_guess(const struct pv_bench_config *cfg,
				       int run_procfile)
{
	unsigned long vmas = cfg->region_pages / 4 + 1;
	unsigned long max = cfg->max_map_count ? cfg->max_map_count : PV_DEFAULT_MAX_MAP_COUNT;

	if (vmas > max)
		vmas = max;
	switch (run_procfile) {
	case PV_PROC_MAPS:
		return vmas * 80;
	case PV_PROC_NUMA_MAPS:
		return vmas * 80;
	case PV_PROC_SMAPS:
		return vmas * 1280;
	default:
		return 4096;
	}
}

static int pv_sim_wait_mapper(struct pv_sim_run *run, uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000u),
		.tv_nsec = (long)(deadline_ns % 1000000000u),
	};
	int done;

	pthread_mutex_lock(&run->done_lock);
	while (!run->mapper_done &&
	       pthread_cond_timedwait(&run->done_cond, &run->done_lock, &ts) != ETIMEDOUT)
		;
	done = run->mapper_done;
	pthread_mutex_unlock(&run->done_lock);
	return done;
}

static void pv_sim_free_rqs(struct pv_sim_run *run)
{
	int c;

	for (c = 0; c < CPU_SETSIZE; c++)
		pv_rq_destroy(run->rq[c]);
}

/* CPU numbers are valid (the config is checked before any run). */
static int pv_sim_add_rq(struct pv_sim_run *run, int cpu)
{
	if (!run->rq[cpu])
		run->rq[cpu] = pv_rq_create(run->cfg->preempt);
	return run->rq[cpu] ? 0 : -ENOMEM;
}

static int pv_sim_init_run(struct pv_sim_run *run, const struct pv_bench_config *cfg,
			   int procfile)
{
	pthread_condattr_t attr;
	int err, c;

	memset(run, 0, sizeof(*run));
	run->cfg = cfg;
	run->procfile = procfile;
	pv_hist_init(&run->hist);
	for (c = cfg->cpubusytasks; c < cfg->cpubusytasks + cfg->nbusycpus; c++)
		if (pv_sim_add_rq(run, c))
			goto nomem;
	if (pv_sim_add_rq(run, cfg->cpumapper))
		goto nomem;
	err = pthread_mutex_init(&run->done_lock, NULL);
	if (err) {
		pv_sim_free_rqs(run);
		return -err;
	}
	/* Deadlines are CLOCK_MONOTONIC, like every other time here. */
	err = pthread_condattr_init(&attr);
	if (!err) {
		err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		if (!err)
			err = pthread_cond_init(&run->done_cond, &attr);
		pthread_condattr_destroy(&attr);
	}
	if (err) {
		pthread_mutex_destroy(&run->done_lock);
		pv_sim_free_rqs(run);
		return -err;
	}
	return 0;
nomem:
	pv_sim_free_rqs(run);
	return -ENOMEM;
}

static void pv_sim_destroy_run(struct pv_sim_run *run)
{
	pv_sim_free_rqs(run);
	pthread_cond_destroy(&run->done_cond);
	pthread_mutex_destroy(&run->done_lock);
}

static int pv_sim_placement_error(struct pv_sample *out,
				  const struct pv_sim_task *tasks, int ntasks)
{
	int i;

	for (i = 0; i < ntasks; i++) {
		const struct pv_sim_task *t = &tasks[i];

		if (!t->place_err)
			continue;
		/* sched_setaffinity's only EINVAL: no usable CPU in the set. */
		if (t->place_err == -EINVAL)
			return pv_sample_fail(out, EINVAL,
					      "cannot pin the %s to CPU %d: the CPU is offline or does not exist",
					      pv_sim_role_name[t->role], t->cpu);
		return pv_sample_fail(out, t->place_err,
				      "cannot place the %s on CPU %d at nice %d: %s",
				      pv_sim_role_name[t->role], t->cpu, t->nice,
				      strerror(-t->place_err));
	}
	return pv_sample_fail(out, EIO, "a task failed to start");
}

/* Fill @tasks: the mapper first, then per busy CPU its scanners and busy-waiters. */
static int pv_sim_plan_tasks(struct pv_sim_run *run, struct pv_sim_task *tasks)
{
	const struct pv_bench_config *cfg = run->cfg;
	unsigned long guess = pv_sim_text_guess(cfg, run->procfile);
	int n = 0, c, i;

	tasks[n++] = (struct pv_sim_task){
		.run = run, .role = PV_SIM_MAPPER,
		.cpu = cfg->cpumapper, .nice = PV_MAPPER_NICE,
	};
	for (c = cfg->cpubusytasks; c < cfg->cpubusytasks + cfg->nbusycpus; c++) {
		for (i = 0; i < cfg->nbusytasks; i++) {
			struct pv_sim_task *t = &tasks[n++];

			*t = (struct pv_sim_task){
				.run = run, .role = PV_SIM_SCANNER,
				.cpu = c, .nice = PV_SCANNER_NICE,
				.scan = {
					.ops = pv_sim_scanners[cfg->scanner],
					.gate = &run->gate,
					.stop = &run->busy_stop,
					.duration_s = cfg->duration_s,
					.count_cpu = 1,
				},
			};
			t->counted = &t->stats;
			if (pv_sim_scanner_grow(t, guess))
				return -ENOMEM;
		}
		for (i = 0; i < cfg->nbusytasks; i++)
			tasks[n++] = (struct pv_sim_task){
				.run = run, .role = PV_SIM_BUSY,
				.cpu = c, .nice = PV_BUSY_NICE,
			};
	}
	return n;
}

static void pv_sim_collect(struct pv_sample *out, const struct pv_sim_run *run,
			   const struct pv_sim_task *tasks, int ntasks)
{
	uint64_t walk_sum_ns = 0, walk_max_ns = 0, cpu_ns = 0;
	unsigned long long hold_ns = 0, hold_max_ns = 0;
	double preempted_ns = 0, slept_ns = 0;
	int i;

	out->nmaps = tasks[0].nmaps;
	out->nunmaps = tasks[0].nunmaps;
	out->nfailed = tasks[0].nfailed;
	out->interrupted = tasks[0].interrupted;
	pv_sample_from_hist(out, &run->hist);

	for (i = 1; i < ntasks; i++) {
		const struct pv_sim_task *t = &tasks[i];

		if (t->role != PV_SIM_SCANNER)
			continue;
		out->walks += t->scan.pass.passes;
		out->drops += t->stats.drops;
		out->fallbacks += t->stats.fallbacks;
		out->retries += t->stats.retries;
		walk_sum_ns += t->scan.pass.sum_ns;
		if (t->scan.pass.max_ns > walk_max_ns)
			walk_max_ns = t->scan.pass.max_ns;
		out->reader_mmap_locks += t->lockstat.read_locks;
		hold_ns += t->lockstat.read_hold_ns;
		if (t->lockstat.read_hold_max_ns > hold_max_ns)
			hold_max_ns = t->lockstat.read_hold_max_ns;
		cpu_ns += t->scan.cpu_ns;
		preempted_ns += (double)t->lockstat.read_hold_preempted_ns;
		slept_ns += (double)t->lockstat.read_hold_slept_ns;
		/* The host's share, from the sampled holds, for all of them. */
		if (t->lockstat.read_holds_sampled)
			preempted_ns += (double)t->lockstat.read_hold_host_off_ns *
					(double)t->lockstat.read_locks /
					(double)t->lockstat.read_holds_sampled;
	}
	if (preempted_ns + slept_ns > (double)hold_ns)
		preempted_ns = (double)hold_ns - slept_ns;
	out->reader_hold_preempted_ms = preempted_ns / 1e6;
	out->reader_hold_sleeping_ms = slept_ns / 1e6;
	out->reader_hold_running_ms = ((double)hold_ns - preempted_ns - slept_ns) / 1e6;
	out->mapper_sleeps = tasks[0].lockstat.write_sleeps;
	out->mapper_wakeups = tasks[0].lockstat.write_wakeups;
	out->mapper_wake_to_run_ms = tasks[0].lockstat.write_wake_runs ?
		(double)tasks[0].lockstat.write_wake_to_run_ns /
		(double)tasks[0].lockstat.write_wake_runs / 1e6 : NAN;
	if (out->walks)
		out->reader_cpu_per_pass_ms = (double)cpu_ns / (double)out->walks / 1e6;
	if (out->walks)
		out->walk_avg_ms = (double)walk_sum_ns / (double)out->walks / 1e6;
	out->walk_max_ms = (double)walk_max_ns / 1e6;
	out->mapper_wait_ms = (double)tasks[0].lockstat.write_wait_ns / 1e6;
	out->mapper_wait_max_ms = (double)tasks[0].lockstat.write_wait_max_ns / 1e6;
	if (out->reader_mmap_locks)
		out->reader_hold_avg_ms = (double)hold_ns /
					  (double)out->reader_mmap_locks / 1e6;
	out->reader_hold_max_ms = (double)hold_max_ns / 1e6;
}

static void pv_sim_free_tasks(struct pv_sim_task *tasks, int ntasks)
{
	int i;

	for (i = 0; i < ntasks; i++)
		free(tasks[i].buf);
	free(tasks);
}

/* Start every task's thread; on failure the gate is aborted for those started. */
static int pv_sim_start_tasks(struct pv_sim_run *run, struct pv_sim_task *tasks,
			      int ntasks, struct pv_sample *out)
{
	int i, err;

	for (i = 0; i < ntasks; i++) {
		err = pthread_create(&tasks[i].thread, NULL, pv_sim_task_main, &tasks[i]);
		if (err) {
			pv_gate_abort(&run->gate);
			return pv_sample_fail(out, err, "cannot start the %s thread for CPU %d: %s",
					      pv_sim_role_name[tasks[i].role], tasks[i].cpu,
					      strerror(err));
		}
		tasks[i].created = 1;
	}
	return 0;
}

/*
 * Open the gate and wait for the mapper to finish its --duration.  0, or
 * -EDEADLK when the model itself is stuck: then the threads cannot be
 * reclaimed, and the caller must leave them and their memory be.
 */
static int pv_sim_await_mapper(struct pv_sim_run *run, const struct pv_bench_config *cfg,
			       struct pv_sample *out, uint64_t setup_ns)
{
	uint64_t start_ns = pv_gate_open(&run->gate);
	uint64_t end_ns = start_ns + (uint64_t)(cfg->duration_s * 1e9);
	uint64_t grace_ns = (uint64_t)(cfg->hang_timeout_s * 1e9);

	out->setup_s = (double)(start_ns - setup_ns) / 1e9;
	if (pv_sim_wait_mapper(run, end_ns + grace_ns))
		return 0;
	/*
	 * A hang, as the reference calls it: the mapper overran by the whole
	 * grace period.  Stop the busy tasks, which may be what keeps it
	 * waiting (a preempted scanner holding the lock), and keep whatever
	 * the mapper measured.
	 */
	out->hang = 1;
	atomic_store_explicit(&run->busy_stop, 1, memory_order_relaxed);
	if (pv_sim_wait_mapper(run, ktime_get_ns() + grace_ns + 1000000000u))
		return 0;
	/* Still stuck with nobody else running: the model deadlocked. */
	return pv_sample_fail(out, EDEADLK,
			      "the simulated mapper is stuck although every busy task stopped: deadlock in the model");
}

/* After the join: the first scanner's read error, or 0. */
static int pv_sim_scanner_error(struct pv_sample *out, const struct pv_bench_config *cfg,
				const struct pv_sim_task *tasks, int ntasks)
{
	int i;

	for (i = 0; i < ntasks; i++)
		if (tasks[i].scan.err)
			return pv_sample_fail(out, tasks[i].scan.err,
					      "scanner on CPU %d: reading the simulated %s failed: %s",
					      tasks[i].cpu, cfg->procfile,
					      strerror(-tasks[i].scan.err));
	return 0;
}

/* The simulated address space of a sample, built before any timing. */
static int pv_sim_build_mm(struct pv_sim_run *run, const struct pv_bench_config *cfg,
			   struct pv_sample *out)
{
	unsigned long i;
	int err;

	run->mm = pv_mm_create(cfg->region_pages, 1);
	if (!run->mm)
		return pv_sample_fail(out, ENOMEM,
				      "cannot build a %lu-page simulated address space: out of memory",
				      cfg->region_pages);
	if (cfg->max_map_count)
		pv_mm_set_max_map_count(run->mm, cfg->max_map_count);
	/* Before the cost knobs: cutting the holes is set-up, not the kernel's work. */
	for (i = 0; i < cfg->holes; i++) {
		err = pv_munmap(run->mm, pv_hole_page(cfg->seed, cfg->region_pages,
						      cfg->holes, i), 1);
		if (err) {
			pv_mm_destroy(run->mm);
			return pv_sample_fail(out, -err,
					      "cannot cut hole %lu of %lu in the simulated region: %s",
					      i + 1, cfg->holes, strerror(-err));
		}
	}
	pv_mm_set_op_cost_ns(run->mm, cfg->op_cost_ns);
	pv_mm_set_walk_cost_ns(run->mm, cfg->walk_cost_ns);
	pv_mm_set_text_cost_ns(run->mm, cfg->text_cost_ns);
	return 0;
}

static int pv_sim_sample(const struct pv_bench_config *cfg, int procfile,
			 struct pv_sample *out, uint64_t setup_ns)
{
	struct pv_sim_task *tasks = NULL;
	struct pv_sim_run *run = NULL;
	int ntasks, i, ret, err, misplaced = 0;

	ntasks = 1 + 2 * cfg->nbusycpus * cfg->nbusytasks;
	if (posix_memalign((void **)&run, 64, sizeof(*run)))
		return pv_sample_fail(out, ENOMEM, "out of memory for the sample");
	if (posix_memalign((void **)&tasks, 64, sizeof(*tasks) * (size_t)ntasks)) {
		free(run);
		return pv_sample_fail(out, ENOMEM, "out of memory for %d tasks", ntasks);
	}
	memset(tasks, 0, sizeof(*tasks) * (size_t)ntasks);
	err = pv_sim_init_run(run, cfg, procfile);
	if (err) {
		free(tasks);
		free(run);
		return pv_sample_fail(out, err, "cannot set up the sample: %s", strerror(-err));
	}

	pv_rcu_register_thread();
	ret = pv_sim_build_mm(run, cfg, out);
	if (ret)
		goto out_run;
	if (pv_sim_plan_tasks(run, tasks) < 0) {
		ret = pv_sample_fail(out, ENOMEM, "out of memory for the scanners' buffers");
		goto out_mm;
	}
	err = pv_gate_init(&run->gate, ntasks);
	if (err) {
		ret = pv_sample_fail(out, err, "cannot set up the start gate: %s", strerror(-err));
		goto out_mm;
	}

	ret = pv_sim_start_tasks(run, tasks, ntasks, out);
	if (ret)
		goto out_join;
	if (pv_gate_wait_ready(&run->gate)) {
		pv_gate_abort(&run->gate);
		misplaced = 1;	/* the message is composed after the join */
		ret = -EINVAL;
		goto out_join;
	}
	ret = pv_sim_await_mapper(run, cfg, out, setup_ns);
	if (ret == -EDEADLK) {
		pv_rcu_unregister_thread();
		return ret;
	}

out_join:
	/* Flag only; the join orders everything the tasks wrote. */
	atomic_store_explicit(&run->busy_stop, 1, memory_order_relaxed);
	for (i = 0; i < ntasks; i++)
		if (tasks[i].created)
			pthread_join(tasks[i].thread, NULL);
	pv_gate_destroy(&run->gate);

	if (misplaced) {
		/* A scanner's first pass, before the gate, may be what failed. */
		ret = pv_sim_scanner_error(out, cfg, tasks, ntasks);
		if (ret == 0)
			ret = pv_sim_placement_error(out, tasks, ntasks);
	}
	else if (ret == 0)
		ret = pv_sim_scanner_error(out, cfg, tasks, ntasks);
	if (ret == 0) {
		pv_sim_collect(out, run, tasks, ntasks);
		out->vmas = pv_mm_map_count(run->mm);
	}
out_mm:
	/* Every reader is gone; let the deferred frees run, then tear down. */
	pv_rcu_barrier();
	pv_mm_destroy(run->mm);
out_run:
	pv_rcu_unregister_thread();
	pv_sim_destroy_run(run);
	pv_sim_free_tasks(tasks, ntasks);
	free(run);
	return ret;
}

int pv_bench_run_sim(const struct pv_bench_config *cfg, int procfile,
		     struct pv_sample *out)
{
	const uint64_t setup_ns = ktime_get_ns();
	cpu_set_t caller_cpus, script_cpu;
	int ret;

	if (pv_stopping()) {
		out->interrupted = 1;
		return 0;
	}

	/*
	 * The driver (this thread) sits on --cpuscript while the sample
	 * runs, as the reference's script does, and goes back to wherever
	 * its caller had it afterwards.
	 */
	ret = pthread_getaffinity_np(pthread_self(), sizeof(caller_cpus), &caller_cpus);
	if (ret)
		return pv_sample_fail(out, ret, "cannot read the driver's CPU affinity: %s",
				      strerror(ret));
	CPU_ZERO(&script_cpu);
	CPU_SET(cfg->cpuscript, &script_cpu);
	if (sched_setaffinity(0, sizeof(script_cpu), &script_cpu))
		return pv_sample_fail(out, errno,
				      "cannot pin the driver to CPU %d: the CPU is offline or does not exist",
				      cfg->cpuscript);

	ret = pv_sim_sample(cfg, procfile, out, setup_ns);

	pthread_setaffinity_np(pthread_self(), sizeof(caller_cpus), &caller_cpus);
	return ret;
}
