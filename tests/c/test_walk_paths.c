// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The walkers' slow paths, each reached on purpose rather than by
 * scheduling luck: a per-VMA reader that meets a write-locked VMA falls
 * back to mmap_lock; the rollup drops mmap_lock for a waiting writer
 * (in the VMA design only once it has fallen back); and every walk still
 * shows the whole layout.
 *
 * The layout, 16 pages in three VMAs:
 *
 *   0    5    10   16
 *   |****-****-*****|
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "kernel/api.h"
#include "kernel/mm.h"
#include "kernel/mmap_lock.h"
#include "kernel/task_mmu.h"
#include "kernel/vma_tree.h"
#include "lock_test.h"

static struct mm_struct *three_vmas(void)
{
	struct mm_struct *mm = pv_mm_create(16, 1);

	pv_munmap(mm, 5, 1);
	pv_munmap(mm, 10, 1);
	return mm;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* A writer that write-locks the VMA at @page and holds it until released. */
struct vma_holder {
	struct mm_struct *mm;
	unsigned long page;
	atomic_int locked;
	atomic_int release;
};

static void *vma_holder_fn(void *arg)
{
	struct vma_holder *h = arg;

	pv_rcu_register_thread();
	mmap_write_lock(h->mm);
	vma_start_write(vma_lookup(h->mm, page_addr(h->mm, h->page)));
	atomic_store(&h->locked, 1);
	while (!atomic_load(&h->release))
		sleep_ms(1);
	mmap_write_unlock(h->mm);
	pv_rcu_unregister_thread();
	return NULL;
}

struct walk {
	struct mm_struct *mm;
	int procfile, lock;
	struct walk_observer *obs;
	struct pv_walk_stats stats;
	char text[16384];
	long n;
	atomic_int done;
};

static void *walk_fn(void *arg)
{
	struct walk *w = arg;

	pv_rcu_register_thread();
	w->n = proc_read_all(w->mm, w->procfile, w->lock, w->text, sizeof(w->text),
			     &w->stats, w->obs);
	atomic_store(&w->done, 1);
	pv_rcu_unregister_thread();
	return NULL;
}

/*
 * The first VMA is write-locked: a per-VMA reader of maps cannot lock
 * it, takes mmap_lock instead (and sleeps there, the writer holding it),
 * and once the writer is gone shows every VMA.
 */
static void test_vma_reader_falls_back_on_write_locked_vma(void)
{
	struct mm_struct *mm = three_vmas();
	struct vma_holder h = { .mm = mm, .page = 2 };
	struct walk w = { .mm = mm, .procfile = PV_PROC_MAPS, .lock = PV_LOCK_VMA };
	pthread_t th, tw;

	pthread_create(&th, NULL, vma_holder_fn, &h);
	CHECK(eventually(&h.locked));
	pthread_create(&tw, NULL, walk_fn, &w);
	/* Asleep on mmap_lock: it fell back. */
	CHECK(wait_for(rwsem_nr_waiters(&mm->mmap_lock) == 1));
	CHECK(!atomic_load(&w.done));
	atomic_store(&h.release, 1);
	CHECK(eventually(&w.done));
	pthread_join(th, NULL);
	pthread_join(tw, NULL);
	CHECK(w.n > 0 && count_lines(w.text) == 3);
	CHECK(w.stats.fallbacks == 1 && w.stats.drops == 0);
	pv_mm_destroy(mm);
	passes++;
}

/*
 * An observer that, at the rollup's first VMA (mmap_lock held), starts a
 * writer and lets it queue and wait past RWSEM_WAIT_TIMEOUT; at the
 * second, the drop after the first having woken the writer, waits until
 * the writer has claimed the handoff (or got in); at the third notes
 * whether the writer got in between.
 */
struct drop_obs {
	struct walk_observer obs;
	struct lock_task writer;
	pthread_t thread;
	int shown;
	int writer_went_first;
	int writer_started;
};

static void drop_obs_vma_shown(struct walk_observer *obs, unsigned long start,
			       unsigned long end, unsigned long walk_from,
			       unsigned int gen_before, unsigned int gen_after)
{
	struct drop_obs *d = container_of(obs, struct drop_obs, obs);
	struct rw_semaphore *sem = &d->writer.mm->mmap_lock;

	(void)start, (void)end, (void)walk_from, (void)gen_before, (void)gen_after;
	if (d->shown++ == 0) {
		/* It lets go as soon as it has the lock. */
		atomic_store(&d->writer.release, 1);
		d->writer_started = !pthread_create(&d->thread, NULL, lock_task_fn,
						    &d->writer);
		if (d->writer_started && wait_for(rwsem_is_contended(sem)))
			sleep_ms(20);	/* RWSEM_WAIT_TIMEOUT is 4 to 8 ms */
	} else if (d->shown == 2) {
		wait_for((atomic_load(&sem->count) & RWSEM_FLAG_HANDOFF) ||
			 atomic_load(&d->writer.acquired));
	} else if (d->shown == 3) {
		d->writer_went_first = atomic_load(&d->writer.acquired);
	}
}

/* The mmap design: the rollup polls for a waiting writer and lets it in. */
static void test_rollup_drops_lock_for_waiting_writer(void)
{
	struct mm_struct *mm = three_vmas();
	struct drop_obs d = {
		.obs.vma_shown = drop_obs_vma_shown,
		.writer = { .mm = mm, .write = 1 },
	};
	struct pv_walk_stats stats = { 0 };
	char text[4096];

	CHECK(proc_read_all(mm, PV_PROC_SMAPS_ROLLUP, PV_LOCK_MMAP, text, sizeof(text),
			    &stats, &d.obs) > 0);
	if (d.writer_started)
		pthread_join(d.thread, NULL);
	CHECK(d.writer_started && d.shown == 3);
	/*
	 * A drop after VMA 1 and, the kernel's loop counting VMAs 2 and 3 in
	 * the hold after the retake, one after VMA 3: by then the writer has
	 * claimed the handoff and gets in first, if it did not already at
	 * the first drop (then nobody waits after VMA 3).  Never more.
	 */
	CHECK(stats.drops >= 1 && stats.drops <= 2);
	CHECK(atomic_load(&d.writer.acquired));
	CHECK(strstr(text, "Rss:                  56 kB"));	/* 14 pages, all counted */
	pv_mm_destroy(mm);
	passes++;
}

/*
 * The VMA design, the seed patch's rule: on per-VMA locks the rollup
 * does not look at mmap_lock, however contended; a reader holding it with
 * a writer queued behind does not slow the walk.
 */
static void test_vma_rollup_ignores_contention_without_fallback(void)
{
	struct mm_struct *mm = three_vmas();
	struct lock_task reader = { .mm = mm }, writer = { .mm = mm, .write = 1 };
	struct pv_walk_stats stats = { 0 };
	pthread_t tr, tw;
	char text[4096];

	pthread_create(&tr, NULL, lock_task_fn, &reader);
	CHECK(eventually(&reader.acquired));
	pthread_create(&tw, NULL, lock_task_fn, &writer);
	CHECK(wait_for(mmap_lock_is_contended(mm)));

	CHECK(proc_read_all(mm, PV_PROC_SMAPS_ROLLUP, PV_LOCK_VMA, text, sizeof(text),
			    &stats, NULL) > 0);
	CHECK(stats.fallbacks == 0 && stats.drops == 0);
	CHECK(strstr(text, "Rss:                  56 kB"));
	atomic_store(&writer.release, 1);
	atomic_store(&reader.release, 1);
	pthread_join(tr, NULL);
	pthread_join(tw, NULL);
	pv_mm_destroy(mm);
	passes++;
}

/*
 * The VMA design after a fallback: the rollup that had to take mmap_lock
 * for a write-locked VMA keeps it and now polls it, and drops it for a
 * waiting writer.
 */
static void test_vma_rollup_drops_after_fallback(void)
{
	struct mm_struct *mm = three_vmas();
	struct vma_holder h = { .mm = mm, .page = 2 };
	struct drop_obs d = {
		.obs.vma_shown = drop_obs_vma_shown,
		.writer = { .mm = mm, .write = 1 },
	};
	struct walk w = { .mm = mm, .procfile = PV_PROC_SMAPS_ROLLUP,
			  .lock = PV_LOCK_VMA, .obs = &d.obs };
	pthread_t th, tw;

	pthread_create(&th, NULL, vma_holder_fn, &h);
	CHECK(eventually(&h.locked));
	pthread_create(&tw, NULL, walk_fn, &w);
	CHECK(wait_for(rwsem_nr_waiters(&mm->mmap_lock) == 1));
	atomic_store(&h.release, 1);
	CHECK(eventually(&w.done));
	pthread_join(th, NULL);
	pthread_join(tw, NULL);
	if (d.writer_started)
		pthread_join(d.thread, NULL);
	CHECK(w.n > 0 && d.writer_started);
	CHECK(w.stats.fallbacks >= 1 && w.stats.drops >= 1);
	CHECK(strstr(w.text, "Rss:                  56 kB"));
	pv_mm_destroy(mm);
	passes++;
}

/*
 * The loop of the kernel before per-VMA rollups: after each retake it
 * counts the VMA it finds and the next one before it looks at the lock
 * again, so a writer queued throughout sees a drop every two VMAs; the
 * seed's loop (the VMA design, after a fallback) drops after every one.
 * The queued writer is the bit alone, so no wake-up can let it in.
 */
static void test_mmap_rollup_drops_every_two_vmas(void)
{
	struct mm_struct *mm = pv_mm_create(64, 1);
	struct pv_walk_stats stats = { 0 };
	unsigned long i;
	char text[4096];

	for (i = 1; i < 8; i++)
		pv_munmap(mm, i * 8, 1);			/* 8 VMAs */
	atomic_fetch_or(&mm->mmap_lock.count, RWSEM_FLAG_WAITERS);
	CHECK(mmap_lock_is_contended(mm));
	CHECK(proc_read_all(mm, PV_PROC_SMAPS_ROLLUP, PV_LOCK_MMAP, text, sizeof(text),
			    &stats, NULL) > 0);
	CHECK(stats.vmas == 8);
	CHECK(stats.drops == 4);
	CHECK(strstr(text, "Rss:                 228 kB"));	/* 57 pages, once each */
	atomic_fetch_and(&mm->mmap_lock.count, ~RWSEM_FLAG_WAITERS);
	CHECK(atomic_load(&mm->mmap_lock.count) == 0);
	pv_mm_destroy(mm);
	passes++;
}

int main(void)
{
	pv_rcu_register_thread();
	test_vma_reader_falls_back_on_write_locked_vma();
	test_rollup_drops_lock_for_waiting_writer();
	test_vma_rollup_ignores_contention_without_fallback();
	test_vma_rollup_drops_after_fallback();
	test_mmap_rollup_drops_every_two_vmas();
	pv_rcu_unregister_thread();
	printf("test_walk_paths: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
