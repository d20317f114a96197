// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The BPF lock trace's loader: csrc/bpf/locktrace.bpf.c, through the
 * skeleton bpftool generates from it at build time, linked with libbpf.
 *
 * It lives in the core, not in a helper process, so that nothing can
 * outlive the run: every program, map and link is a file descriptor of
 * this process (nothing is pinned), and the kernel detaches and frees
 * them all when the last one closes -- pv_ktrace_close() on the ways out
 * Python sees (an error, Ctrl-C, SIGTERM), the process's exit on any
 * other (SIGKILL included).  A helper would need its own watch on us to
 * promise as much.  Being in-process also lets the harness mark a
 * sample's window with plain stores into the programs' globals.
 *
 * Built with PV_HAVE_BPF only where clang, bpftool and libbpf were found
 * (procvma/_build_core.py); otherwise pv_ktrace_open() says so and --trace
 * falls back to tracefs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernel/api.h"
#include "api.h"

#ifdef PV_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/locktrace.h"
#include "locktrace.skel.h"

struct pv_ktrace {
	struct pv_locktrace *skel;
	int fentry;			/* the fentry lock programs, not the tracepoints */
	int ncpus;
	struct pv_ktrace_sums *percpu;	/* ncpus of them, for reading sums */
};

int pv_ktrace_built(void)
{
	return 1;
}

/*
 * libbpf's last complaint, for the one-line reason a load failed; and its
 * first, which names the program the kernel refused (the fentry set's
 * reason: the last only says the skeleton did not load).
 */
static char last_libbpf_msg[200];
static char first_libbpf_msg[200];

static int keep_last_message(enum libbpf_print_level level, const char *fmt,
			     va_list ap)
{
	char *nl;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(last_libbpf_msg, sizeof(last_libbpf_msg), fmt, ap);
	nl = strchr(last_libbpf_msg, '\n');
	if (nl)
		*nl = '\0';
	if (!first_libbpf_msg[0])
		memcpy(first_libbpf_msg, last_libbpf_msg, sizeof(first_libbpf_msg));
	return 0;
}

static void fail(char *errmsg, int len, const char *what, int err)
{
	snprintf(errmsg, (size_t)len, "%s: %s", what, strerror(err));
}

static int clear_tasks(struct pv_ktrace *kt)
{
	int fd = bpf_map__fd(kt->skel->maps.tasks);
	__u32 key;

	/* Nothing adds to it meanwhile: mapper_tgid is 0 (see pv_fork()). */
	while (!bpf_map_get_next_key(fd, NULL, &key))
		if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
			return -errno;
	return 0;
}

static int clear_sums(struct pv_ktrace *kt)
{
	__u32 zero = 0;

	memset(kt->percpu, 0, sizeof(*kt->percpu) * (size_t)kt->ncpus);
	return bpf_map_update_elem(bpf_map__fd(kt->skel->maps.sums), &zero,
				   kt->percpu, BPF_ANY) ? -errno : 0;
}

/*
 * One set of lock programs is loaded, the other's autoload is turned off
 * (libbpf then neither resolves its attach targets nor loads it): a
 * kernel that refuses fentry, or lacks one of its targets, still loads
 * the tracepoint set.
 */
static void choose_lock_programs(struct pv_locktrace *skel, int fentry)
{
	struct bpf_program *tp[] = {
		skel->progs.pv_lock_start,
		skel->progs.pv_lock_acquired,
		skel->progs.pv_lock_released,
	};
	struct bpf_program *fe[] = {
		skel->progs.pv_fentry_write_wait,
		skel->progs.pv_fexit_write_wait,
		skel->progs.pv_fexit_down_read,
		skel->progs.pv_fexit_down_read_killable,
		skel->progs.pv_fexit_down_read_trylock,
		skel->progs.pv_fentry_up_read,
	};
	size_t i;

	for (i = 0; i < sizeof(tp) / sizeof(tp[0]); i++)
		bpf_program__set_autoload(tp[i], !fentry);
	for (i = 0; i < sizeof(fe) / sizeof(fe[0]); i++)
		bpf_program__set_autoload(fe[i], fentry);
}

static struct pv_locktrace *open_and_load(int fentry)
{
	struct pv_locktrace *skel = pv_locktrace__open();
	int err;

	if (!skel)
		return NULL;
	choose_lock_programs(skel, fentry);
	err = pv_locktrace__load(skel);
	if (err) {
		pv_locktrace__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

int pv_ktrace_open(struct pv_ktrace **out, char *errmsg, int errlen)
{
	return pv_ktrace_open_engine(out, 0, errmsg, errlen);
}

int pv_ktrace_fentry(struct pv_ktrace *kt)
{
	return kt ? kt->fentry : 0;
}

int pv_ktrace_open_engine(struct pv_ktrace **out, int fentry, char *errmsg,
			  int errlen)
{
	struct pv_ktrace *kt;
	int err;

	*out = NULL;
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(errmsg, (size_t)errlen,
			 "this kernel has no BTF (/sys/kernel/btf/vmlinux)");
		return -ENOENT;
	}
	kt = calloc(1, sizeof(*kt));
	if (!kt) {
		fail(errmsg, errlen, "BPF", ENOMEM);
		return -ENOMEM;
	}
	kt->ncpus = libbpf_num_possible_cpus();
	if (kt->ncpus <= 0) {
		err = kt->ncpus ? kt->ncpus : -EINVAL;
		fail(errmsg, errlen, "cannot count the possible CPUs", -err);
		free(kt);
		return err;
	}
	kt->percpu = calloc((size_t)kt->ncpus, sizeof(*kt->percpu));
	last_libbpf_msg[0] = '\0';
	first_libbpf_msg[0] = '\0';
	libbpf_set_print(keep_last_message);
	kt->fentry = fentry;
	errno = 0;
	kt->skel = kt->percpu ? open_and_load(fentry) : NULL;
	if (!kt->skel) {
		err = errno ? errno : ENOMEM;
		if ((err == EPERM || err == EACCES) && !fentry)
			snprintf(errmsg, (size_t)errlen,
				 "cannot load the BPF programs: %s (needs root or CAP_BPF and CAP_PERFMON)",
				 strerror(err));
		else if (fentry)
			snprintf(errmsg, (size_t)errlen,
				 "cannot load the fentry programs: %s%s%s",
				 strerror(err), first_libbpf_msg[0] ? ": " : "",
				 first_libbpf_msg);
		else
			snprintf(errmsg, (size_t)errlen,
				 "cannot load the BPF programs: %s%s%s",
				 strerror(err), last_libbpf_msg[0] ? ": " : "",
				 last_libbpf_msg);
		pv_ktrace_close(kt);
		return -err;
	}
	err = pv_locktrace__attach(kt->skel);
	if (err) {
		snprintf(errmsg, (size_t)errlen,
			 "cannot attach the BPF programs: %s%s%s",
			 strerror(-err), last_libbpf_msg[0] ? ": " : "",
			 last_libbpf_msg);
		pv_ktrace_close(kt);
		return err;
	}
	*out = kt;
	return 0;
}

void pv_ktrace_close(struct pv_ktrace *kt)
{
	if (!kt)
		return;
	/* Links first, then programs and maps: all gone from the kernel. */
	pv_locktrace__destroy(kt->skel);
	free(kt->percpu);
	free(kt);
}

/*
 * The globals are read by the programs on every CPU without a lock.  Each
 * store is a single aligned word (atomic as such); the only order that
 * matters is that the mapper and a clean slate are in place before phase
 * says to count, hence the release on phase, which pairs with the
 * programs' plain loads only in the weak sense that an event seen a
 * moment early or late moves the window's edge by that event.
 */
int pv_ktrace_arm(struct pv_ktrace *kt, int mapper)
{
	struct pv_locktrace__bss *g;
	int err;

	if (!kt)
		return 0;
	g = kt->skel->bss;
	__atomic_store_n(&g->phase, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&g->mapper_tgid, 0, __ATOMIC_RELEASE);
	err = clear_tasks(kt);
	if (!err)
		err = clear_sums(kt);
	__atomic_store_n(&g->target_mm, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g->mapper_wait_from, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g->mapper_waking_at, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&g->mapper_tgid, (__u32)mapper, __ATOMIC_RELEASE);
	return err;
}

int pv_ktrace_add_reader(struct pv_ktrace *kt)
{
	__u64 fresh[8] = { 0 };		/* a struct task_state, zeroed */
	__u32 tid;

	if (!kt)
		return 0;
	if (bpf_map__value_size(kt->skel->maps.tasks) > sizeof(fresh))
		return -EOVERFLOW;
	tid = (__u32)gettid();
	if (bpf_map_update_elem(bpf_map__fd(kt->skel->maps.tasks), &tid, &fresh,
				BPF_ANY))
		return -errno;
	return 0;
}

void pv_ktrace_start(struct pv_ktrace *kt)
{
	struct timespec ts;

	if (!kt)
		return;
	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	__atomic_store_n(&kt->skel->bss->start_ns,
			 (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&kt->skel->bss->phase, 1, __ATOMIC_RELEASE);
}

void pv_ktrace_mapper_done(struct pv_ktrace *kt)
{
	if (kt)
		__atomic_store_n(&kt->skel->bss->phase, 2, __ATOMIC_RELEASE);
}

void pv_ktrace_disarm(struct pv_ktrace *kt)
{
	if (!kt)
		return;
	__atomic_store_n(&kt->skel->bss->phase, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&kt->skel->bss->mapper_tgid, 0, __ATOMIC_RELEASE);
}

int pv_ktrace_figures(struct pv_ktrace *kt, struct pv_ktrace_figures *out)
{
	struct pv_ktrace_sums t = { 0 };
	__u32 zero = 0;
	int i;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(kt->skel->maps.sums), &zero,
				kt->percpu))
		return -errno;
	for (i = 0; i < kt->ncpus; i++) {
		const struct pv_ktrace_sums *c = &kt->percpu[i];

		t.mapper_wait_ns += c->mapper_wait_ns;
		if (c->mapper_wait_max_ns > t.mapper_wait_max_ns)
			t.mapper_wait_max_ns = c->mapper_wait_max_ns;
		t.mapper_waits += c->mapper_waits;
		t.mapper_sleeps += c->mapper_sleeps;
		t.mapper_wakeups += c->mapper_wakeups;
		t.mapper_wake_to_run_ns += c->mapper_wake_to_run_ns;
		t.mapper_wake_runs += c->mapper_wake_runs;
		t.reader_locks += c->reader_locks;
		t.reader_holds += c->reader_holds;
		t.hold_ns += c->hold_ns;
		if (c->hold_max_ns > t.hold_max_ns)
			t.hold_max_ns = c->hold_max_ns;
		t.hold_running_ns += c->hold_running_ns;
		t.hold_preempted_ns += c->hold_preempted_ns;
		t.hold_sleeping_ns += c->hold_sleeping_ns;
		t.reader_cpu_ns += c->reader_cpu_ns;
		t.missed += c->missed;
	}
	out->mapper_wait_ms = (double)t.mapper_wait_ns / 1e6;
	out->mapper_wait_max_ms = (double)t.mapper_wait_max_ns / 1e6;
	out->mapper_waits = t.mapper_waits;
	out->mapper_sleeps = t.mapper_sleeps;
	out->mapper_wakeups = t.mapper_wakeups;
	out->mapper_wake_to_run_ms = t.mapper_wake_runs ?
		(double)t.mapper_wake_to_run_ns / (double)t.mapper_wake_runs / 1e6 : NAN;
	out->reader_mmap_locks = t.reader_locks;
	out->reader_holds = t.reader_holds;
	out->reader_hold_ms = (double)t.hold_ns / 1e6;
	out->reader_hold_max_ms = (double)t.hold_max_ns / 1e6;
	out->reader_hold_running_ms = (double)t.hold_running_ns / 1e6;
	out->reader_hold_preempted_ms = (double)t.hold_preempted_ns / 1e6;
	out->reader_hold_sleeping_ms = (double)t.hold_sleeping_ns / 1e6;
	out->reader_cpu_ms = (double)t.reader_cpu_ns / 1e6;
	out->missed = t.missed;
	return 0;
}

#else /* !PV_HAVE_BPF */

int pv_ktrace_built(void)
{
	return 0;
}

int pv_ktrace_open(struct pv_ktrace **out, char *errmsg, int errlen)
{
	return pv_ktrace_open_engine(out, 0, errmsg, errlen);
}

int pv_ktrace_open_engine(struct pv_ktrace **out, int fentry, char *errmsg,
			  int errlen)
{
	(void)fentry;
	*out = NULL;
	snprintf(errmsg, (size_t)errlen,
		 "procvma was built without BPF (needs clang, bpftool and libbpf at build time)");
	return -ENOSYS;
}

int pv_ktrace_fentry(struct pv_ktrace *kt)
{
	(void)kt;
	return 0;
}

void pv_ktrace_close(struct pv_ktrace *kt)
{
	(void)kt;
}

int pv_ktrace_arm(struct pv_ktrace *kt, int mapper)
{
	(void)kt;
	(void)mapper;
	return 0;
}

int pv_ktrace_add_reader(struct pv_ktrace *kt)
{
	(void)kt;
	return 0;
}

void pv_ktrace_start(struct pv_ktrace *kt)
{
	(void)kt;
}

void pv_ktrace_mapper_done(struct pv_ktrace *kt)
{
	(void)kt;
}

void pv_ktrace_disarm(struct pv_ktrace *kt)
{
	(void)kt;
}

int pv_ktrace_figures(struct pv_ktrace *kt, struct pv_ktrace_figures *out)
{
	(void)kt;
	memset(out, 0, sizeof(*out));
	return -ENOSYS;
}

#endif /* PV_HAVE_BPF */
