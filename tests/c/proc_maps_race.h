/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The race scenarios of the kernel's selftest
 * tools/testing/selftests/proc/proc-maps-race.c, as one checker that runs
 * against the simulator (test_proc_maps_race_sim.c) and against the real
 * kernel (test_proc_maps_race_kernel.c), so that what it accepts is known
 * to be what a real kernel produces.
 *
 * A modifier thread changes the VMA at a read() boundary and puts it
 * back, over and over, while the reader reads the file one 4 KiB read()
 * at a time and looks at the two lines around the boundary: the last VMA
 * of one read() and the first VMA of the next.  Between those two read()s
 * the reader holds no lock, so the layout may change there; what the
 * reader sees must still be a layout that existed, never a hole where a
 * page stayed mapped and never a VMA skipped:
 *
 *   - both lines from the modified layout, or both from the restored one;
 *   - or the modified last line, then the restored last line: the VMA
 *     grew back across the resume point between the two read()s, and the
 *     kernel reports it again, grown, moving on to its new end
 *     (Documentation/filesystems/proc.rst: whatever is mapped at an
 *     address during the entire walk gets some output).
 *
 * Anything else fails: the restored first line after the modified last
 * line is the grown VMA skipped and its pages lost.
 *
 * The modifier is a thread (the simulator) or, as in the selftest, a
 * process of its own whose mm nothing else changes (the real kernel):
 * struct race_modifier then lives in memory shared with it, and the
 * reader has it run one change at a time with race_modifier_call().
 */
#ifndef PROCVMA_PROC_MAPS_RACE_H
#define PROCVMA_PROC_MAPS_RACE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RACE_LINE_MAX 160

struct race_line {
	char text[RACE_LINE_MAX];
	unsigned long start, end;
};

/* The two lines around one read() boundary. */
struct race_boundary {
	struct race_line last, first;
};

/* "start-end " at @s, in hex: a VMA's header line in maps and smaps. */
static inline bool race_parse_range(const char *s, const char *eol,
				    unsigned long *start, unsigned long *end)
{
	unsigned long v[2] = { 0, 0 };
	int i;

	for (i = 0; i < 2; i++) {
		const char *digits = s;

		for (; s < eol; s++) {
			int c = *s, d = c >= '0' && c <= '9' ? c - '0' :
				c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

			if (d < 0)
				break;
			v[i] = v[i] << 4 | (unsigned long)d;
		}
		if (s == digits || s >= eol || *s != (i ? ' ' : '-'))
			return false;
		s++;
	}
	*start = v[0];
	*end = v[1];
	return true;
}

static inline void race_copy_line(struct race_line *out, const char *s,
				  const char *eol)
{
	size_t n = (size_t)(eol - s);

	if (n >= sizeof(out->text))
		n = sizeof(out->text) - 1;
	memcpy(out->text, s, n);
	out->text[n] = '\0';
}

/*
 * The first (@last false) or last VMA header line in one read()'s @n
 * bytes.  Every read() of maps and smaps ends at a line's end.
 */
static inline bool race_find_line(const char *buf, size_t n, bool last,
				  struct race_line *out)
{
	const char *s = buf, *end = buf + n;
	bool found = false;

	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		unsigned long a, b;

		if (!eol)
			break;
		if (race_parse_range(s, eol, &a, &b)) {
			race_copy_line(out, s, eol);
			out->start = a;
			out->end = b;
			found = true;
			if (!last)
				break;
		}
		s = eol + 1;
	}
	return found;
}

static inline bool race_line_eq(const struct race_line *a, const struct race_line *b)
{
	return !strcmp(a->text, b->text);
}

static inline bool race_boundary_eq(const struct race_boundary *a,
				    const struct race_boundary *b)
{
	return race_line_eq(&a->last, &b->last) && race_line_eq(&a->first, &b->first);
}

/* What one scenario's boundary looks like once modified and once restored. */
struct race_expect {
	struct race_boundary modified, restored;
};

enum race_seen {
	RACE_SEEN_RESTORED,
	RACE_SEEN_MODIFIED,
	RACE_SEEN_REPORTED_TWICE,	/* modified last line, then it grown back */
	RACE_SEEN_BAD,
};

static inline enum race_seen race_classify(const struct race_expect *e,
					   const struct race_boundary *seen)
{
	if (race_boundary_eq(seen, &e->restored))
		return RACE_SEEN_RESTORED;
	if (race_boundary_eq(seen, &e->modified))
		return RACE_SEEN_MODIFIED;
	if (!race_line_eq(&e->modified.last, &e->restored.last) &&
	    race_line_eq(&seen->last, &e->modified.last) &&
	    race_line_eq(&seen->first, &e->restored.last))
		return RACE_SEEN_REPORTED_TWICE;
	return RACE_SEEN_BAD;
}

/* How the boundary lines must differ between the modified and restored layouts. */
enum race_shape {
	RACE_BOTH_CHANGE,	/* split/merge, remap: both lines change */
	RACE_LAST_CHANGES,	/* shrink/expand: only the last line changes */
	RACE_NONE_CHANGES,	/* re-map in place: the layout stays */
};

/* One race: the change, its undoing, and how the boundary shows it. */
struct race_scenario {
	const char *name;
	bool (*modify)(void *ctx);
	bool (*restore)(void *ctx);
	enum race_shape shape;
};

struct race_ops {
	void *ctx;
	/* Read the file from the start up to the boundary; false on error. */
	bool (*read_boundary)(void *ctx, struct race_boundary *out);
	/* Change the VMA at the boundary, and put it back; false on error. */
	bool (*modify)(void *ctx);
	bool (*restore)(void *ctx);
	/* Optional: run by the modifier thread when it starts and ends. */
	void (*thread_start)(void *ctx);
	void (*thread_end)(void *ctx);
};

struct race_result {
	unsigned long long reads;	/* boundaries read while the modifier ran */
	unsigned long long seen[RACE_SEEN_BAD + 1];
	unsigned long long modifications;
	char error[1024];		/* why it failed, or "" */
	struct race_boundary bad;	/* the boundary that failed the check */
};

enum race_cmd { RACE_CMD_NONE, RACE_CMD_MODIFY, RACE_CMD_RESTORE };

struct race_modifier {
	const struct race_ops *ops;	/* the modifier's side: modify, restore */
	atomic_int run;			/* 1: loop, 0: pause, -1: exit */
	atomic_int cmd;			/* paused: one change to make (enum race_cmd) */
	atomic_int cmd_ok;
	atomic_uint cmd_done;
	atomic_uint pause_gen;		/* bumped by each race_modifier_pause() */
	atomic_uint paused_gen;		/* the modifier's answer: seen paused */
	atomic_int failed;
	atomic_ullong modifications;
};

/*
 * The modifier: modify and restore, back to back, while run is 1.  One
 * thread for every scenario, made before the layout is built, so that
 * its stack is not a new mapping in the middle of a run.
 */
static inline void *race_modifier_fn(void *arg)
{
	struct race_modifier *mod = arg;
	int run;

	if (mod->ops->thread_start)
		mod->ops->thread_start(mod->ops->ctx);
	while ((run = atomic_load(&mod->run)) >= 0) {
		if (!run) {
			struct timespec ts = { 0, 200000 };
			int cmd = atomic_exchange(&mod->cmd, RACE_CMD_NONE);

			if (cmd != RACE_CMD_NONE) {
				atomic_store(&mod->cmd_ok, cmd == RACE_CMD_MODIFY ?
					     mod->ops->modify(mod->ops->ctx) :
					     mod->ops->restore(mod->ops->ctx));
				atomic_fetch_add(&mod->cmd_done, 1);
			}
			/*
			 * A pause_gen read after run said 0 was bumped after
			 * run became 0, so the next read of run sees 0 too.
			 */
			atomic_store(&mod->paused_gen, atomic_load(&mod->pause_gen));
			nanosleep(&ts, NULL);
			continue;
		}
		if (!mod->ops->modify(mod->ops->ctx) || !mod->ops->restore(mod->ops->ctx)) {
			atomic_store(&mod->failed, 1);
			atomic_store(&mod->run, 0);
			continue;
		}
		atomic_fetch_add_explicit(&mod->modifications, 1, memory_order_relaxed);
	}
	if (mod->ops->thread_end)
		mod->ops->thread_end(mod->ops->ctx);
	return NULL;
}

/* Fields to zero before the modifier starts, thread or process. */
static inline void race_modifier_init(struct race_modifier *mod,
				      const struct race_ops *ops)
{
	mod->ops = ops;
	atomic_init(&mod->run, 0);
	atomic_init(&mod->cmd, RACE_CMD_NONE);
	atomic_init(&mod->cmd_ok, 0);
	atomic_init(&mod->cmd_done, 0);
	atomic_init(&mod->pause_gen, 0);
	atomic_init(&mod->paused_gen, 0);
	atomic_init(&mod->failed, 0);
	atomic_init(&mod->modifications, 0);
}

/* The modifier as a thread of this process, paused. */
static inline int race_modifier_start(struct race_modifier *mod,
				      const struct race_ops *ops, pthread_t *thread)
{
	race_modifier_init(mod, ops);
	return pthread_create(thread, NULL, race_modifier_fn, mod);
}

/* Stop the modifier between a restore and the next modify, and wait for it. */
static inline void race_modifier_pause(struct race_modifier *mod)
{
	struct timespec ts = { 0, 100000 };
	unsigned int gen;

	atomic_store(&mod->run, 0);
	gen = atomic_fetch_add(&mod->pause_gen, 1) + 1;
	while (atomic_load(&mod->paused_gen) != gen)
		nanosleep(&ts, NULL);
}

/*
 * Have the paused modifier make one change, and wait for it: for a
 * modifier in another process, whose mm only it may change.
 */
static inline bool race_modifier_call(struct race_modifier *mod, enum race_cmd cmd)
{
	struct timespec ts = { 0, 100000 };
	unsigned int done = atomic_load(&mod->cmd_done);
	int i;

	atomic_store(&mod->cmd, cmd);
	for (i = 0; i < 50000 && atomic_load(&mod->cmd_done) == done; i++)
		nanosleep(&ts, NULL);
	return atomic_load(&mod->cmd_done) != done && atomic_load(&mod->cmd_ok);
}

static inline void race_modifier_exit(struct race_modifier *mod, pthread_t thread)
{
	atomic_store(&mod->run, -1);
	pthread_join(thread, NULL);
}

static inline double race_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * One scenario: learn the modified and restored boundaries with the
 * modifier paused (@ops are the reader's side: its read_boundary, and
 * modify and restore as the reader makes them happen), then let it run for @seconds and check every boundary
 * read meanwhile; with @stop_at_bad, stop at the first bad one.  The
 * modifier must be paused on entry, with the layout restored; it is
 * paused again on return, after a restore.  Returns true if every
 * boundary was good.
 */
static inline bool race_run(struct race_modifier *mod, const struct race_ops *ops,
			    enum race_shape shape, double seconds, bool stop_at_bad,
			    struct race_result *res)
{
	struct race_expect e;
	struct race_boundary orig, seen;
	double deadline;

	memset(res, 0, sizeof(*res));
	if (!ops->read_boundary(ops->ctx, &orig) || !ops->modify(ops->ctx) ||
	    !ops->read_boundary(ops->ctx, &e.modified) || !ops->restore(ops->ctx) ||
	    !ops->read_boundary(ops->ctx, &e.restored)) {
		snprintf(res->error, sizeof(res->error), "setting up: a read or a change failed");
		return false;
	}
	if (!race_boundary_eq(&orig, &e.restored)) {
		snprintf(res->error, sizeof(res->error),
			 "restoring did not give back the layout: [%s | %s] then [%s | %s]",
			 orig.last.text, orig.first.text,
			 e.restored.last.text, e.restored.first.text);
		return false;
	}
	if ((race_line_eq(&e.modified.last, &e.restored.last) != (shape == RACE_NONE_CHANGES)) ||
	    (race_line_eq(&e.modified.first, &e.restored.first) != (shape != RACE_BOTH_CHANGE))) {
		snprintf(res->error, sizeof(res->error),
			 "the change is not at the boundary: modified [%s | %s], restored [%s | %s]",
			 e.modified.last.text, e.modified.first.text,
			 e.restored.last.text, e.restored.first.text);
		return false;
	}

	atomic_store(&mod->modifications, 0);
	atomic_store(&mod->run, 1);
	deadline = race_now() + seconds;
	do {
		enum race_seen what;

		if (!ops->read_boundary(ops->ctx, &seen)) {
			snprintf(res->error, sizeof(res->error), "a read failed");
			break;
		}
		res->reads++;
		what = race_classify(&e, &seen);
		res->seen[what]++;
		if (what == RACE_SEEN_BAD && !res->error[0]) {
			res->bad = seen;
			snprintf(res->error, sizeof(res->error),
				 "read [%s | %s]; modified is [%s | %s], restored [%s | %s]",
				 seen.last.text, seen.first.text,
				 e.modified.last.text, e.modified.first.text,
				 e.restored.last.text, e.restored.first.text);
			if (stop_at_bad)
				break;
		}
	} while (race_now() < deadline && !atomic_load(&mod->failed));
	race_modifier_pause(mod);
	res->modifications = atomic_load(&mod->modifications);
	if (atomic_load(&mod->failed) && !res->error[0])
		snprintf(res->error, sizeof(res->error), "a modification failed");
	return !res->error[0];
}

#endif
