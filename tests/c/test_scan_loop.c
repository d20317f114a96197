// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The cat scanner's shell loop stops without leaving a task behind: the
 * cat of the pass under way finishes and is reaped by its shell before
 * pv_scan_loop_stop() returns, so that nothing of one sample still runs
 * when the next one starts (and counts there as another task's load).
 * The loop reads a FIFO, so the test decides when a pass ends.  Prints
 * "ok" and exits 0, or says which check failed and exits 1; exits 4
 * (KSFT_SKIP) without bash or cat.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/scan_loop.h"

static int failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		failures++;						\
	}								\
} while (0)

static atomic_int pass_ended;

/* End the pass under way: after a while, close the FIFO's write end. */
static void *end_pass_later(void *arg)
{
	const struct timespec later = { 0, 20 * 1000 * 1000 };
	int fd = *(int *)arg;

	nanosleep(&later, NULL);
	atomic_store(&pass_ended, 1);
	close(fd);
	return NULL;
}

int main(void)
{
	char dir[] = "/tmp/procvma-scan-loop-XXXXXX", path[64];
	struct pv_scan_loop l;
	pthread_t t;
	pid_t group;
	int fd, r;

	if (access("/bin/bash", X_OK) && access("/usr/bin/bash", X_OK)) {
		printf("SKIP: no bash\n");
		return 4;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/fifo", dir);
	if (mkfifo(path, 0600)) {
		perror("mkfifo");
		return 1;
	}
	r = pv_scan_loop_start(&l, path);
	CHECK(r == 0, "pv_scan_loop_start: %d", r);
	if (r)
		return 1;
	group = l.pid;
	/* Opens once cat has opened the FIFO to read: a pass is under way. */
	fd = open(path, O_WRONLY);
	CHECK(fd >= 0, "open the FIFO: %d", errno);
	CHECK(write(fd, "x\n", 2) == 2, "write the FIFO: %d", errno);
	pthread_create(&t, NULL, end_pass_later, &fd);

	pv_scan_loop_stop(&l);
	CHECK(atomic_load(&pass_ended),
	      "stop returned before the pass under way had ended");
	CHECK(kill(-group, 0) == -1 && errno == ESRCH,
	      "a task of the loop's group outlived pv_scan_loop_stop()");
	pthread_join(t, NULL);

	/* A cat that never ends its pass is killed, and the stop returns. */
	r = pv_scan_loop_start(&l, path);
	CHECK(r == 0, "pv_scan_loop_start: %d", r);
	if (!r)
		pv_scan_loop_stop(&l);	/* cat waits in open() for a writer */
	CHECK(l.pid == 0 && l.out == -1, "the second loop was not stopped");

	unlink(path);
	rmdir(dir);
	if (failures)
		return 1;
	printf("ok\n");
	return 0;
}
