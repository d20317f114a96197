// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * procvma torture: the simulated mm hammered with invariant checks on, in
 * the spirit of the kernel's locktorture and rcutorture.
 *
 * Writers (one or more threads contending for the one mmap write lock)
 * churn the region with single- and multi-page mmap()/munmap(), and in
 * alternate "conserving" phases only re-map populated pages in place,
 * which leaves the populated pages and the VMA layout exactly as they
 * were.  Every writer op is checked against a shadow bitmap of the
 * populated pages, which the writers keep under the mmap write lock.
 *
 * Readers walk every selected procfile in every selected design with a
 * walk_observer (task_mmu.h) that checks, at every walk:
 *
 *  - every VMA is non-empty and inside the region, and each ends above the
 *    one before (maps, smaps, numa_maps): the walk's position never goes
 *    backwards.
 *    A VMA may start below the previous one's end only because it grew
 *    back across the reader's resume point, and is then shown again;
 *  - nothing is lost (Documentation/filesystems/proc.rst): every page
 *    that stayed populated for the whole walk is in a VMA the walk
 *    reported (for the rollup: in a range it accounted).  A page re-mapped
 *    in place stayed populated: the writer replaced it within one write
 *    cycle, which a reader must never see as a hole;
 *  - no page is counted twice: each VMA the rollup accounts is accounted
 *    from at or after the end of the previous one;
 *  - a VMA held under its lock never changes while held: its change stamp
 *    is the same before and after, the text shows the range the walker
 *    got, and its page walk finds exactly its pages (every page of a VMA
 *    is populated: MAP_POPULATE, and nothing here swaps);
 *  - during a conserving phase the totals are exact: the rollup's Rss is
 *    the number of populated pages, maps and smaps show the very layout.
 *
 * At the end, with every task joined: mmap_lock free, every VMA attached
 * with vm_refcnt == 1 and not write-locked, the tree matching the shadow
 * page for page, and, after rcu_barrier(), every VMA either in the tree
 * or back in the pool exactly once; every page either mapped once or free.
 *
 * None of the checks depends on timing: a slow or preempted thread only
 * makes fewer walks, never a false violation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/api.h"
#include "kernel/compiler.h"
#include "kernel/ktime.h"
#include "kernel/mm.h"
#include "kernel/mmap_lock.h"
#include "kernel/random.h"
#include "kernel/task_mmu.h"
#include "kernel/vma_tree.h"
#include "api.h"

#define NPROCFILES	4
/* Longest multi-page op, in pages. */
#define MAX_OP_PAGES	16
/* Room per VMA in a reader's text buffer: an smaps block is ~700 bytes. */
#define TEXT_PER_VMA	1024

/*
 * pv_torture_stop(): Ctrl-C from the CLI.  Sticky until
 * pv_torture_reset_stop(), so that a Ctrl-C that lands before a run
 * starts still stops it.
 */
static atomic_int torture_stop_requested;

struct torture_run;

/* A VMA a walk reported: its range, and from where it was accounted. */
struct shown_range {
	unsigned long start, end, from;
};

struct torture_reader {
	alignas(64) struct torture_run *run;
	int id;
	pthread_t thread;
	int created;

	/* The walk in progress: which file, which design, what it saw. */
	struct walk_observer obs;
	int lock, procfile;
	unsigned long prev_end;		/* end of the last VMA reported */
	unsigned long long accounted;	/* bytes the rollup says it walked */
	struct shown_range *shown;
	unsigned long nshown, shown_cap;
	struct mem_size_stats rollup;
	bool rollup_seen;
	unsigned char *covered;		/* region pages the walk reported */

	char *buf;
	unsigned long buflen;

	unsigned long long walks[PV_NR_LOCKS][NPROCFILES];
	unsigned long long conserving_checks;
	unsigned long long coverage_checks, coverage_pages;
	struct pv_walk_stats stats[PV_NR_LOCKS];
};

struct torture_writer {
	alignas(64) struct torture_run *run;
	int id;
	pthread_t thread;
	int created;
	uint64_t rand_state;
};

struct torture_run {
	const struct pv_torture_config *cfg;
	struct mm_struct *mm;
	atomic_int stop;

	/*
	 * The writers' shadow of the mm, changed only under the mmap write
	 * lock: which region pages are populated, how many, and the op
	 * counts.
	 */
	unsigned char *populated;
	unsigned long npopulated;
	unsigned long long maps, unmaps, remaps, enomem;
	uint64_t phase_deadline_ns;

	/*
	 * Writer ops are numbered from 1; changed_at[p] is the op that last
	 * turned page p's populated bit over.  ops_done is the last op
	 * finished, published with a release store; with an acquire load
	 * of it before a walk, a reader knows that every op up to it
	 * happened before the walk began.
	 */
	unsigned long long *changed_at;
	unsigned long long op_seq;
	atomic_ullong ops_done;

	/*
	 * Phase epoch: even while writers churn, odd while they only
	 * re-map in place.  Written under the mmap write lock, read by
	 * readers around a walk like a seqcount: conserve_pages and
	 * conserve_vmas are the layout every walk in that epoch must see.
	 */
	alignas(64) atomic_ulong epoch;
	atomic_ulong conserve_pages;
	atomic_ulong conserve_vmas;

	alignas(64) atomic_ullong violations;
	pthread_mutex_t msg_lock;
	struct pv_torture_result *out;
};


static bool stopping(struct torture_run *run)
{
	/* Bare flags: nothing is published with them. */
	return atomic_load_explicit(&run->stop, memory_order_relaxed) ||
	       atomic_load_explicit(&torture_stop_requested, memory_order_relaxed);
}

/* ---- violations ---------------------------------------------------------- */

static void violation(struct torture_run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Count a violation and keep the text of the first few.  May be called
 * with mm locks held (from an observer): the message lock nests inside
 * everything and nothing is taken under it.
 */
static void violation(struct torture_run *run, const char *fmt, ...)
{
	struct pv_torture_result *out = run->out;
	unsigned long long n = atomic_fetch_add(&run->violations, 1) + 1;
	va_list ap;

	if (n <= ARRAY_SIZE(out->messages)) {
		pthread_mutex_lock(&run->msg_lock);
		if (out->nmessages < (int)ARRAY_SIZE(out->messages)) {
			va_start(ap, fmt);
			vsnprintf(out->messages[out->nmessages], sizeof(out->messages[0]),
				  fmt, ap);
			va_end(ap);
			out->nmessages++;
		}
		pthread_mutex_unlock(&run->msg_lock);
	}
	if (run->cfg->stop_after && n >= run->cfg->stop_after)
		atomic_store(&run->stop, 1);
}

/* Region page number of an address, for messages people can read. */
static long pg(const struct torture_run *run, unsigned long addr)
{
	return (long)(addr - run->mm->region_start) / (long)PAGE_SIZE;
}

/* ---- the writers' side ----------------------------------------------------- */

/*
 * Compare the tree with the shadow over region pages [lo, hi), widened to
 * whole VMAs: each VMA must cover populated pages only and be maximal
 * (anonymous neighbours always merge here, so no two VMAs touch), and
 * every populated page must be covered.  mmap write lock held, or every
 * task joined.  Returns the number of VMAs met.
 */
static unsigned long check_tree_range(struct torture_run *run, unsigned long lo,
				      unsigned long hi, const char *after)
{
	struct mm_struct *mm = run->mm;
	unsigned long p = lo, nvmas = 0;
	struct vm_area_struct *vma = vma_find(mm, page_addr(mm, lo));

	for (; vma && vma->vm_start < page_addr(mm, hi); vma = vma_next_of(vma)) {
		unsigned long s = addr_page(mm, vma->vm_start);
		unsigned long e = addr_page(mm, vma->vm_end);
		unsigned long q;

		nvmas++;
		if (vma->vm_start < mm->region_start || e > mm->region_pages || s >= e) {
			violation(run, "%s: VMA [%ld, %ld) is empty or outside the region",
				  after, pg(run, vma->vm_start), pg(run, vma->vm_end));
			return nvmas;
		}
		if (s < p)
			p = s;		/* widened to the VMA's start */
		for (; p < s; p++)
			if (run->populated[p]) {
				violation(run, "%s: populated page %lu has no VMA", after, p);
				return nvmas;
			}
		for (q = s; q < e; q++)
			if (!run->populated[q]) {
				violation(run, "%s: VMA [%lu, %lu) covers unpopulated page %lu",
					  after, s, e, q);
				return nvmas;
			}
		if ((s > 0 && run->populated[s - 1]) ||
		    (e < mm->region_pages && run->populated[e])) {
			violation(run, "%s: VMA [%lu, %lu) is not merged with its neighbour",
				  after, s, e);
			return nvmas;
		}
		p = e;
	}
	for (; p < hi; p++)
		if (run->populated[p]) {
			violation(run, "%s: populated page %lu has no VMA", after, p);
			break;
		}
	return nvmas;
}

/* Populated runs in the shadow: the VMA count the layout must have. */
static unsigned long shadow_runs(const struct torture_run *run)
{
	unsigned long p, runs = 0;

	for (p = 0; p < run->mm->region_pages; p++)
		runs += run->populated[p] && (p == 0 || !run->populated[p - 1]);
	return runs;
}

/*
 * Flip between churning and conserving once the phase is over.  mmap
 * write lock held, so no op of the old phase can land after the switch.
 */
static void maybe_switch_phase(struct torture_run *run)
{
	uint64_t now = ktime_get_ns();
	unsigned long epoch;

	if (now < run->phase_deadline_ns)
		return;
	run->phase_deadline_ns = now + (uint64_t)(run->cfg->phase_ms * 1e6);
	epoch = atomic_load_explicit(&run->epoch, memory_order_relaxed) + 1;
	if (epoch & 1) {
		atomic_store_explicit(&run->conserve_pages, run->npopulated,
				      memory_order_relaxed);
		atomic_store_explicit(&run->conserve_vmas, shadow_runs(run),
				      memory_order_relaxed);
	}
	/*
	 * Release: the totals above, and every op of the old phase, are
	 * visible to a reader that sees the new epoch (its acquire load in
	 * reader_walk()).  The fence orders the epoch before every op of the
	 * new phase, so a reader that saw one of those ops sees the new
	 * epoch after its own acquire fence: the seqcount pairing.
	 */
	atomic_store_explicit(&run->epoch, epoch, memory_order_release);
	atomic_thread_fence(memory_order_release);
}

/* Record op number op_seq + 1 turning pages [p, p + n) to @val. */
static void shadow_set(struct torture_run *run, unsigned long p, unsigned long n,
		       unsigned char val)
{
	unsigned long i;

	for (i = p; i < p + n; i++) {
		if (run->populated[i] == val)
			continue;
		run->npopulated += (long)val - (long)run->populated[i];
		run->populated[i] = val;
		run->changed_at[i] = run->op_seq + 1;
	}
}

/*
 * The op is done.  Release: its shadow changes, and its changes to the
 * mm, happen before a reader's acquire load that sees it (reader_walk()).
 */
static void op_done(struct torture_run *run)
{
	atomic_store_explicit(&run->ops_done, ++run->op_seq, memory_order_release);
}

/* One churn op: 1 page, or up to MAX_OP_PAGES a quarter of the time. */
static void writer_churn(struct torture_writer *w)
{
	struct torture_run *run = w->run;
	struct mm_struct *mm = run->mm;
	unsigned long n = prandom_below(&w->rand_state, 4) ? 1 :
			  2 + prandom_below(&w->rand_state, MAX_OP_PAGES - 1);
	unsigned long p = prandom_below(&w->rand_state, mm->region_pages - n + 1);
	bool map = prandom_u64_state(&w->rand_state) >> 63;
	unsigned long count_before = mm->map_count;
	char what[64];
	int err;

	if (map)
		err = do_mmap_fixed_populate(mm, page_addr(mm, p), page_addr(mm, p + n));
	else
		err = do_munmap(mm, page_addr(mm, p), page_addr(mm, p + n));
	snprintf(what, sizeof(what), "after %s(%lu, %lu)%s",
		 map ? "mmap" : "munmap", p, n, err ? " = ENOMEM" : "");
	if (err == -ENOMEM) {
		/* vm.max_map_count: the mm must be as it was. */
		run->enomem++;
		if (mm->map_count != count_before)
			violation(run, "%s: map_count %lu, was %lu", what,
				  mm->map_count, count_before);
	} else if (err) {
		violation(run, "%s: error %d", what, err);
	} else {
		shadow_set(run, p, n, map);
		if (map)
			run->maps++;
		else
			run->unmaps++;
	}
	check_tree_range(run, p ? p - 1 : 0,
			 p + n < mm->region_pages ? p + n + 1 : p + n, what);
}

/*
 * One conserving op: re-map up to 8 populated pages in place.  The VMA
 * is split and merged back, its pages freed and new ones populated, and
 * yet the layout and the page count end as they were.
 */
static void writer_conserve(struct torture_writer *w)
{
	struct torture_run *run = w->run;
	struct mm_struct *mm = run->mm;
	unsigned long p = prandom_below(&w->rand_state, mm->region_pages);
	unsigned long want = 1 + prandom_below(&w->rand_state, 8), n = 0;
	unsigned long count_before = mm->map_count;
	char what[64];
	int err;

	while (p < mm->region_pages && !run->populated[p])
		p++;
	while (p + n < mm->region_pages && n < want && run->populated[p + n])
		n++;
	if (!n)
		return;
	err = do_mmap_fixed_populate(mm, page_addr(mm, p), page_addr(mm, p + n));
	snprintf(what, sizeof(what), "after re-mapping [%lu, %lu) in place", p, p + n);
	if (err)
		violation(run, "%s: error %d", what, err);
	else if (mm->map_count != count_before)
		violation(run, "%s: map_count %lu, was %lu", what, mm->map_count,
			  count_before);
	run->remaps++;
	check_tree_range(run, p ? p - 1 : 0,
			 p + n < mm->region_pages ? p + n + 1 : p + n, what);
}

/*
 * No pause between ops: the writers want the lock as often as they can,
 * so readers meet write-locked VMAs (fallbacks) and waiting writers
 * (drops) all the time.
 */
static void *writer_fn(void *arg)
{
	struct torture_writer *w = arg;
	struct torture_run *run = w->run;
	struct mm_struct *mm = run->mm;

	pv_rcu_register_thread();
	while (!stopping(run)) {
		mmap_write_lock(mm);
		maybe_switch_phase(run);
		if (atomic_load_explicit(&run->epoch, memory_order_relaxed) & 1)
			writer_conserve(w);
		else
			writer_churn(w);
		op_done(run);
		mmap_write_unlock(mm);
	}
	pv_rcu_unregister_thread();
	return NULL;
}

/* ---- the readers' side: the observer ------------------------------------- */

static void obs_walk_begin(struct walk_observer *obs)
{
	struct torture_reader *r = container_of(obs, struct torture_reader, obs);

	r->prev_end = 0;
	r->accounted = 0;
	r->nshown = 0;
	r->rollup_seen = false;
}

/* Called with the VMA still held: cheap checks and a record, no more. */
static void obs_vma_shown(struct walk_observer *obs, unsigned long start,
			  unsigned long end, unsigned long walk_from,
			  unsigned int gen_before, unsigned int gen_after)
{
	struct torture_reader *r = container_of(obs, struct torture_reader, obs);
	struct torture_run *run = r->run;
	struct mm_struct *mm = run->mm;
	const char *how = pv_lock_name(r->lock), *file = pv_procfile_name(r->procfile);

	if (start < mm->region_start || start >= end ||
	    end > page_addr(mm, mm->region_pages)) {
		violation(run, "%s/%s: VMA [%ld, %ld) is empty or outside the region",
			  how, file, pg(run, start), pg(run, end));
		return;
	}
	if (gen_before != gen_after)
		violation(run, "%s/%s: VMA [%ld, %ld) changed while held (stamp %u -> %u)",
			  how, file, pg(run, start), pg(run, end), gen_before, gen_after);
	if (r->procfile == PV_PROC_SMAPS_ROLLUP) {
		if (walk_from < r->prev_end)
			violation(run, "%s/%s: pages [%ld, %ld) counted twice (VMA [%ld, %ld) "
				  "walked from %ld)", how, file, pg(run, walk_from),
				  pg(run, r->prev_end), pg(run, start), pg(run, end),
				  pg(run, walk_from));
		else if (walk_from < start || walk_from >= end)
			violation(run, "%s/%s: VMA [%ld, %ld) walked from %ld", how, file,
				  pg(run, start), pg(run, end), pg(run, walk_from));
		else
			r->accounted += end - walk_from;
	} else if (end <= r->prev_end) {
		violation(run, "%s/%s: VMA [%ld, %ld) does not end above the previous "
			  "one, which ended at %ld", how, file, pg(run, start), pg(run, end),
			  pg(run, r->prev_end));
	}
	if (end > r->prev_end)
		r->prev_end = end;
	if (r->nshown < r->shown_cap)
		r->shown[r->nshown++] = (struct shown_range){
			start, end, r->procfile == PV_PROC_SMAPS_ROLLUP ? walk_from : start };
}

static void obs_rollup_done(struct walk_observer *obs,
			    const struct mem_size_stats *mss)
{
	struct torture_reader *r = container_of(obs, struct torture_reader, obs);

	r->rollup = *mss;
	r->rollup_seen = true;
}

/* ---- the readers' side: checking the text ------------------------------- */

/* "start-end " at the start of a line: an address range header. */
static bool parse_range(const char *s, unsigned long *start, unsigned long *end)
{
	unsigned long a, b;
	char *p;

	a = strtoul(s, &p, 16);
	if (p == s || *p != '-')
		return false;
	s = p + 1;
	b = strtoul(s, &p, 16);
	if (p == s || *p != ' ')
		return false;
	*start = a;
	*end = b;
	return true;
}

/* The value of "Name:   N kB" if @line is that field, else -1. */
static long field_kb(const char *line, const char *name)
{
	size_t len = strlen(name);

	if (strncmp(line, name, len) || line[len] != ':')
		return -1;
	return strtol(line + len + 1, NULL, 10);
}

/* "start default" at the start of a line: a numa_maps line's address. */
static bool parse_numa_start(const char *s, unsigned long *start)
{
	char *p;

	*start = strtoul(s, &p, 16);
	return p != s && !strncmp(p, " default", 8);
}

/* The value of " name=N" on the line at @line (to @nl), else -1. */
static long numa_field(const char *line, const char *nl, const char *name)
{
	size_t len = strlen(name);
	const char *p;

	for (p = strchr(line, ' '); p && (!nl || p < nl); p = strchr(p + 1, ' '))
		if (!strncmp(p + 1, name, len) && p[1 + len] == '=')
			return strtol(p + 2 + len, NULL, 10);
	return -1;
}

/*
 * maps, smaps, numa_maps: the text must show exactly the VMAs reported,
 * each with the range the walker had when it got the VMA (numa_maps
 * prints its start only); in smaps each block's Size is that range and
 * its Rss all of it, in numa_maps its anon= and N0= all of its pages
 * (every page of a VMA is populated).
 */
static void check_text(struct torture_reader *r, const char *how, const char *file)
{
	struct torture_run *run = r->run;
	unsigned long i = 0, start = 0, end = 0, size_kb = 0;
	const char *line = r->buf;
	bool smaps = r->procfile == PV_PROC_SMAPS;
	bool numa = r->procfile == PV_PROC_NUMA_MAPS;

	while (*line) {
		const char *nl = strchr(line, '\n');
		long v;

		if (numa ? parse_numa_start(line, &start) : parse_range(line, &start, &end)) {
			if (i >= r->nshown) {
				violation(run, "%s/%s: text shows VMA at %ld beyond the %lu "
					  "reported", how, file, pg(run, start), r->nshown);
				return;
			}
			if (numa)
				end = r->shown[i].end;
			if (start != r->shown[i].start || end != r->shown[i].end) {
				violation(run, "%s/%s: text shows [%ld, %ld) for a VMA got as "
					  "[%ld, %ld)", how, file, pg(run, start), pg(run, end),
					  pg(run, r->shown[i].start), pg(run, r->shown[i].end));
				return;
			}
			size_kb = (end - start) >> 10;
			i++;
			if (numa && (numa_field(line, nl, "anon") != pg(run, end) - pg(run, start) ||
				     numa_field(line, nl, "N0") != pg(run, end) - pg(run, start))) {
				violation(run, "%s/%s: VMA [%ld, %ld) has anon=%ld N0=%ld", how,
					  file, pg(run, start), pg(run, end),
					  numa_field(line, nl, "anon"), numa_field(line, nl, "N0"));
				return;
			}
		} else if (smaps && (v = field_kb(line, "Size")) >= 0) {
			if ((unsigned long)v != size_kb) {
				violation(run, "%s/%s: VMA [%ld, %ld) Size %ld kB", how, file,
					  pg(run, start), pg(run, end), v);
				return;
			}
		} else if (smaps && (v = field_kb(line, "Rss")) >= 0) {
			if ((unsigned long)v != size_kb) {
				violation(run, "%s/%s: VMA [%ld, %ld) of %lu kB has Rss %ld kB",
					  how, file, pg(run, start), pg(run, end), size_kb, v);
				return;
			}
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	if (i != r->nshown)
		violation(run, "%s/%s: %lu VMAs reported, %lu in the text", how, file,
			  r->nshown, i);
}

/* The rollup accounted exactly the pages of the ranges it reported. */
static void check_rollup(struct torture_reader *r, const char *how, const char *file)
{
	struct torture_run *run = r->run;
	const struct mem_size_stats *mss = &r->rollup;

	if (!r->rollup_seen) {
		violation(run, "%s/%s: no rollup reported", how, file);
		return;
	}
	if (mss->resident != r->accounted)
		violation(run, "%s/%s: Rss %lu kB over ranges holding %llu kB", how, file,
			  mss->resident >> 10, r->accounted >> 10);
	/* Every page is mapped once, private and dirty. */
	if ((mss->pss >> PSS_SHIFT) != mss->resident ||
	    mss->private_dirty != mss->resident)
		violation(run, "%s/%s: Rss %lu kB, Pss %llu kB, Private_Dirty %lu kB",
			  how, file, mss->resident >> 10, mss->pss >> PSS_SHIFT >> 10,
			  mss->private_dirty >> 10);
}

/*
 * A walk wholly inside one conserving phase sees that phase's layout:
 * @pages populated in @vmas VMAs, read inside the walk's epoch window.
 */
static void check_conserving(struct torture_reader *r, const char *how,
			     const char *file, unsigned long pages, unsigned long vmas)
{
	struct torture_run *run = r->run;
	unsigned long long seen = 0;
	unsigned long i;

	r->conserving_checks++;
	if (r->procfile == PV_PROC_SMAPS_ROLLUP) {
		if (r->rollup_seen && r->rollup.resident != pages * PAGE_SIZE)
			violation(run, "%s/%s: Rss %lu kB while %lu kB stay populated",
				  how, file, r->rollup.resident >> 10, pages * PAGE_SIZE >> 10);
		return;
	}
	for (i = 0; i < r->nshown; i++)
		seen += r->shown[i].end - r->shown[i].start;
	if (r->nshown != vmas || seen != pages * PAGE_SIZE)
		violation(run, "%s/%s: %lu VMAs of %llu kB while the layout is %lu VMAs "
			  "of %lu kB", how, file, r->nshown, seen >> 10, vmas,
			  pages * PAGE_SIZE >> 10);
}

/*
 * Nothing lost: every page populated since an op that finished before the
 * walk began (op @before or earlier), and still populated now, is in a
 * range the walk reported.  The shadow is read under the mmap read lock,
 * so every op that finished before we took it is in it, and none is half
 * done.
 */
static void check_coverage(struct torture_reader *r, unsigned long long before,
			   const char *how, const char *file)
{
	struct torture_run *run = r->run;
	struct mm_struct *mm = run->mm;
	unsigned long i, p, lost = 0, first_lost = 0, required = 0;

	memset(r->covered, 0, mm->region_pages);
	for (i = 0; i < r->nshown; i++) {
		unsigned long from = r->shown[i].from, end = r->shown[i].end;

		if (from < mm->region_start || from >= end ||
		    end > page_addr(mm, mm->region_pages))
			continue;	/* reported as a violation already */
		memset(r->covered + addr_page(mm, from), 1, (end - from) >> PAGE_SHIFT);
	}

	mmap_read_lock(mm);
	for (p = 0; p < mm->region_pages; p++) {
		if (!run->populated[p] || run->changed_at[p] > before)
			continue;
		required++;
		if (!r->covered[p] && !lost++)
			first_lost = p;
	}
	mmap_read_unlock(mm);

	r->coverage_checks++;
	r->coverage_pages += required;
	if (lost)
		violation(run, "%s/%s: lost %lu page(s) populated for the whole walk, "
			  "the first page %lu", how, file, lost, first_lost);
}

static void reader_walk(struct torture_reader *r)
{
	struct torture_run *run = r->run;
	const char *how = pv_lock_name(r->lock), *file = pv_procfile_name(r->procfile);
	unsigned long long before;
	unsigned long e1, e2, pages, vmas;
	long n;

	/* Acquire: pairs with the release store in op_done(). */
	before = atomic_load_explicit(&run->ops_done, memory_order_acquire);
	/* Acquire: pairs with the release store in maybe_switch_phase(). */
	e1 = atomic_load_explicit(&run->epoch, memory_order_acquire);
	/*
	 * The phase's totals, read inside the window the re-check below
	 * validates: read after the walk, they could be a later phase's, set
	 * while this thread waited for a CPU.
	 */
	pages = atomic_load_explicit(&run->conserve_pages, memory_order_relaxed);
	vmas = atomic_load_explicit(&run->conserve_vmas, memory_order_relaxed);
	n = proc_read_all(run->mm, r->procfile, r->lock, r->buf, r->buflen,
			  &r->stats[r->lock], &r->obs);
	/* The seqcount's read side: the walk's and the totals' loads before the re-check. */
	atomic_thread_fence(memory_order_acquire);
	e2 = atomic_load_explicit(&run->epoch, memory_order_relaxed);

	if (n < 0) {
		violation(run, "%s/%s: read failed: %s", how, file, strerror((int)-n));
		return;
	}
	r->walks[r->lock][r->procfile]++;
	if (r->nshown >= r->shown_cap)
		violation(run, "%s/%s: %lu VMAs reported, more than the region can hold",
			  how, file, r->nshown);
	if (r->procfile == PV_PROC_SMAPS_ROLLUP)
		check_rollup(r, how, file);
	else if ((unsigned long)n < r->buflen)
		check_text(r, how, file);
	else
		violation(run, "%s/%s: %ld bytes of text, more than the region can need",
			  how, file, n);
	if (e1 == e2 && (e1 & 1))
		check_conserving(r, how, file, pages, vmas);
	if (r->nshown < r->shown_cap)
		check_coverage(r, before, how, file);
}

static void *reader_fn(void *arg)
{
	struct torture_reader *r = arg;
	struct torture_run *run = r->run;
	const struct pv_torture_config *cfg = run->cfg;
	int combos[PV_NR_LOCKS * NPROCFILES][2], ncombos = 0, i;
	unsigned long long k;

	for (i = 0; i < PV_NR_LOCKS * NPROCFILES; i++) {
		if ((cfg->locks & (1u << (i / NPROCFILES))) &&
		    (cfg->procfiles & (1u << (i % NPROCFILES))) &&
		    !pv_lock_check(i / NPROCFILES, i % NPROCFILES)) {
			combos[ncombos][0] = i / NPROCFILES;
			combos[ncombos][1] = i % NPROCFILES;
			ncombos++;
		}
	}
	pv_rcu_register_thread();
	/* Readers start at different points of the cycle. */
	for (k = r->id; !stopping(run); k++) {
		r->lock = combos[k % ncombos][0];
		r->procfile = combos[k % ncombos][1];
		reader_walk(r);
	}
	pv_rcu_unregister_thread();
	return NULL;
}

/* ---- the end state --------------------------------------------------------- */

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

struct vma_census {
	struct vm_area_struct **all;	/* every VMA the mm owns, sorted */
	unsigned char *seen;
	size_t n;
};

/* Tick off @vma; false (and a violation) if it is not ours or seen twice. */
static bool census_tick(struct torture_run *run, struct vma_census *c,
			struct vm_area_struct *vma, const char *where)
{
	struct vm_area_struct **hit = bsearch(&vma, c->all, c->n, sizeof(*c->all),
					      ptr_cmp);

	if (!hit) {
		violation(run, "end: a VMA %s is neither in the pool nor allocated", where);
		return false;
	}
	if (c->seen[hit - c->all]++) {
		violation(run, "end: VMA [%ld, %ld) %s is also elsewhere", pg(run,
			  vma->vm_start), pg(run, vma->vm_end), where);
		return false;
	}
	return true;
}

/* Every task joined: the mmap_lock is free and no write cycle is open. */
static void check_locks_free(struct torture_run *run)
{
	struct rw_semaphore *sem = &run->mm->mmap_lock;
	unsigned int seq = atomic_load(&run->mm->mm_lock_seq);

	if (atomic_load(&sem->count) || sem->wait_head)
		violation(run, "end: mmap_lock not free (count %#lx, %s)",
			  atomic_load(&sem->count),
			  sem->wait_head ? "tasks still queued" : "nobody queued");
	if (seq & 1)
		violation(run, "end: mm_lock_seq %u is odd: a write cycle never ended", seq);
}

/* Every VMA the mm owns, sorted: the pool, and what it allocated past it. */
static bool census_init(struct vma_census *c, struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	unsigned long i;
	size_t k = 0;

	c->n = mm->vma_pool_size + mm->vma_extra_allocs;
	c->all = calloc(c->n, sizeof(*c->all));
	c->seen = calloc(c->n, 1);
	if (!c->all || !c->seen)
		return false;
	for (i = 0; i < mm->vma_pool_size; i++)
		c->all[k++] = &mm->vma_pool[i];
	for (vma = mm->vma_extra; vma && k < c->n; vma = vma->extra_next)
		c->all[k++] = vma;
	c->n = k;
	qsort(c->all, c->n, sizeof(*c->all), ptr_cmp);
	return true;
}

/* The tree: each VMA ours, once, unlocked, and as many as map_count says. */
static void check_tree_vmas(struct torture_run *run, struct vma_census *c)
{
	struct mm_struct *mm = run->mm;
	unsigned int seq = atomic_load(&mm->mm_lock_seq);
	struct vm_area_struct *vma;

	for (vma = vma_find(mm, 0); vma; vma = vma_next_of(vma)) {
		unsigned int refcnt = atomic_load(&vma->vm_refcnt);

		if (!census_tick(run, c, vma, "in the tree"))
			break;
		run->out->vmas_in_tree++;
		if (refcnt != 1)
			violation(run, "end: VMA [%ld, %ld) has vm_refcnt %#x, not 1",
				  pg(run, vma->vm_start), pg(run, vma->vm_end), refcnt);
		if (atomic_load(&vma->vm_lock_seq) == seq)
			violation(run, "end: VMA [%ld, %ld) is still write-locked",
				  pg(run, vma->vm_start), pg(run, vma->vm_end));
	}
	if (run->out->vmas_in_tree != mm->map_count)
		violation(run, "end: %lu VMAs in the tree, map_count says %lu",
			  run->out->vmas_in_tree, mm->map_count);
	check_tree_range(run, 0, mm->region_pages, "end");
}

/* After a grace period, every other VMA is back on the free list, once. */
static void check_free_vmas(struct torture_run *run, struct vma_census *c)
{
	struct mm_struct *mm = run->mm;
	struct pv_torture_result *out = run->out;
	struct vm_area_struct *vma, *next;
	struct cds_lfs_head *head;
	struct cds_lfs_node *node, *tmp;
	unsigned long nfree = 0;

	/* Let every pending free land, then take the reclaimed VMAs back. */
	rcu_barrier();
	head = __cds_lfs_pop_all(&mm->vma_reclaimed);
	/* The macro takes &head->node: not on an empty stack's NULL. */
	if (head)
		cds_lfs_for_each_safe(head, node, tmp) {
			vma = container_of(node, struct vm_area_struct, reclaim_node);
			vma->pool_next = mm->vma_free;
			mm->vma_free = vma;
		}
	for (vma = mm->vma_free; vma; vma = next) {
		next = vma->pool_next;
		if (!census_tick(run, c, vma, "on the free list"))
			break;
		nfree++;
		if (atomic_load(&vma->vm_refcnt))
			violation(run, "end: a freed VMA has vm_refcnt %u",
				  atomic_load(&vma->vm_refcnt));
	}
	out->vmas_free = nfree;
	out->vmas_total = c->n;
	if (out->vmas_in_tree + nfree != c->n)
		violation(run, "end: %lu VMAs in the tree + %lu free, of %zu: %zu leaked",
			  out->vmas_in_tree, nfree, c->n, c->n - out->vmas_in_tree - nfree);
}

/* Pages: each mapped once, by a present PTE, as populated. */
static void check_pages(struct torture_run *run)
{
	struct mm_struct *mm = run->mm;
	unsigned long i, mapped = 0;

	for (i = 0; i < mm->region_pages; i++) {
		pte_t pte = ptep_get(mm, i);

		if (!pte)
			continue;
		mapped++;
		if (!pte_present(pte) || pte_mapcount(pte) != 1)
			violation(run, "end: page %lu: PTE %#x, mapcount %u", i,
				  pte, pte_present(pte) ? pte_mapcount(pte) : 0);
	}
	run->out->pages_populated = mapped;
	if (mapped != run->npopulated)
		violation(run, "end: %lu pages mapped, %lu expected, of %lu",
			  mapped, run->npopulated, mm->region_pages);
}

/*
 * Every task joined.  Locks free, the tree right, and every VMA and page
 * accounted for exactly once.
 */
static void check_end_state(struct torture_run *run)
{
	struct vma_census c = { 0 };

	check_locks_free(run);
	if (census_init(&c, run->mm)) {
		check_tree_vmas(run, &c);
		check_free_vmas(run, &c);
		check_pages(run);
	} else {
		violation(run, "end: out of memory for the VMA census");
	}
	free(c.all);
	free(c.seen);
}

/* ---- the run -------------------------------------------------------------- */

/* calloc() for the 64-byte aligned task structs. */
static void *calloc_aligned(size_t n, size_t size)
{
	size_t bytes = (n * size + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, bytes);

	if (p)
		memset(p, 0, bytes);
	return p;
}

/* Some file of @cfg's that some design of @cfg's reads. */
static bool walks_something(const struct pv_torture_config *cfg)
{
	int lock, procfile;

	for (lock = 0; lock < PV_NR_LOCKS; lock++)
		for (procfile = 0; procfile < NPROCFILES; procfile++)
			if ((cfg->locks & (1u << lock)) &&
			    (cfg->procfiles & (1u << procfile)) &&
			    !pv_lock_check(lock, procfile))
				return true;
	return false;
}

static int validate(const struct pv_torture_config *cfg)
{
	if ((cfg->locks & ~((1u << PV_NR_LOCKS) - 1)) ||
	    (cfg->procfiles & ~((1u << NPROCFILES) - 1)) || !walks_something(cfg))
		return -EINVAL;
	if (cfg->writers < 1 || cfg->readers < 1 || cfg->writers > 64 ||
	    cfg->readers > 64)
		return -EINVAL;
	/* Each reader's text buffer is about 512 bytes per region page. */
	if (cfg->region_pages < MAX_OP_PAGES || cfg->region_pages > (1UL << 16) ||
	    !(cfg->duration_s >= 0) || !(cfg->phase_ms > 0))
		return -EINVAL;
	if (cfg->inject & ~(PV_INJECT_NO_RESUME_CHECK | PV_INJECT_NO_VMA_LOCK |
			    PV_INJECT_NO_DRAIN | PV_INJECT_SKIP_MERGED |
			    PV_INJECT_NO_SPECULATE_RETRY))
		return -EINVAL;
	return 0;
}

static void sum_stats(struct pv_walk_stats *to, const struct pv_walk_stats *from)
{
	to->walks += from->walks;
	to->vmas += from->vmas;
	to->reads += from->reads;
	to->fallbacks += from->fallbacks;
	to->drops += from->drops;
	to->retries += from->retries;
}

/*
 * Start fragmented, so that the first walks already meet many VMAs:
 * every third page a hole.
 */
static void fragment_region(struct torture_run *run)
{
	struct mm_struct *mm = run->mm;
	unsigned long p;

	mmap_write_lock(mm);
	for (p = 1; p < run->cfg->region_pages; p += 3)
		if (!do_munmap(mm, page_addr(mm, p), page_addr(mm, p + 1)))
			shadow_set(run, p, 1, 0);
	op_done(run);
	run->phase_deadline_ns = ktime_get_ns() + (uint64_t)(run->cfg->phase_ms * 1e6);
	mmap_write_unlock(mm);
}

static int init_readers(struct torture_run *run, struct torture_reader *readers)
{
	int i;

	for (i = 0; i < run->cfg->readers; i++) {
		struct torture_reader *r = &readers[i];

		r->run = run;
		r->id = i;
		r->obs.walk_begin = obs_walk_begin;
		r->obs.vma_shown = obs_vma_shown;
		r->obs.rollup_done = obs_rollup_done;
		/* At most one VMA per two pages; one more slot to see overruns. */
		r->shown_cap = run->cfg->region_pages / 2 + 2;
		r->shown = calloc(r->shown_cap, sizeof(*r->shown));
		r->buflen = r->shown_cap * TEXT_PER_VMA;
		r->buf = malloc(r->buflen);
		r->covered = malloc(run->cfg->region_pages);
		if (!r->shown || !r->buf || !r->covered)
			return -ENOMEM;
	}
	return 0;
}

/* Start every reader and writer, let them run for the duration, join them. */
static int run_threads(struct torture_run *run, struct torture_writer *writers,
		       struct torture_reader *readers)
{
	const struct pv_torture_config *cfg = run->cfg;
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	uint64_t start, end;
	int i, err = 0;

	start = ktime_get_ns();
	for (i = 0; i < cfg->readers && !err; i++) {
		err = -pthread_create(&readers[i].thread, NULL, reader_fn, &readers[i]);
		readers[i].created = !err;
	}
	for (i = 0; i < cfg->writers && !err; i++) {
		writers[i].run = run;
		writers[i].id = i;
		writers[i].rand_state = (cfg->seed + 1) * 0x9e3779b97f4a7c15ULL + i * 2 + 1;
		err = -pthread_create(&writers[i].thread, NULL, writer_fn, &writers[i]);
		writers[i].created = !err;
	}

	end = start + (uint64_t)(cfg->duration_s * 1e9);
	while (!err && !stopping(run) && ktime_get_ns() < end)
		nanosleep(&tick, NULL);
	run->out->stopped_early = !err && ktime_get_ns() < end;
	atomic_store(&run->stop, 1);
	for (i = 0; i < cfg->writers; i++)
		if (writers[i].created)
			pthread_join(writers[i].thread, NULL);
	for (i = 0; i < cfg->readers; i++)
		if (readers[i].created)
			pthread_join(readers[i].thread, NULL);
	run->out->elapsed_s = (ktime_get_ns() - start) / 1e9;
	return err;
}

/* The readers' counts and the writers' ops into the result. */
static void collect(struct torture_run *run, const struct torture_reader *readers)
{
	struct pv_torture_result *out = run->out;
	int i, j;

	for (i = 0; i < run->cfg->readers; i++) {
		for (j = 0; j < PV_NR_LOCKS * NPROCFILES; j++)
			out->walks[j / NPROCFILES][j % NPROCFILES] +=
				readers[i].walks[j / NPROCFILES][j % NPROCFILES];
		for (j = 0; j < PV_NR_LOCKS; j++)
			sum_stats(&out->stats[j], &readers[i].stats[j]);
		out->conserving_checks += readers[i].conserving_checks;
		out->coverage_checks += readers[i].coverage_checks;
		out->coverage_pages += readers[i].coverage_pages;
	}
	out->maps = run->maps;
	out->unmaps = run->unmaps;
	out->remaps = run->remaps;
	out->enomem = run->enomem;
	out->violations = atomic_load(&run->violations);
}

int pv_torture_run(const struct pv_torture_config *cfg, struct pv_torture_result *out)
{
	struct torture_run run = { .cfg = cfg, .out = out };
	struct torture_writer *writers = NULL;
	struct torture_reader *readers = NULL;
	int i, err;

	memset(out, 0, sizeof(*out));
	err = validate(cfg);
	if (err)
		return err;
	pthread_mutex_init(&run.msg_lock, NULL);
	pv_rcu_register_thread();

	err = -ENOMEM;
	run.mm = pv_mm_create(cfg->region_pages, 1);
	run.populated = malloc(cfg->region_pages);
	run.changed_at = calloc(cfg->region_pages, sizeof(*run.changed_at));
	writers = calloc_aligned(cfg->writers, sizeof(*writers));
	readers = calloc_aligned(cfg->readers, sizeof(*readers));
	if (!run.mm || !run.populated || !run.changed_at || !writers || !readers)
		goto out;
	memset(run.populated, 1, cfg->region_pages);
	run.npopulated = cfg->region_pages;
	pv_mm_set_max_map_count(run.mm, cfg->max_map_count ? cfg->max_map_count :
				cfg->region_pages / 9);
	pv_mm_set_inject(run.mm, cfg->inject);
	fragment_region(&run);
	err = init_readers(&run, readers);
	if (err)
		goto out;

	err = run_threads(&run, writers, readers);
	if (err)
		goto out;
	check_end_state(&run);
	collect(&run, readers);
out:
	if (readers)
		for (i = 0; i < cfg->readers; i++) {
			free(readers[i].shown);
			free(readers[i].buf);
			free(readers[i].covered);
		}
	free(readers);
	free(writers);
	free(run.populated);
	free(run.changed_at);
	pv_mm_destroy(run.mm);
	pv_rcu_unregister_thread();
	pthread_mutex_destroy(&run.msg_lock);
	return err;
}

void pv_torture_stop(void)
{
	atomic_store(&torture_stop_requested, 1);
}

void pv_torture_reset_stop(void)
{
	atomic_store(&torture_stop_requested, 0);
}
