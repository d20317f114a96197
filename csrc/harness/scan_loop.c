// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The reference's scanner, scanpid.sh, is a bash loop around
 * "cat /proc/$pid/$procfile > /dev/null 2>&1": bash forks, the child
 * redirects and execs cat, bash waits, once per pass.  The user's own
 * scanner command (--scanner-command) runs in the same loop.  A cat spawned
 * straight from this process (vfork and exec) costs less per pass, so it
 * reads more often and stalls the mapper more than the reference's does;
 * running the same loop under bash makes each pass what it is there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scan_loop.h"
#include "spawn.h"

extern char **environ;

/*
 * The path is bash's $1, never part of the script text, so no file name
 * can change what the shell runs.  The echo is a builtin (no fork).
 * SIGTERM ends the loop once the cat under way has exited and been
 * reaped by the shell (bash runs a trap after its foreground command),
 * so that stopping leaves no cat behind (see pv_scan_loop_stop()).
 */
static const char scan_loop_script[] =
	"trap 'exit 0' TERM; "
	"while cat \"$1\" > /dev/null 2>&1; do echo $EPOCHREALTIME; done";

/*
 * The user's command (--scanner-command) in the same loop: $1 is run as
 * a line of the script would be (eval: its words, quotes, pipes and
 * redirections as the shell reads them), so a simple command costs a
 * pass one fork and exec, as cat does in the loop above.  A failing
 * command ends the loop with its exit status on a line of its own.
 */
static const char scan_command_script[] =
	"trap 'exit 0' TERM; "
	"while :; do eval \"$1\" > /dev/null 2>&1 || { echo \"exit $?\"; exit; }; "
	"echo $EPOCHREALTIME; done";

/*
 * How long the shell gets to finish the pass under way when told to stop,
 * before its process group is killed: a pass takes milliseconds; one
 * stuck behind a hung mapper must not hold the stop up.
 */
#define SCAN_LOOP_STOP_NS 500000000ull
#define SCAN_LOOP_STOP_TICK_NS 1000000

/* Room for about a million passes should the reader fall behind. */
#define SCAN_LOOP_PIPE_SIZE (1 << 20)

static double realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int scan_loop_spawn(struct pv_scan_loop *l, const char *script,
			   const char *arg)
{
	char *argv[] = { "bash", "-c", (char *)script, "bash", (char *)arg, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int fds[2], err;

	memset(l, 0, sizeof(*l));
	l->out = -1;
	l->exit_status = -1;
	l->from_s = 1e300;	/* nothing counts before pv_scan_loop_begin() */
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	fcntl(fds[0], F_SETPIPE_SZ, SCAN_LOOP_PIPE_SIZE);	/* best effort */
	fcntl(fds[0], F_SETFL, O_NONBLOCK);

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	/* A group of its own: the shell and its cat are killed together. */
	pv_spawnattr_init(&attr);
	err = posix_spawnp(&l->pid, "bash", &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (err) {
		l->pid = 0;
		close(fds[0]);
		return -err;
	}
	l->out = fds[0];
	return 0;
}

int pv_scan_loop_start(struct pv_scan_loop *l, const char *path)
{
	return scan_loop_spawn(l, scan_loop_script, path);
}

int pv_scan_loop_start_command(struct pv_scan_loop *l, const char *command)
{
	int err = scan_loop_spawn(l, scan_command_script, command);

	l->command = 1;
	return err;
}

void pv_scan_loop_begin(struct pv_scan_loop *l, uint64_t ago_ns)
{
	l->from_s = realtime_s() - (double)ago_ns / 1e9;
}

void pv_scan_loop_end(struct pv_scan_loop *l)
{
	l->until_s = realtime_s();
}

/*
 * A pass's end, $EPOCHREALTIME: seconds, a point or a comma (the
 * locale's), microseconds; or the command's "exit N".  A pass begins
 * where the one before it ended, so it counts when both lie within the
 * sample: the pass under way as the sample starts began before it, and
 * the one under way at its end is cut short there.
 */
static void scan_loop_line(struct pv_scan_loop *l)
{
	char *sep, *end;
	double t, began;
	uint64_t ns;

	l->line[l->linelen] = '\0';
	if (!strncmp(l->line, "exit ", 5)) {
		l->exit_status = atoi(l->line + 5);
		return;
	}
	sep = strpbrk(l->line, ".,");
	if (sep)
		*sep = '.';
	t = strtod(l->line, &end);
	if (end == l->line)
		return;
	l->lines++;
	began = l->last_s;
	l->last_s = t;
	if (began < l->from_s || (l->until_s && t > l->until_s))
		return;
	ns = (uint64_t)((t - began) * 1e9);
	l->passes++;
	l->sum_ns += ns;
	if (ns > l->max_ns)
		l->max_ns = ns;
}

int pv_scan_loop_drain(struct pv_scan_loop *l)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(l->out, buf, sizeof(buf)), i;

		if (n == 0)
			return -EPIPE;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				scan_loop_line(l);
				l->linelen = 0;
			} else if (l->linelen < (int)sizeof(l->line) - 1) {
				l->line[l->linelen++] = buf[i];
			}
		}
	}
}

int pv_scan_loop_wait_pass(struct pv_scan_loop *l, int timeout_ms)
{
	struct pollfd pfd = { .fd = l->out, .events = POLLIN };
	int err;

	if (!l->lines && poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	err = pv_scan_loop_drain(l);
	if (l->lines)
		return 1;
	return err;
}

/* Whether the shell has exited, leaving it to be reaped. */
static int scan_loop_exited(pid_t pid)
{
	siginfo_t si;

	si.si_pid = 0;
	while (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		if (errno != EINTR)
			return 1;	/* not ours to wait for: nothing to do */
	return si.si_pid != 0;
}

void pv_scan_loop_stop(struct pv_scan_loop *l)
{
	if (l->pid) {
		const struct timespec tick = { 0, SCAN_LOOP_STOP_TICK_NS };
		uint64_t waited = 0;

		/*
		 * Killing the group at once would leave the cat of the pass
		 * under way to finish its exit as an orphan, still running
		 * after the sample: on the next sample's CPUs, and counted
		 * there as another task's load.  Let the shell reap it first.
		 * A user's command may run for long: it is told to stop now,
		 * with the shell, which reaps it before its trap runs.
		 */
		kill(l->command ? -l->pid : l->pid, SIGTERM);
		while (!scan_loop_exited(l->pid) && waited < SCAN_LOOP_STOP_NS) {
			nanosleep(&tick, NULL);
			waited += SCAN_LOOP_STOP_TICK_NS;
		}
		/*
		 * Until the shell is reaped its pid names no other group: this
		 * reaches only what is left of ours (a cat still reading when
		 * the time ran out).
		 */
		kill(-l->pid, SIGKILL);
		while (waitpid(l->pid, NULL, 0) < 0 && errno == EINTR)
			;
		l->pid = 0;
	}
	if (l->out >= 0) {
		int tries = 1000;

		/*
		 * Everyone who held the write end is dead: this reads to EOF
		 * (the bound is for a writer we do not know of).
		 */
		while (pv_scan_loop_drain(l) == 0 && --tries)
			;
		close(l->out);
		l->out = -1;
	}
}
