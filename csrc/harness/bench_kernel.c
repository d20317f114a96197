// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kernel backend: one sample of the reference experiment on the host's
 * own kernel.
 *
 * The mapper is a process of its own (procvma-kmapper, kmapper.c), so the
 * mm the scanners walk is a small one holding its region, as in the
 * reference harness.  The scanners and busy-waiters are threads of this
 * process, each pinned to its busy CPU with its own nice value.  What
 * they contend on is the mapper's mm, reached through /proc/PID; that
 * they share an mm of their own among themselves changes nothing there.
 *
 *   harness thread (pinned to cpuscript)
 *     spawn mapper ---- READY ----> trial read of /proc/PID/FILE
 *     start scanners + busy-waiters, wait at the start gate
 *     open the gate, send START
 *     wait for DONE (hang: duration + hang_timeout after START)
 *     stop and join the tasks, close the control socket, reap the mapper
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "kmapper_proto.h"
#include "host_pass.h"
#include "scan_loop.h"
#include "spawn.h"

extern char **environ;

/* cat's own read size (coreutils' io_blksize), so a pass reads as cat does. */
#define KSCAN_BUF_SIZE (128 * 1024)

/* How long the mapper may take to map and populate its region. */
#define KMAPPER_SETUP_TIMEOUT_S 60.0
/* How long an interrupted mapper gets to report before it is killed. */
#define KMAPPER_STOP_GRACE_S 2.0

struct kbench;

/* A scanner or a busy-waiter thread. */
struct ktask {
	struct kbench *kb;
	pthread_t thread;
	int cpu;
	int is_scanner;
	int started;			/* pthread_create succeeded */
	/* Scanner only. */
	struct pv_scanner scan;		/* ops NULL: cat's shell loop scans */
	char *buf;
	struct pv_scan_loop loop;	/* --scanner cat: the shell loop */
	int err;			/* first failed pass during the sample */
	char errmsg[200];
};

struct kbench {
	const struct pv_bench_config *cfg;
	pid_t mapper;			/* 0 once reaped */
	int ctl;			/* our end of the control socket */
	struct pv_kmapper_shm *shm;
	char procpath[96];		/* /proc/PID/<procfile>: scanners read */
	/* --scanner-command, {pid} replaced by the mapper's: what each pass runs. */
	char command[2 * sizeof(((struct pv_bench_config *)0)->scanner_command)];
	char smapspath[64];		/* /proc/PID/smaps: busy-waiters stat() */
	atomic_int stop_tasks;		/* tell scanners and busy-waiters to end */
	struct pv_start_gate gate;
	int gate_ready;
	struct ktask *tasks;
	int ntasks;
};

/* ---- the mapper process ---------------------------------------------- */

/* The mapper executable installed next to this extension module. */
static int default_mapper_path(char *path, size_t len)
{
	Dl_info info;
	const char *slash;

	if (!dladdr((void *)default_mapper_path, &info) || !info.dli_fname)
		return -ENOENT;
	slash = strrchr(info.dli_fname, '/');
	if (!slash)
		return -ENOENT;
	if ((size_t)snprintf(path, len, "%.*s/procvma-kmapper",
			     (int)(slash - info.dli_fname),
			     info.dli_fname) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * posix_spawn_file_actions_adddup2(fd, target) leaves FD_CLOEXEC set when
 * fd == target, so keep our descriptors above the mapper's fixed ones.
 */
static int fd_above_targets(int fd)
{
	int high;

	if (fd < 0 || fd > PV_KMAPPER_CTL_FD)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, PV_KMAPPER_CTL_FD + 1);
	close(fd);
	return high;
}

static long read_max_map_count(void)
{
	long v = -1;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int spawn_mapper(struct kbench *kb, const char *exe, int shmfd,
			int peer)
{
	const struct pv_bench_config *cfg = kb->cfg;
	char cpu[16], pages[32], holes[32], duration[32], seed[32], parent[16];
	char *argv[] = {
		"procvma-kmapper", "--cpu", cpu, "--pages", pages,
		"--holes", holes, "--duration", duration, "--seed", seed,
		"--parent", parent, NULL,
	};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int err;

	snprintf(cpu, sizeof(cpu), "%d", cfg->cpumapper);
	snprintf(pages, sizeof(pages), "%lu", cfg->region_pages);
	snprintf(holes, sizeof(holes), "%lu", cfg->holes);
	snprintf(duration, sizeof(duration), "%.9g", cfg->duration_s);
	snprintf(seed, sizeof(seed), "%llu", cfg->seed);
	snprintf(parent, sizeof(parent), "%d", (int)getpid());

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, shmfd, PV_KMAPPER_SHM_FD);
	posix_spawn_file_actions_adddup2(&fa, peer, PV_KMAPPER_CTL_FD);
	/*
	 * A process group of its own: a terminal's Ctrl-C reaches us, and we
	 * stop the mapper in order, instead of killing it under our feet.
	 */
	pv_spawnattr_init(&attr);
	err = posix_spawn(&kb->mapper, exe, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		kb->mapper = 0;
	return -err;
}

enum ctl_result { CTL_BYTE, CTL_TIMEOUT, CTL_STOP, CTL_EOF };

/*
 * Wait for one byte from the mapper until @deadline_ns, waking every
 * 20 ms to notice a Ctrl-C when @watch_stop.
 */
static enum ctl_result ctl_wait(struct kbench *kb, uint64_t deadline_ns,
				int watch_stop, char *byte)
{
	struct pollfd pfd = { .fd = kb->ctl, .events = POLLIN };

	for (;;) {
		uint64_t now = ktime_get_ns();
		int ms, n;

		if (watch_stop && pv_stopping())
			return CTL_STOP;
		if (now >= deadline_ns)
			return CTL_TIMEOUT;
		ms = (int)((deadline_ns - now + 999999) / 1000000);
		n = poll(&pfd, 1, ms < 20 ? ms : 20);
		if (n < 0 && errno != EINTR)
			return CTL_EOF;
		if (n > 0) {
			ssize_t r = read(kb->ctl, byte, 1);

			if (r == 1)
				return CTL_BYTE;
			if (r == 0 || errno != EINTR)
				return CTL_EOF;
		}
	}
}

static int ctl_send(struct kbench *kb, char c)
{
	return send(kb->ctl, &c, 1, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

/*
 * Let the mapper go and wait for it: it exits when its control socket
 * closes; one that does not within @grace_s is killed.  The mapper is
 * always reaped here, so it neither outlives the sample nor lingers as
 * a zombie.  Returns its wait status.
 */
static int reap_mapper(struct kbench *kb, double grace_s)
{
	uint64_t deadline = ktime_get_ns() + (uint64_t)(grace_s * 1e9);
	const struct timespec tick = { 0, 5000000 };
	int status = 0;

	if (!kb->mapper)
		return 0;
	if (kb->ctl >= 0) {
		close(kb->ctl);
		kb->ctl = -1;
	}
	for (;;) {
		pid_t r = waitpid(kb->mapper, &status, WNOHANG);

		if (r == kb->mapper || (r < 0 && errno != EINTR))
			break;
		if (ktime_get_ns() >= deadline) {
			kill(kb->mapper, SIGKILL);
			while (waitpid(kb->mapper, &status, 0) < 0 &&
			       errno == EINTR)
				;
			break;
		}
		nanosleep(&tick, NULL);
	}
	kb->mapper = 0;
	return status;
}

static int mapper_failed(struct kbench *kb, struct pv_sample *out)
{
	const struct pv_kmapper_shm *shm = kb->shm;
	long max = read_max_map_count();

	if (shm->err == ENOMEM && shm->err_op == PV_KMAPPER_OP_REGION)
		return pv_sample_fail(out, ENOMEM,
			"kernel mapper: cannot map and populate %lu MiB: out of memory, or over vm.max_map_count (%ld)",
			kb->cfg->region_pages * PV_PAGE_SIZE >> 20, max);
	if (shm->err == ENOMEM)
		return pv_sample_fail(out, ENOMEM,
			"kernel mapper: %s: the region's mappings exceed vm.max_map_count (%ld); raise it or use a smaller region",
			shm->errmsg, max);
	return pv_sample_fail(out, shm->err, "kernel mapper: %s", shm->errmsg);
}

static int mapper_died(struct kbench *kb, struct pv_sample *out)
{
	/* It closed its socket on the way out: give it time to finish. */
	int status = reap_mapper(kb, 1.0);

	if (WIFSIGNALED(status))
		return pv_sample_fail(out, ECHILD,
			"kernel mapper died of signal %d (%s)",
			WTERMSIG(status), strsignal(WTERMSIG(status)));
	return pv_sample_fail(out, ECHILD,
		"kernel mapper exited early with status %d",
		WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* ---- scanners and busy-waiters --------------------------------------- */

static struct ktask *scanner_task(struct pv_scanner *s)
{
	return container_of(s, struct ktask, scan);
}

/*
 * One scan: open, read to EOF, close, the way cat reads a file.  The
 * read is what takes the mapper's mmap_lock (or its VMAs' locks).
 */
static int kscan_read(struct pv_scanner *s)
{
	struct ktask *t = scanner_task(s);

	return pv_host_read_pass(t->kb->procpath, t->buf, KSCAN_BUF_SIZE, 1);
}

/*
 * One scan as a symbolizer walks an address space: open maps once, then
 * PROCMAP_QUERY for each VMA in turn.  Each query takes the lock (the
 * mmap_lock, or since Linux 6.17 the VMA's own) for that VMA alone.
 */
static int kscan_query(struct pv_scanner *s)
{
	struct ktask *t = scanner_task(s);

	return pv_host_query_pass(t->kb->procpath, t->buf, PATH_MAX);
}

static void kscan_failed(struct pv_scanner *s, const char *what)
{
	struct ktask *t = scanner_task(s);

	snprintf(t->errmsg, sizeof(t->errmsg), "%s %s: %s", what,
		 t->kb->procpath, strerror(-s->err));
	t->err = -s->err;
}

static void kscan_read_failed(struct pv_scanner *s)
{
	kscan_failed(s, "cannot read");
}

static void kscan_query_failed(struct pv_scanner *s)
{
	kscan_failed(s, "PROCMAP_QUERY failed on");
}

static const struct pv_scanner_ops kscan_read_ops = {
	.pass = kscan_read, .failed = kscan_read_failed,
};

static const struct pv_scanner_ops kscan_query_ops = {
	.pass = kscan_query, .failed = kscan_query_failed,
};

/*
 * The in-process scanners (--scanner read or query), which read from
 * before the mapper starts, as the reference's scanners do; cat's and a
 * scanner command's passes run in a shell loop instead.
 */
static const struct pv_scanner_ops *const kscanners[] = {
	[PV_SCANNER_READ] = &kscan_read_ops,
	[PV_SCANNER_CAT] = NULL,
	[PV_SCANNER_QUERY] = &kscan_query_ops,
	[PV_SCANNER_COMMAND] = NULL,
};

static int tasks_stopping(const struct kbench *kb)
{
	/* Flags only, published with nothing: relaxed (see pv_stopping()). */
	return atomic_load_explicit(&kb->stop_tasks, memory_order_relaxed) ||
	       pv_stopping();
}

/* How much of a scanner command an error message quotes. */
#define COMMAND_QUOTED 120

/* Why the shell loop (cat, or the scanner command) ended, in t->errmsg. */
static void shell_loop_failed(struct ktask *t)
{
	const struct pv_scan_loop *l = &t->loop;
	const char *cmd = t->kb->command;
	int n = COMMAND_QUOTED, status = l->exit_status;
	const char *more = strlen(cmd) > COMMAND_QUOTED ? "..." : "";

	if (!l->command)
		snprintf(t->errmsg, sizeof(t->errmsg),
			 "cat %s failed in the scanner's shell loop", t->kb->procpath);
	else if (status > 128)
		snprintf(t->errmsg, sizeof(t->errmsg),
			 "scanner command '%.*s%s' was killed by signal %d (%s)",
			 n, cmd, more, status - 128, strsignal(status - 128));
	else if (status >= 0)
		snprintf(t->errmsg, sizeof(t->errmsg),
			 "scanner command '%.*s%s' exited with status %d%s", n, cmd,
			 more, status, status == 127 ? " (command not found)" : "");
	else
		snprintf(t->errmsg, sizeof(t->errmsg),
			 "scanner command '%.*s%s' ended the scanner's shell loop",
			 n, cmd, more);
}

/*
 * --scanner cat or a scanner command: the shell loop does the scanning;
 * this thread only takes in its passes now and then, a wake-up a sample
 * period apart instead of one per pass on the busy CPU.
 */
#define SCAN_LOOP_POLL_NS 20000000

static void scanner_cat_loop(struct ktask *t, uint64_t start_ns)
{
	const struct timespec tick = { 0, SCAN_LOOP_POLL_NS };
	struct pv_scan_loop *l = &t->loop;

	pv_scan_loop_begin(l, ktime_get_ns() - start_ns);
	while (!tasks_stopping(t->kb)) {
		nanosleep(&tick, NULL);
		if (pv_scan_loop_drain(l) == -EPIPE && !tasks_stopping(t->kb)) {
			shell_loop_failed(t);
			t->err = EIO;
			break;
		}
	}
	pv_scan_loop_end(l);
	pv_scan_loop_stop(l);
	t->scan.pass = (struct pv_pass_times){
		.passes = l->passes, .sum_ns = l->sum_ns, .max_ns = l->max_ns,
	};
}

/* The busy-waiter's spin body: the reference's busywait stat()s smaps. */
static void stat_mapper(void *arg)
{
	struct stat st;

	stat((const char *)arg, &st);
}

/*
 * Start the scanner's shell loop, placed as this thread is, and wait
 * until it has made one pass: it scans before the mapper starts, as the
 * reference's scanners do, and a command that fails fails here, before
 * the sample.  A command whose first pass takes longer than the hang
 * timeout does not hold the sample up: the sample runs, and counts the
 * passes that fit in it (none: no_pass).  0 or -errno, with t->errmsg.
 */
static int scanner_cat_start(struct ktask *t)
{
	const struct pv_bench_config *cfg = t->kb->cfg;
	uint64_t give_up = ktime_get_ns() + (uint64_t)(cfg->hang_timeout_s * 1e9);
	int command = cfg->scanner == PV_SCANNER_COMMAND;
	int r = command ? pv_scan_loop_start_command(&t->loop, t->kb->command) :
			  pv_scan_loop_start(&t->loop, t->kb->procpath);

	if (r) {
		snprintf(t->errmsg, sizeof(t->errmsg),
			 "cannot run bash for the %s scanner: %s",
			 command ? "command" : "cat", strerror(-r));
		return r;
	}
	while (!tasks_stopping(t->kb) &&
	       (r = pv_scan_loop_wait_pass(&t->loop, 100)) == 0 &&
	       (!command || ktime_get_ns() < give_up))
		;
	if (r < 0) {
		if (r == -EPIPE)
			shell_loop_failed(t);
		else
			snprintf(t->errmsg, sizeof(t->errmsg),
				 "cannot read the scanner's shell loop: %s", strerror(-r));
		return r == -EPIPE ? -EIO : r;
	}
	return 0;
}

/*
 * The scanner command with every {pid} replaced by the mapper's pid.
 * 0, or -ENAMETOOLONG (cannot happen: a pid has at most 7 digits, and
 * the buffer has room for twice the longest command).
 */
static int expand_command(struct kbench *kb)
{
	const char *src = kb->cfg->scanner_command;
	char pid[16], *dst = kb->command, *end = kb->command + sizeof(kb->command);
	size_t pidlen = (size_t)snprintf(pid, sizeof(pid), "%d", (int)kb->mapper);

	while (*src) {
		const char *put = src;
		size_t n = 1;

		if (!strncmp(src, "{pid}", 5)) {
			put = pid;
			n = pidlen;
			src += 5;
		} else {
			src++;
		}
		if ((size_t)(end - dst) <= n)
			return -ENAMETOOLONG;
		memcpy(dst, put, n);
		dst += n;
	}
	*dst = '\0';
	return 0;
}

static void *ktask_main(void *arg)
{
	struct ktask *t = arg;
	struct kbench *kb = t->kb;
	uint64_t start_ns;
	int err;

	err = pv_place_self(t->cpu, t->is_scanner ? PV_SCANNER_NICE :
						    PV_BUSY_NICE);
	/* Before its first pass: it, and the shell loop it starts, read. */
	if (!err && t->is_scanner)
		err = pv_ktrace_add_reader(kb->cfg->ktrace);
	if (!err && t->is_scanner && t->scan.ops) {
		pv_scanner_run(&t->scan);	/* reports in at the gate itself */
		return NULL;
	}
	if (!err && t->is_scanner)
		err = scanner_cat_start(t);
	if (pv_gate_arrive(&kb->gate, err, &start_ns)) {
		if (t->is_scanner)
			pv_scan_loop_stop(&t->loop);
		return NULL;
	}
	if (t->is_scanner)
		scanner_cat_loop(t, start_ns);
	else
		pv_busy_wait_loop(kb->cfg->busyduration_ms, &kb->stop_tasks,
				  stat_mapper, kb->smapspath, NULL);
	return NULL;
}

static int scanner_prepare(struct ktask *t)
{
	struct kbench *kb = t->kb;

	t->scan = (struct pv_scanner){
		.ops = kscanners[kb->cfg->scanner], .gate = &kb->gate,
		.stop = &kb->stop_tasks, .duration_s = kb->cfg->duration_s,
	};
	/* No shell loop yet: pv_scan_loop_stop() finds nothing to stop. */
	t->loop.out = -1;
	t->buf = malloc(KSCAN_BUF_SIZE);
	return t->buf ? 0 : -ENOMEM;
}

static void scanner_release(struct ktask *t)
{
	free(t->buf);
}

/*
 * Per busy CPU: nbusytasks scanners and as many busy-waiters.  Every task
 * places itself and waits at the gate; on failure the gate is aborted.
 */
static int start_tasks(struct kbench *kb)
{
	const struct pv_bench_config *cfg = kb->cfg;
	int n = 2 * cfg->nbusycpus * cfg->nbusytasks;
	int i, err;

	kb->tasks = calloc(n ? n : 1, sizeof(*kb->tasks));
	if (!kb->tasks)
		return -ENOMEM;
	err = pv_gate_init(&kb->gate, n);
	if (err)
		return err;
	kb->gate_ready = 1;
	for (i = 0; i < n; i++) {
		struct ktask *t = &kb->tasks[i];

		t->kb = kb;
		t->cpu = cfg->cpubusytasks + i / (2 * cfg->nbusytasks);
		t->is_scanner = i % 2 == 0;
		kb->ntasks = i + 1;	/* so that the clean-up sees it */
		if (t->is_scanner) {
			err = scanner_prepare(t);
			if (err)
				break;
		}
		err = -pthread_create(&t->thread, NULL, ktask_main, t);
		if (err)
			break;
		t->started = 1;
	}
	if (!err)
		err = pv_gate_wait_ready(&kb->gate);
	if (err)
		pv_gate_abort(&kb->gate);
	return err;
}

static void stop_tasks(struct kbench *kb)
{
	int i;

	/* Relaxed: the join below is what orders their results before us. */
	atomic_store_explicit(&kb->stop_tasks, 1, memory_order_relaxed);
	for (i = 0; i < kb->ntasks; i++) {
		if (kb->tasks[i].started) {
			pthread_join(kb->tasks[i].thread, NULL);
			kb->tasks[i].started = 0;
		}
	}
}

/* ---- one sample ------------------------------------------------------- */

/*
 * Mark the sample's start and end in the trace (--trace).  0 or -errno;
 * a marker that cannot be written costs the sample its lock figures
 * (procvma/host/locktrace.py finds none and says so), not its other figures.
 */
static int __attribute__((format(printf, 2, 3)))
trace_mark(struct kbench *kb, const char *fmt, ...)
{
	char text[64];
	va_list ap;
	int n;

	if (!kb->cfg->trace)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return write(kb->cfg->trace_marker_fd, text, (size_t)n) == n ? 0 : -errno;
}

/*
 * After the mapper: its histogram and counts, the scanners' walk times.
 * The mapper's writes to the shared page are visible here because DONE
 * (a socket write/read pair) or its reaping (waitpid) came first.
 */
static void collect(struct kbench *kb, struct pv_sample *out)
{
	const struct pv_kmapper_shm *shm = kb->shm;
	uint64_t sum = 0, max = 0;
	int i;

	pv_sample_from_hist(out, &shm->hist);
	out->nmaps = shm->nmaps;
	out->nunmaps = shm->nunmaps;
	out->nfailed = shm->err ? 1 : 0;
	out->vmas = shm->vmas;
	for (i = 0; i < kb->ntasks; i++) {
		const struct ktask *t = &kb->tasks[i];

		out->walks += t->scan.pass.passes;
		sum += t->scan.pass.sum_ns;
		if (t->scan.pass.max_ns > max)
			max = t->scan.pass.max_ns;
	}
	out->walk_avg_ms = out->walks ? (double)sum / out->walks / 1e6 : 0;
	out->walk_max_ms = (double)max / 1e6;
}

/* Wait for DONE; on a Ctrl-C or a hang stop the tasks first. */
static int await_mapper(struct kbench *kb, uint64_t start_ns,
			struct pv_sample *out)
{
	const struct pv_bench_config *cfg = kb->cfg;
	uint64_t deadline = start_ns +
		(uint64_t)((cfg->duration_s + cfg->hang_timeout_s) * 1e9);
	double grace_s = cfg->hang_timeout_s;
	enum ctl_result r;
	char byte;

	r = ctl_wait(kb, deadline, 1, &byte);
	/*
	 * Still running at the deadline is what makes a hang, even when its
	 * DONE slipped in during poll()'s last millisecond.
	 */
	if (r == CTL_BYTE && ktime_get_ns() > deadline)
		out->hang = 1;
	if (r == CTL_STOP) {
		out->interrupted = 1;
		/* Relaxed: a hint; see remap_loop() in kmapper.c. */
		atomic_store_explicit(&kb->shm->stop, 1, memory_order_relaxed);
		grace_s = KMAPPER_STOP_GRACE_S;
	} else if (r == CTL_TIMEOUT) {
		/*
		 * A hang, as the reference counts them: take the busy tasks
		 * away and give the mapper another hang_timeout to finish.
		 */
		out->hang = 1;
	}
	if (r == CTL_STOP || r == CTL_TIMEOUT) {
		stop_tasks(kb);
		if (grace_s < 1.0)
			grace_s = 1.0;
		r = ctl_wait(kb, ktime_get_ns() + (uint64_t)(grace_s * 1e9), 0,
			     &byte);
	}
	if (r == CTL_BYTE && byte == PV_KMAPPER_DONE)
		return 0;
	if (r == CTL_TIMEOUT) {
		/* Still stuck: its figures so far are in the shared page. */
		kill(kb->mapper, SIGKILL);
		return 0;
	}
	if (out->interrupted)
		return 0;
	return mapper_died(kb, out);
}

static int run_sample(struct kbench *kb, struct pv_sample *out,
		      uint64_t setup_t0)
{
	const struct pv_bench_config *cfg = kb->cfg;
	double setup_timeout = KMAPPER_SETUP_TIMEOUT_S +
		(double)(cfg->region_pages >> 16);	/* +1 s per 256 MiB */
	struct ktask probe = { .kb = kb };
	uint64_t start_ns;
	enum ctl_result r;
	int i, err;
	char byte;

	r = ctl_wait(kb, ktime_get_ns() + (uint64_t)(setup_timeout * 1e9), 1,
		     &byte);
	if (r == CTL_STOP) {
		out->interrupted = 1;
		return 0;
	}
	if (r == CTL_TIMEOUT)
		return pv_sample_fail(out, ETIMEDOUT,
			"kernel mapper: not ready after %.0f s mapping its region",
			setup_timeout);
	if (r == CTL_EOF)
		return mapper_died(kb, out);
	if (byte != PV_KMAPPER_READY)
		return mapper_failed(kb, out);

	snprintf(kb->procpath, sizeof(kb->procpath), "/proc/%d/%s",
		 (int)kb->mapper, cfg->procfile);
	snprintf(kb->smapspath, sizeof(kb->smapspath), "/proc/%d/smaps",
		 (int)kb->mapper);
	if (cfg->scanner == PV_SCANNER_COMMAND && expand_command(kb))
		return pv_sample_fail(out, ENAMETOOLONG, "the scanner command is too long");

	/*
	 * One pass now, so an unreadable file fails before the sample: an
	 * in-process scanner's own, cat's as read makes it.
	 */
	err = scanner_prepare(&probe);
	if (!probe.scan.ops)
		probe.scan.ops = &kscan_read_ops;
	if (!err)
		err = probe.scan.ops->pass(&probe.scan);
	if (err) {
		probe.scan.err = err;
		if (err != -ENOMEM)
			probe.scan.ops->failed(&probe.scan);
		scanner_release(&probe);
		return pv_sample_fail(out, -err, "%s",
			err == -ENOMEM ? "out of memory" : probe.errmsg);
	}
	scanner_release(&probe);

	err = start_tasks(kb);
	for (i = 0; err && i < kb->ntasks; i++)
		if (kb->tasks[i].errmsg[0])
			return pv_sample_fail(out, err, "%s", kb->tasks[i].errmsg);
	if (err)
		return pv_sample_fail(out, err,
			"cannot start the scanners on CPUs %d-%d: %s",
			cfg->cpubusytasks,
			cfg->cpubusytasks + cfg->nbusycpus - 1, strerror(-err));

	/* Busy tasks first, then the mapper: the reference's waitfile order. */
	(void)trace_mark(kb, "procvma start mapper=%d", (int)kb->mapper);
	pv_ktrace_start(cfg->ktrace);
	start_ns = pv_gate_open(&kb->gate);
	out->setup_s = (double)(start_ns - setup_t0) / 1e9;
	if (ctl_send(kb, PV_KMAPPER_START))
		return mapper_died(kb, out);
	err = await_mapper(kb, start_ns, out);
	(void)trace_mark(kb, "procvma end");
	pv_ktrace_mapper_done(cfg->ktrace);
	stop_tasks(kb);
	pv_ktrace_disarm(cfg->ktrace);
	if (err)
		return err;

	collect(kb, out);
	if (kb->shm->err)
		return mapper_failed(kb, out);
	for (i = 0; i < kb->ntasks; i++)
		if (kb->tasks[i].err)
			return pv_sample_fail(out, kb->tasks[i].err, "%s",
					      kb->tasks[i].errmsg);
	return 0;
}

/* @exe: the mapper to run. */
static int find_mapper(const struct pv_bench_config *cfg, struct pv_sample *out,
		       char *exe, size_t exelen)
{
	if (cfg->mapper_path[0]) {
		snprintf(exe, exelen, "%s", cfg->mapper_path);
	} else if (default_mapper_path(exe, exelen)) {
		return pv_sample_fail(out, ENOENT,
			"cannot locate the procvma-kmapper executable");
	}
	if (access(exe, X_OK))
		return pv_sample_fail(out, errno, "kernel mapper %s: %s", exe,
				      strerror(errno));
	return 0;
}

/*
 * The two channels to the mapper (kmapper_proto.h): the shared results
 * page, mapped at kb->shm with its memfd in *@shmfd, and the control
 * socket, our end in kb->ctl and the mapper's in sv[1].
 */
static int open_channels(struct kbench *kb, struct pv_sample *out, int *shmfd,
			 int sv[2])
{
	*shmfd = fd_above_targets(memfd_create("procvma-kmapper", MFD_CLOEXEC));
	if (*shmfd < 0 || ftruncate(*shmfd, sizeof(*kb->shm)))
		return pv_sample_fail(out, errno, "memfd: %s", strerror(errno));
	kb->shm = mmap(NULL, sizeof(*kb->shm), PROT_READ | PROT_WRITE,
		       MAP_SHARED, *shmfd, 0);
	if (kb->shm == MAP_FAILED) {
		kb->shm = NULL;
		return pv_sample_fail(out, errno, "mmap: %s", strerror(errno));
	}
	kb->shm->magic = PV_KMAPPER_MAGIC;
	pv_hist_init(&kb->shm->hist);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return pv_sample_fail(out, errno, "socketpair: %s",
				      strerror(errno));
	kb->ctl = fd_above_targets(sv[0]);
	sv[1] = fd_above_targets(sv[1]);
	if (kb->ctl < 0 || sv[1] < 0)
		return pv_sample_fail(out, EMFILE, "out of file descriptors");
	return 0;
}

/* Undo whatever of a sample was set up; every exit path comes here. */
static void release_sample(struct kbench *kb, int shmfd, int mapper_ctl)
{
	int i;

	stop_tasks(kb);
	pv_ktrace_disarm(kb->cfg->ktrace);
	reap_mapper(kb, KMAPPER_STOP_GRACE_S);
	if (kb->tasks) {
		for (i = 0; i < kb->ntasks; i++)
			if (kb->tasks[i].is_scanner)
				scanner_release(&kb->tasks[i]);
		free(kb->tasks);
	}
	if (kb->gate_ready)
		pv_gate_destroy(&kb->gate);
	if (kb->shm)
		munmap(kb->shm, sizeof(*kb->shm));
	if (kb->ctl >= 0)
		close(kb->ctl);
	if (mapper_ctl >= 0)
		close(mapper_ctl);
	if (shmfd >= 0)
		close(shmfd);
}

int pv_bench_run_kernel(const struct pv_bench_config *cfg,
			struct pv_sample *out)
{
	struct kbench kb = { .cfg = cfg, .ctl = -1 };
	uint64_t t0 = ktime_get_ns();
	char exe[sizeof(cfg->mapper_path)];
	cpu_set_t saved, script;
	int shmfd = -1, sv[2] = { -1, -1 };
	int have_saved, err;

	err = find_mapper(cfg, out, exe, sizeof(exe));
	if (err)
		return err;

	/* The driver sits on cpuscript for the sample, as the reference's. */
	have_saved = !sched_getaffinity(0, sizeof(saved), &saved);
	if (cfg->cpuscript < 0 || cfg->cpuscript >= CPU_SETSIZE)
		return pv_sample_fail(out, EINVAL, "no CPU %d (cpuscript)",
				      cfg->cpuscript);
	CPU_ZERO(&script);
	CPU_SET(cfg->cpuscript, &script);
	if (sched_setaffinity(0, sizeof(script), &script))
		return pv_sample_fail(out, errno,
			"cannot run on CPU %d (cpuscript): %s",
			cfg->cpuscript, strerror(errno));

	err = open_channels(&kb, out, &shmfd, sv);
	if (err)
		goto out;
	err = spawn_mapper(&kb, exe, shmfd, sv[1]);
	close(sv[1]);
	sv[1] = -1;
	if (err) {
		err = pv_sample_fail(out, err, "cannot run %s: %s", exe,
				     strerror(-err));
		goto out;
	}

	/* Its pid is known now; its setup names its mm to the programs. */
	err = pv_ktrace_arm(cfg->ktrace, kb.mapper);
	if (err) {
		err = pv_sample_fail(out, -err, "BPF lock trace: %s",
				     strerror(-err));
		goto out;
	}
	err = run_sample(&kb, out, t0);
out:
	release_sample(&kb, shmfd, sv[1]);
	if (have_saved)
		sched_setaffinity(0, sizeof(saved), &saved);
	return err;
}
