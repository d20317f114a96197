/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel backend's cat scanner, as the reference's scanpid.sh runs
 * it: a bash loop that forks and execs cat on /proc/PID/FILE once per
 * pass, or the same loop around the user's scanner command.  The loop
 * inherits the calling thread's CPU and nice value, so the shell and
 * every command it runs sit where the scanner thread was placed.  Each
 * pass ends with the shell printing $EPOCHREALTIME on a pipe (a builtin:
 * a write(), no fork), which is how passes are counted and timed from
 * here.
 */
#ifndef PROCVMA_SCAN_LOOP_H
#define PROCVMA_SCAN_LOOP_H

#include <stdint.h>
#include <sys/types.h>

struct pv_scan_loop {
	pid_t pid;			/* the shell; 0 when not running */
	int out;			/* read end of its pipe, -1 when closed */
	char line[64];			/* an unfinished line */
	int linelen;
	double from_s;			/* count passes that begin after this (s) */
	double until_s;			/* ... and end by this; 0: no end yet
					 * (both CLOCK_REALTIME, as $EPOCHREALTIME) */
	double last_s;			/* end of the last pass reported; 0: none yet */
	unsigned long long lines;	/* passes reported, counted or not */
	int command;			/* running a scanner command, not cat */
	int exit_status;		/* the command's, once it failed; else -1 */
	unsigned long long passes;
	uint64_t sum_ns;
	uint64_t max_ns;
};

/* Start the loop on @path.  0, or -errno (-ENOENT: no bash). */
int pv_scan_loop_start(struct pv_scan_loop *l, const char *path);
/*
 * Start the loop running @command, a line of shell, once per pass until
 * it fails: its exit status is then in l->exit_status.  0 or -errno.
 */
int pv_scan_loop_start_command(struct pv_scan_loop *l, const char *command);
/*
 * Passes count from @ago_ns before now: one that began before is
 * discarded.
 */
void pv_scan_loop_begin(struct pv_scan_loop *l, uint64_t ago_ns);
/*
 * Take in the passes reported so far, without blocking.  0, or -EPIPE
 * once the loop has ended (cat failed and the shell left its loop).
 */
int pv_scan_loop_drain(struct pv_scan_loop *l);
/*
 * Wait up to @timeout_ms for the loop to report its first pass.  1 once
 * it has, 0 if not yet, -EPIPE if the loop ended, or -errno.
 */
int pv_scan_loop_wait_pass(struct pv_scan_loop *l, int timeout_ms);
/* Passes ending after now no longer count. */
void pv_scan_loop_end(struct pv_scan_loop *l);
/*
 * Stop the shell once its cat has finished the pass under way (killing
 * both if that takes long), reap it, and take in its last passes.
 */
void pv_scan_loop_stop(struct pv_scan_loop *l);

#endif
