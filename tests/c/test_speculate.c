// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --lock speculate, each behaviour reached on purpose: a page read under
 * RCU alone goes out when no writer came; a write anywhere in the mm,
 * even far from every VMA the page shows, has the page made again; a
 * held write lock, or a page refused too often, sends the read() to the
 * mmap read lock; and the design reads maps alone.
 *
 * The writes happen between the fill of a page and its check, from the
 * reader's own thread (walk_observer's page_filled()): the speculating
 * reader holds no lock then, so it can take the write lock itself, which
 * is the very point of the design.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/api.h"
#include "kernel/mm.h"
#include "kernel/mmap_lock.h"
#include "kernel/task_mmu.h"
#include "kernel/vma_tree.h"
#include "lock_test.h"

/*
 * 16 pages in three VMAs:
 *
 *   0    5    10   16
 *   |****-****-*****|
 */
static struct mm_struct *three_vmas(void)
{
	struct mm_struct *mm = pv_mm_create(16, 1);

	pv_munmap(mm, 5, 1);
	pv_munmap(mm, 10, 1);
	return mm;
}

static int count_lines(const char *s, size_t n)
{
	int lines = 0;

	for (; n; n--, s++)
		lines += *s == '\n';
	return lines;
}

/*
 * A reader of maps through the file API, with an observer that counts
 * the pages filled and the VMAs reported, and runs @on_fill between the
 * fill of a page and its check while armed.
 */
struct reader {
	struct walk_observer obs;
	struct proc_maps_file *f;
	struct mm_struct *mm;
	struct pv_walk_stats stats;
	int armed;
	int fills;
	int shown;
	void (*on_fill)(struct reader *r);
};

static void reader_page_filled(struct walk_observer *obs)
{
	struct reader *r = container_of(obs, struct reader, obs);

	r->fills++;
	if (r->armed && r->on_fill)
		r->on_fill(r);
}

static void reader_vma_shown(struct walk_observer *obs, unsigned long start,
			     unsigned long end, unsigned long walk_from,
			     unsigned int gen_before, unsigned int gen_after)
{
	struct reader *r = container_of(obs, struct reader, obs);

	(void)start, (void)end, (void)walk_from, (void)gen_before, (void)gen_after;
	r->shown++;
}

/* The first read() of maps in design @lock, into @buf of PAGE_SIZE bytes. */
static long first_page(struct mm_struct *mm, int lock, char *buf)
{
	struct proc_maps_file *f = malloc(sizeof(*f));
	long n;

	if (!f || proc_maps_open(f, mm, PV_PROC_MAPS, lock, NULL, NULL)) {
		free(f);
		return -1;
	}
	n = proc_maps_read(f);
	if (n > 0)
		memcpy(buf, f->m.buf, n);
	proc_maps_release(f);
	free(f);
	return n;
}

/* The address the last of @n bytes of maps lines starts with. */
static unsigned long last_line_start(const char *s, long n)
{
	long i = n - 1;

	while (i > 0 && s[i - 1] != '\n')
		i--;
	return strtoul(s + i, NULL, 16);
}

static int reader_open(struct reader *r, struct mm_struct *mm, int procfile)
{
	r->mm = mm;
	r->obs.page_filled = reader_page_filled;
	r->obs.vma_shown = reader_vma_shown;
	r->f = malloc(sizeof(*r->f));
	if (!r->f)
		return -ENOMEM;
	return proc_maps_open(r->f, mm, procfile, PV_LOCK_SPECULATE, &r->stats, &r->obs);
}

static void reader_close(struct reader *r)
{
	proc_maps_release(r->f);
	free(r->f);
}

/*
 *   0    5    10   16
 *   |****-****-*****|    no writer comes
 *
 * The one page is read under RCU alone and goes out as filled: the very
 * text the mmap design reads, no retry, no fallback, and not one
 * acquisition of the mmap read lock.
 */
static void test_speculation_succeeds_with_no_writer(void)
{
	struct mm_struct *mm = three_vmas();
	static char spec[4096], locked[4096];
	struct pv_walk_stats stats = { 0 };
	struct pv_lock_stat ls = { 0 };
	long n;

	pv_lock_stat_attach(&ls);
	n = pv_proc_read_all(mm, PV_PROC_MAPS, PV_LOCK_SPECULATE, spec, sizeof(spec),
			     &stats);
	pv_lock_stat_attach(NULL);
	CHECK(n > 0 && count_lines(spec, n) == 3);
	CHECK(ls.read_locks == 0);
	CHECK(stats.retries == 0 && stats.fallbacks == 0);
	CHECK(stats.reads == 2 && stats.walks == 1);	/* the page, then EOF */
	CHECK(pv_proc_read_all(mm, PV_PROC_MAPS, PV_LOCK_MMAP, locked, sizeof(locked),
			       NULL) == n);
	CHECK(!strcmp(spec, locked));
	pv_mm_destroy(mm);
	passes++;
}

/* Unmap the last VMA, a page far past any the first page shows. */
static void unmap_far_vma(struct reader *r)
{
	r->armed = 0;
	pv_munmap(r->mm, 510, 1);
}

/*
 * 512 pages, every other one a hole: 256 one-page VMAs, more than a page
 * of maps lines (49 bytes each, 83 to a page).
 *
 *   0 1 2 3 4 5          510 511
 *   |*-*-*-*-*-* ...... -*-|
 *   |<- the first page ->|
 *
 * While the first page is filled, the last VMA goes, far past it:
 *
 *   |*-*-*-*-*-* ...... ---|
 *
 * No VMA the page shows changed, yet the page is thrown away and made
 * again: mm_lock_seq is the whole mm's.  What goes out is the page as it
 * was, and the observer hears of its VMAs once.
 */
static void test_any_write_forces_a_retry(void)
{
	struct mm_struct *mm = pv_mm_create(512, 1);
	static char first[PAGE_SIZE];
	struct reader r = { .on_fill = unmap_far_vma, .armed = 1 };
	unsigned long p, last_start;
	long n;
	int lines;

	for (p = 1; p < 512; p += 2)
		pv_munmap(mm, p, 1);
	/* The first page under mmap_lock, before any write. */
	n = first_page(mm, PV_LOCK_MMAP, first);
	CHECK(n > 0);
	lines = count_lines(first, n);
	last_start = last_line_start(first, n);
	CHECK(last_start < page_addr(mm, 508));		/* the write is not in it */

	CHECK(reader_open(&r, mm, PV_PROC_MAPS) == 0);
	CHECK(proc_maps_read(r.f) == n);
	CHECK(!memcmp(r.f->m.buf, first, n));
	CHECK(r.fills == 2);
	CHECK(r.stats.retries == 1 && r.stats.fallbacks == 0);
	CHECK(r.shown == lines);			/* not 2 * lines */
	CHECK(vma_lookup(mm, page_addr(mm, 510)) == NULL);
	reader_close(&r);
	pv_mm_destroy(mm);
	passes++;
}

struct walk {
	struct mm_struct *mm;
	struct pv_walk_stats stats;
	char text[4096];
	long n;
	atomic_int done;
};

static void *walk_fn(void *arg)
{
	struct walk *w = arg;

	pv_rcu_register_thread();
	w->n = pv_proc_read_all(w->mm, PV_PROC_MAPS, PV_LOCK_SPECULATE, w->text,
				sizeof(w->text), &w->stats);
	atomic_store(&w->done, 1);
	pv_rcu_unregister_thread();
	return NULL;
}

/*
 *   0    5    10   16
 *   |****-****-*****|    a writer holds the mmap write lock
 *
 * mm_lock_seq is odd: speculation cannot begin, and the read() takes the
 * mmap read lock instead, asleep there until the writer is gone.  The
 * EOF read() after it speculates again, and succeeds.
 */
static void test_held_write_lock_sends_reader_to_mmap_lock(void)
{
	struct mm_struct *mm = three_vmas();
	struct lock_task writer = { .mm = mm, .write = 1 };
	struct walk w = { .mm = mm };
	pthread_t tw, tr;

	pthread_create(&tw, NULL, lock_task_fn, &writer);
	CHECK(eventually(&writer.acquired));
	CHECK(mmap_lock_is_write_locked(mm));
	pthread_create(&tr, NULL, walk_fn, &w);
	/* Asleep on mmap_lock: it fell back. */
	CHECK(wait_for(rwsem_nr_waiters(&mm->mmap_lock) == 1));
	CHECK(!atomic_load(&w.done));
	atomic_store(&writer.release, 1);
	CHECK(eventually(&w.done));
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	CHECK(w.n > 0 && count_lines(w.text, w.n) == 3);
	CHECK(w.stats.fallbacks == 1 && w.stats.retries == 0);
	pv_mm_destroy(mm);
	passes++;
}

/* Re-map page 15 in place: a write that leaves the layout as it was. */
static void remap_in_place(struct reader *r)
{
	/* Filled under the fallback's read lock: a write would wait for us. */
	if (r->f->priv.lock_ctx.mmap_locked)
		return;
	pv_mmap_fixed_populate(r->mm, 15, 1);
}

/*
 *   0    5    10   16
 *   |****-****-*****|    page 15 re-mapped in place under every try
 *
 * Every speculative filling of the page is refused, up to the design's
 * bound (SPECULATE_MAX_RETRIES, 3); the next is made under the mmap read
 * lock, where no write can come, and goes out.
 */
static void test_too_many_retries_fall_back_to_mmap_lock(void)
{
	struct mm_struct *mm = three_vmas();
	struct reader r = { .on_fill = remap_in_place, .armed = 1 };
	long n;

	CHECK(reader_open(&r, mm, PV_PROC_MAPS) == 0);
	n = proc_maps_read(r.f);
	CHECK(n > 0 && count_lines(r.f->m.buf, n) == 3);
	CHECK(r.stats.retries == 3);
	CHECK(r.stats.fallbacks == 1);
	CHECK(r.fills == 4);
	CHECK(r.shown == 3);
	r.armed = 0;
	CHECK(proc_maps_read(r.f) == 0);		/* EOF, speculating again */
	CHECK(r.stats.fallbacks == 1 && r.stats.retries == 3);
	reader_close(&r);
	pv_mm_destroy(mm);
	passes++;
}

/*
 * smaps, numa_maps and smaps_rollup walk page tables, which is not
 * RCU-safe; PROCMAP_QUERY is not this design's: all refused with
 * -EOPNOTSUPP, before anything is read.  An unknown design is -EINVAL.
 */
static void test_speculate_reads_maps_alone(void)
{
	static const int others[] = {
		PV_PROC_SMAPS, PV_PROC_SMAPS_ROLLUP, PV_PROC_NUMA_MAPS,
	};
	struct mm_struct *mm = three_vmas();
	struct proc_maps_file *f = malloc(sizeof(*f));
	struct pv_procmap_query q = { .size = sizeof(q) };
	struct pv_walk_stats stats = { 0 };
	char buf[64];
	size_t i;

	CHECK(f);
	CHECK(pv_lock_check(PV_LOCK_SPECULATE, PV_PROC_MAPS) == 0);
	for (i = 0; i < ARRAY_SIZE(others); i++) {
		CHECK(pv_lock_check(PV_LOCK_SPECULATE, others[i]) == -EOPNOTSUPP);
		CHECK(proc_maps_open(f, mm, others[i], PV_LOCK_SPECULATE, &stats,
				     NULL) == -EOPNOTSUPP);
		CHECK(pv_proc_read_all(mm, others[i], PV_LOCK_SPECULATE, buf,
				       sizeof(buf), &stats) == -EOPNOTSUPP);
	}
	CHECK(pv_lock_check_query(PV_LOCK_SPECULATE) == -EOPNOTSUPP);
	CHECK(pv_procmap_query(mm, PV_LOCK_SPECULATE, &q, &stats) == -EOPNOTSUPP);
	CHECK(pv_procmap_query_walk(mm, PV_LOCK_SPECULATE, &stats) == -EOPNOTSUPP);
	CHECK(stats.reads == 0 && stats.walks == 0);

	CHECK(proc_maps_open(f, mm, PV_PROC_MAPS, PV_NR_LOCKS, NULL, NULL) == -EINVAL);
	CHECK(proc_maps_open(f, mm, PV_PROC_MAPS, -1, NULL, NULL) == -EINVAL);
	CHECK(pv_lock_check(PV_NR_LOCKS, PV_PROC_MAPS) == -EINVAL);
	CHECK(pv_lock_check(PV_LOCK_SPECULATE, 4) == -EINVAL);
	CHECK(pv_lock_lookup("speculate") == PV_LOCK_SPECULATE);
	CHECK(!strcmp(pv_lock_name(PV_LOCK_SPECULATE), "speculate"));
	CHECK(pv_lock_name(PV_NR_LOCKS) == NULL);
	free(f);
	pv_mm_destroy(mm);
	passes++;
}

int main(void)
{
	pv_rcu_register_thread();
	test_speculation_succeeds_with_no_writer();
	test_any_write_forces_a_retry();
	test_held_write_lock_sends_reader_to_mmap_lock();
	test_too_many_retries_fall_back_to_mmap_lock();
	test_speculate_reads_maps_alone();
	pv_rcu_unregister_thread();
	printf("test_speculate: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
