// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * /proc/PID/{maps,smaps,smaps_rollup,numa_maps} for the simulated mm, in
 * whichever reader locking design the file was opened with: the walkers
 * below call the design's hooks (proc_maps_lock.h, one proc_lock_*.c
 * per design) wherever the kernel's task_mmu.c locks, and never ask
 * which design runs.
 *
 * The structure follows fs/proc/task_mmu.c so the two can be read side by
 * side: lock_vma_range()/unlock_vma_range(), get_next_vma(),
 * proc_get_vma(), m_start()/m_next()/m_stop(), show_map()/show_smap()/
 * show_numa_map(), show_smaps_rollup().  numa_maps is read as smaps is:
 * one page walk per VMA, under whatever the design holds for it (the
 * kernel through 6.18 takes mmap_lock for every file but maps).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "api.h"
#include "compiler.h"
#include "fault_inject.h"
#include "ktime.h"
#include "mm.h"
#include "mmap_lock.h"
#include "sched.h"
#include "seq_file.h"
#include "task_mmu.h"
#include "vma_tree.h"

/* ---- locking ----------------------------------------------------------- */

/*
 * The VMA read lock keeps @vma and its page tables stable; RCU is not
 * needed for the page walk, and holding it across one would stretch grace
 * periods for every other VMA (the smaps series does the same).
 */
static void drop_rcu(struct proc_maps_private *priv)
{
	if (!priv->lock_ctx.mmap_locked)
		rcu_read_unlock();
}

static void reacquire_rcu(struct proc_maps_private *priv)
{
	if (!priv->lock_ctx.mmap_locked)
		rcu_read_lock();
}

static struct vm_area_struct *proc_get_vma(struct proc_maps_private *priv,
					   unsigned long pos)
{
	struct vm_area_struct *vma;

retry:
	vma = priv->lock_ctx.ops->get_next_vma(&priv->lock_ctx, pos);
	if (IS_ERR(vma)) {
		if (fallback_to_mmap_lock(&priv->lock_ctx))
			goto retry;
		return NULL;	/* cannot happen: under mmap_lock nothing fails */
	}
	if (vma && priv->obs) {
		priv->gen_before = atomic_load(&vma->vm_gen);
		priv->shown_start = READ_ONCE(vma->vm_start);
		priv->shown_end = READ_ONCE(vma->vm_end);
	}
	return vma;
}

static void report_vma(struct proc_maps_private *priv, const struct walk_shown *s)
{
	priv->obs->vma_shown(priv->obs, s->start, s->end, s->walk_from,
			     s->gen_before, s->gen_after);
}

/*
 * Tell the observer what the walker got of @vma, which it still holds;
 * or, when @hold, keep it for report_held().
 */
static void observe_vma(struct proc_maps_private *priv, struct vm_area_struct *vma,
			unsigned long walk_from, bool hold)
{
	struct walk_shown s;

	if (!priv->obs)
		return;
	s = (struct walk_shown){
		.start = priv->shown_start, .end = priv->shown_end,
		.walk_from = walk_from, .gen_before = priv->gen_before,
		.gen_after = atomic_load(&vma->vm_gen),
	};
	if (hold)
		priv->held[priv->nheld++] = s;
	else
		report_vma(priv, &s);
}

/* The page went out: what it showed. */
static void report_held(struct proc_maps_private *priv)
{
	unsigned int i;

	for (i = 0; i < priv->nheld; i++)
		report_vma(priv, &priv->held[i]);
	priv->nheld = 0;
}

/* ---- the page walk: smaps_pte_range() / smaps_account() ---------------- */

static void smaps_page_accumulate(struct mem_size_stats *mss, bool anon,
				  unsigned long size, unsigned long long pss,
				  bool dirty, bool private)
{
	mss->pss += pss;
	if (anon)
		mss->pss_anon += pss;
	else
		mss->pss_file += pss;
	if (dirty) {
		mss->pss_dirty += pss;
		if (private)
			mss->private_dirty += size;
		else
			mss->shared_dirty += size;
	} else {
		if (private)
			mss->private_clean += size;
		else
			mss->shared_clean += size;
	}
}

static void smaps_pte_entry(pte_t pte, struct mem_size_stats *mss)
{
	unsigned int mapcount;

	if (pte_is_swap(pte)) {
		mss->swap += PAGE_SIZE;
		mss->swap_pss += (unsigned long long)PAGE_SIZE << PSS_SHIFT;
		return;
	}
	mapcount = pte_mapcount(pte);
	if (pte_anon(pte))
		mss->anonymous += PAGE_SIZE;
	mss->resident += PAGE_SIZE;
	if (pte_young(pte))
		mss->referenced += PAGE_SIZE;
	/* A shared page's PSS is divided among the PTEs that map it. */
	if (mapcount >= 2)
		smaps_page_accumulate(mss, pte_anon(pte), PAGE_SIZE,
				      ((unsigned long long)PAGE_SIZE << PSS_SHIFT) / mapcount,
				      pte_dirty(pte), false);
	else
		smaps_page_accumulate(mss, pte_anon(pte), PAGE_SIZE,
				      (unsigned long long)PAGE_SIZE << PSS_SHIFT,
				      pte_dirty(pte), true);
}

/* smaps_pte_range(): a pmd_entry, @n PTEs of one table from @ptep on. */
static void smaps_pte_range(const pte_t *ptep, unsigned long n, void *private)
{
	struct mem_size_stats *mss = private;

	for (; n; n--, ptep++) {
		pte_t pte = READ_ONCE(*ptep);

		if (pte)
			smaps_pte_entry(pte, mss);
	}
}

/*
 * The host kernel's per-PTE work the model does not do step by step
 * (pte_offset_map_lock(), folio lookups, page_mapcount() on real struct
 * pages): a calibration knob measured by procvma calibrate.  One spin per
 * page table, not per page, so that reading the clock costs nothing per
 * page.
 */
static void burn_walk_cost(const struct mm_struct *mm, unsigned long pages)
{
	if (mm->walk_cost_ns > 0 && pages)
		spin_cpu_ns((uint64_t)(mm->walk_cost_ns * (double)pages));
}

/*
 * The walk's reads of the struct pages of the present pages of one table
 * (vm_normal_page() and what smaps_account() or gather_stats() read of
 * the folio): memory work, whose cost depends on where the lines are.
 */
static void touch_page_frames(const struct mm_struct *mm, const pte_t *table,
			      unsigned long pfn, unsigned long end_pfn)
{
	unsigned long seen = 0;

	for (; pfn < end_pfn; pfn++)
		if (pte_present(READ_ONCE(table[pfn % PTRS_PER_PTE])))
			seen += READ_ONCE(pfn_to_page(mm, pfn)->flags);
	/* The loads are the work: keep them. */
	__asm__ __volatile__("" : : "r"(seen));
}

void pv_mm_set_walk_cost_ns(struct mm_struct *mm, double ns_per_page)
{
	mm->walk_cost_ns = ns_per_page;
}

/*
 * The host kernel's cost of the text a show writes, which the model's
 * formatting pays at user-space speed: seq_put_decimal_ull_width(),
 * seq_put_hex_ll(), seq_pad() and show_smap_vma_flags() cost the kernel
 * 6 to 8 ns a byte (a smaps record, some 750 bytes, 6 us), the model
 * about 0.5.  A calibration knob; one spin per record.
 */
static void burn_text_cost(const struct mm_struct *mm, size_t bytes)
{
	if (mm->text_cost_ns > 0 && bytes)
		spin_cpu_ns((uint64_t)(mm->text_cost_ns * (double)bytes));
}

void pv_mm_set_text_cost_ns(struct mm_struct *mm, double ns_per_byte)
{
	mm->text_cost_ns = ns_per_byte;
}

/* A walk's per-table callback: @n PTEs of one table, from @ptep on. */
typedef void (*pmd_entry_fn)(const pte_t *ptep, unsigned long n, void *private);

/*
 * walk_page_range() over [max(start, vm_start), vm_end) of @vma, one PTE
 * table at a time, skipping pmd_none() entries; its lock keeps the PTEs
 * stable.  smaps and numa_maps differ only in @pmd_entry, as in the
 * kernel (smaps_walk_ops, show_numa_ops).
 */
static void walk_vma_ptes(struct proc_maps_private *priv,
			  struct vm_area_struct *vma, unsigned long start,
			  pmd_entry_fn pmd_entry, void *private)
{
	struct mm_struct *mm = priv->lock_ctx.mm;
	unsigned long end = READ_ONCE(vma->vm_end);
	unsigned long addr = READ_ONCE(vma->vm_start);
	unsigned long pfn, end_pfn;

	if (start > addr)
		addr = start;
	if (addr < mm->region_start || end > page_addr(mm, mm->region_pages))
		return;		/* only under an injected fault */
	if (addr >= end)
		return;
	/*
	 * Each pmd_entry (smaps_pte_range(), gather_pte_stats()) ends its
	 * table with cond_resched().
	 */
	for (pfn = addr_page(mm, addr), end_pfn = addr_page(mm, end); pfn < end_pfn;) {
		unsigned long next = pmd_pfn_end(pfn, end_pfn);
		const pte_t *table = pte_table(mm, pfn);

		if (table) {
			touch_page_frames(mm, table, pfn, next);
			burn_walk_cost(mm, next - pfn);
			pmd_entry(table + pfn % PTRS_PER_PTE, next - pfn, private);
			cond_resched();
		}
		pfn = next;
	}
}

/* Account [max(start, vm_start), vm_end) of @vma. */
static void smap_gather_stats(struct proc_maps_private *priv,
			      struct vm_area_struct *vma,
			      struct mem_size_stats *mss, unsigned long start)
{
	walk_vma_ptes(priv, vma, start, smaps_pte_range, mss);
}

/* ---- the numa_maps page walk: gather_pte_stats() / gather_stats() ------- */

/*
 * gather_stats() for one base page.  The simulated machine has one
 * memory node, 0, where every page lives; nothing is under writeback or
 * in the swap cache (a swapped-out page has no page in memory, and
 * can_gather_numa_stats() skips it).
 */
static void gather_stats(pte_t pte, struct numa_maps *md)
{
	unsigned int count = pte_mapcount(pte);

	md->pages++;
	if (pte_dirty(pte))
		md->dirty++;
	if (pte_active(pte))
		md->active++;
	if (pte_anon(pte))
		md->anon++;
	if (count > md->mapcount_max)
		md->mapcount_max = count;
	md->node[0]++;
}

/* gather_pte_stats(): a pmd_entry; can_gather_numa_stats() is pte_present(). */
static void gather_pte_stats(const pte_t *ptep, unsigned long n, void *private)
{
	struct numa_maps *md = private;

	for (; n; n--, ptep++) {
		pte_t pte = READ_ONCE(*ptep);

		if (pte_present(pte))
			gather_stats(pte, md);
	}
}

/* ---- text --------------------------------------------------------------- */

static void show_vma_header_prefix(struct seq_file *m, unsigned long start,
				   unsigned long end, unsigned long flags,
				   unsigned long long pgoff)
{
	char perms[5];

	/* Name column: 25 + 6 * sizeof(void *) - 1, as in the kernel. */
	seq_setwidth(m, 25 + sizeof(void *) * 6 - 1);
	seq_put_hex_ll(m, NULL, start, 8);
	seq_put_hex_ll(m, "-", end, 8);
	perms[0] = flags & VM_READ ? 'r' : '-';
	perms[1] = flags & VM_WRITE ? 'w' : '-';
	perms[2] = flags & VM_EXEC ? 'x' : '-';
	perms[3] = flags & VM_MAYSHARE ? 's' : 'p';
	perms[4] = '\0';
	seq_putc(m, ' ');
	seq_puts(m, perms);
	seq_put_hex_ll(m, " ", pgoff, 8);
	seq_put_hex_ll(m, " ", 0, 2);	/* MAJOR(dev) */
	seq_put_hex_ll(m, ":", 0, 2);	/* MINOR(dev) */
	seq_put_decimal_ull(m, " ", 0);	/* inode */
	seq_putc(m, ' ');
}

/*
 * An anonymous VMA has no name and prints offset 0 (show_map_vma()).
 * READ_ONCE: a design that validates its pages reads the VMA with nothing
 * to stop a writer changing it meanwhile, and throws the page away if one
 * did; the line it printed then never goes out.
 */
static void show_map_vma(struct seq_file *m, struct vm_area_struct *vma)
{
	show_vma_header_prefix(m, READ_ONCE(vma->vm_start), READ_ONCE(vma->vm_end),
			       READ_ONCE(vma->vm_flags), 0);
	seq_putc(m, '\n');
}

#define SEQ_PUT_DEC(str, val) seq_put_decimal_ull_width(m, str, (val) >> 10, 8)

static void __show_smap(struct seq_file *m, const struct mem_size_stats *mss,
			bool rollup)
{
	SEQ_PUT_DEC("Rss:            ", mss->resident);
	SEQ_PUT_DEC(" kB\nPss:            ", mss->pss >> PSS_SHIFT);
	SEQ_PUT_DEC(" kB\nPss_Dirty:      ", mss->pss_dirty >> PSS_SHIFT);
	if (rollup) {
		/* Meaningful only in the rollup; per VMA two are 0, one is Pss. */
		SEQ_PUT_DEC(" kB\nPss_Anon:       ", mss->pss_anon >> PSS_SHIFT);
		SEQ_PUT_DEC(" kB\nPss_File:       ", mss->pss_file >> PSS_SHIFT);
		SEQ_PUT_DEC(" kB\nPss_Shmem:      ", mss->pss_shmem >> PSS_SHIFT);
	}
	SEQ_PUT_DEC(" kB\nShared_Clean:   ", mss->shared_clean);
	SEQ_PUT_DEC(" kB\nShared_Dirty:   ", mss->shared_dirty);
	SEQ_PUT_DEC(" kB\nPrivate_Clean:  ", mss->private_clean);
	SEQ_PUT_DEC(" kB\nPrivate_Dirty:  ", mss->private_dirty);
	SEQ_PUT_DEC(" kB\nReferenced:     ", mss->referenced);
	SEQ_PUT_DEC(" kB\nAnonymous:      ", mss->anonymous);
	SEQ_PUT_DEC(" kB\nKSM:            ", mss->ksm);
	SEQ_PUT_DEC(" kB\nLazyFree:       ", mss->lazyfree);
	SEQ_PUT_DEC(" kB\nAnonHugePages:  ", mss->anonymous_thp);
	SEQ_PUT_DEC(" kB\nShmemPmdMapped: ", mss->shmem_thp);
	SEQ_PUT_DEC(" kB\nFilePmdMapped:  ", mss->file_thp);
	SEQ_PUT_DEC(" kB\nShared_Hugetlb: ", mss->shared_hugetlb);
	seq_put_decimal_ull_width(m, " kB\nPrivate_Hugetlb: ",
				  mss->private_hugetlb >> 10, 7);
	SEQ_PUT_DEC(" kB\nSwap:           ", mss->swap);
	SEQ_PUT_DEC(" kB\nSwapPss:        ", mss->swap_pss >> PSS_SHIFT);
	SEQ_PUT_DEC(" kB\nLocked:         ", mss->pss_locked >> PSS_SHIFT);
	seq_puts(m, " kB\n");
}

static void show_smap_vma_flags(struct seq_file *m, unsigned long flags)
{
	static const struct { unsigned long flag; char name[4]; } mnemonics[] = {
		{ VM_READ, "rd" }, { VM_WRITE, "wr" }, { VM_EXEC, "ex" },
		{ VM_SHARED, "sh" }, { VM_MAYREAD, "mr" }, { VM_MAYWRITE, "mw" },
		{ VM_MAYEXEC, "me" }, { VM_MAYSHARE, "ms" }, { VM_ACCOUNT, "ac" },
	};
	size_t i;

	seq_puts(m, "VmFlags: ");
	for (i = 0; i < ARRAY_SIZE(mnemonics); i++) {
		if (flags & mnemonics[i].flag) {
			seq_puts(m, mnemonics[i].name);
			seq_putc(m, ' ');
		}
	}
	seq_putc(m, '\n');
}

static void show_map(struct proc_maps_private *priv, struct seq_file *m,
		     struct vm_area_struct *vma)
{
	show_map_vma(m, vma);
	(void)priv;
}

static void show_smap(struct proc_maps_private *priv, struct seq_file *m,
		      struct vm_area_struct *vma)
{
	struct mem_size_stats mss = { 0 };

	drop_rcu(priv);
	smap_gather_stats(priv, vma, &mss, 0);
	reacquire_rcu(priv);

	show_map_vma(m, vma);
	SEQ_PUT_DEC("Size:           ", vma->vm_end - vma->vm_start);
	SEQ_PUT_DEC(" kB\nKernelPageSize: ", PAGE_SIZE);
	SEQ_PUT_DEC(" kB\nMMUPageSize:    ", PAGE_SIZE);
	seq_puts(m, " kB\n");
	__show_smap(m, &mss, false);
	seq_puts(m, "THPeligible:           0\n");
	seq_puts(m, "ProtectionKey:         0\n");
	show_smap_vma_flags(m, vma->vm_flags);
}

/*
 * show_numa_map(): the VMA's start, its memory policy, what kind of
 * mapping it is, then what its pages are, every count omitted when 0 and
 * mapped= when it would repeat anon= or dirty=, as the kernel prints them.
 * The simulated task never calls mbind() or set_mempolicy(), so its
 * policy is "default"; its region is anonymous and neither the brk heap
 * nor the initial stack, so no file=, heap or stack follows.
 */
static void show_numa_map(struct proc_maps_private *priv, struct seq_file *m,
			  struct vm_area_struct *vma)
{
	struct numa_maps md = { 0 };
	unsigned int nid;

	seq_put_hex_ll(m, NULL, vma->vm_start, 8);
	seq_puts(m, " default");

	drop_rcu(priv);
	walk_vma_ptes(priv, vma, 0, gather_pte_stats, &md);
	reacquire_rcu(priv);

	if (md.pages) {
		if (md.anon)
			seq_put_decimal_ull(m, " anon=", md.anon);
		if (md.dirty)
			seq_put_decimal_ull(m, " dirty=", md.dirty);
		if (md.pages != md.anon && md.pages != md.dirty)
			seq_put_decimal_ull(m, " mapped=", md.pages);
		if (md.mapcount_max > 1)
			seq_put_decimal_ull(m, " mapmax=", md.mapcount_max);
		if (md.swapcache)
			seq_put_decimal_ull(m, " swapcache=", md.swapcache);
		if (md.active < md.pages)
			seq_put_decimal_ull(m, " active=", md.active);
		if (md.writeback)
			seq_put_decimal_ull(m, " writeback=", md.writeback);
		for (nid = 0; nid < MAX_NUMNODES; nid++) {
			if (md.node[nid]) {
				seq_put_decimal_ull(m, " N", nid);
				seq_put_decimal_ull(m, "=", md.node[nid]);
			}
		}
		seq_put_decimal_ull(m, " kernelpagesize_kB=", PAGE_SIZE >> 10);
	}
	seq_putc(m, '\n');
}

/* ---- seq_read() for maps, smaps and numa_maps ---------------------------- */

/*
 * The next VMA to show after @pos: the first that ends above it, as the
 * kernel's proc_get_vma() finds it, however far below @pos it starts.
 * Between two VMAs the reader may have held no lock (a new read(), or
 * per-VMA locking), so the VMA it showed last may since have grown or
 * merged past @pos; that VMA is shown again, grown, and the walk moves on
 * to its new end.  Skipping it would lose every page it holds above @pos,
 * pages that may have been mapped for the whole walk: "if there is
 * something at a given vaddr during the entirety of the life of the
 * smaps/maps walk, there will be some output for it"
 * (Documentation/filesystems/proc.rst).  What never goes backwards is
 * the position, the end of each VMA shown; the selftest
 * proc-maps-race.c accepts the VMA reported twice for the same reason.
 */
static struct vm_area_struct *m_next_vma(struct proc_maps_private *priv,
					 unsigned long pos)
{
	struct vm_area_struct *vma = proc_get_vma(priv, pos);

	/* The fault under test: skip what starts below @pos, losing its pages. */
	if (should_fail(priv->lock_ctx.mm, PV_INJECT_SKIP_MERGED))
		while (vma && pos && vma->vm_start < pos)
			vma = proc_get_vma(priv, vma->vm_end);
	return vma;
}

static struct vm_area_struct *m_start(struct proc_maps_private *priv)
{
	struct proc_maps_locking_ctx *lock_ctx = &priv->lock_ctx;

	lock_ctx->ops->lock_vma_range(lock_ctx);
	return m_next_vma(priv, priv->last_pos);
}

static struct vm_area_struct *m_next(struct proc_maps_private *priv)
{
	return m_next_vma(priv, priv->last_pos);
}

static void m_stop(struct proc_maps_private *priv)
{
	unlock_vma_range(&priv->lock_ctx);
}

/* The kernel's struct seq_operations, for the files walked a VMA at a time. */
struct seq_operations {
	struct vm_area_struct *(*start)(struct proc_maps_private *priv);
	struct vm_area_struct *(*next)(struct proc_maps_private *priv);
	void (*stop)(struct proc_maps_private *priv);
	void (*show)(struct proc_maps_private *priv, struct seq_file *m,
		     struct vm_area_struct *vma);
};

static const struct seq_operations proc_pid_maps_op = {
	.start = m_start, .next = m_next, .stop = m_stop, .show = show_map,
};

static const struct seq_operations proc_pid_smaps_op = {
	.start = m_start, .next = m_next, .stop = m_stop, .show = show_smap,
};

static const struct seq_operations proc_pid_numa_maps_op = {
	.start = m_start, .next = m_next, .stop = m_stop, .show = show_numa_map,
};

/* ->show() one record, and pay for its text as the host kernel would. */
static void show_record(const struct seq_operations *op, struct proc_maps_private *priv,
			struct seq_file *m, struct vm_area_struct *vma)
{
	size_t offs = m->count;

	op->show(priv, m, vma);
	burn_text_cost(priv->lock_ctx.mm, m->count - offs);
}

/*
 * Fill one buffer with whole records from priv->last_pos on, from
 * m_start() to the last record that fits, and stay in what the design
 * holds for it.  A record that does not fit is thrown away and shown
 * again, page walk included, by the next read().  Returns the bytes
 * produced, 0 at EOF, or -EFBIG (and holds nothing) if one record
 * outgrew SEQ_BUF_MAX.
 */
static long seq_fill_page(struct proc_maps_private *priv, struct seq_file *m,
			  const struct seq_operations *op)
{
	struct vm_area_struct *vma;

	for (;;) {
		m->count = 0;
		m->overflow = false;
		vma = op->start(priv);
		if (!vma)
			return 0;
		show_record(op, priv, m, vma);
		if (!m->overflow)
			break;
		/* Not even one record fits: grow the buffer and start over. */
		op->stop(priv);
		if (m->size * 2 > SEQ_BUF_MAX)
			return -EFBIG;
		m->size *= 2;
	}

	for (;;) {
		size_t offs = m->count;

		/* A page the design may yet refuse: held until it goes out. */
		observe_vma(priv, vma, READ_ONCE(vma->vm_start),
			    priv->lock_ctx.ops->validate != NULL);
		priv->lock_ctx.stats->vmas++;
		priv->last_pos = READ_ONCE(vma->vm_end);
		/* No room left to hold what the page shows: a short read(). */
		if (priv->nheld == ARRAY_SIZE(priv->held))
			break;
		vma = op->next(priv);
		if (!vma)
			break;
		show_record(op, priv, m, vma);
		if (m->overflow) {
			m->count = offs;
			break;
		}
	}
	return m->count;
}

/*
 * One read(): seq_read_iter() fills one buffer with whole records under
 * one m_start()..m_stop().  Before it goes out the design may refuse it
 * (->validate()); then it is thrown away and filled again from the same
 * position, which an EOF found is subject to as much as any record.
 * Returns the bytes produced, 0 at EOF, or -EFBIG if one record outgrew
 * SEQ_BUF_MAX.
 */
static long seq_read_chunk(struct proc_maps_private *priv, struct seq_file *m,
			   const struct seq_operations *op)
{
	struct proc_maps_locking_ctx *lock_ctx = &priv->lock_ctx;
	unsigned long pos = priv->last_pos;
	long n;

	for (;;) {
		n = seq_fill_page(priv, m, op);
		if (n < 0)
			return n;
		if (priv->obs && priv->obs->page_filled)
			priv->obs->page_filled(priv->obs);
		if (!lock_ctx->ops->validate || lock_ctx->ops->validate(lock_ctx))
			break;
		op->stop(priv);
		priv->last_pos = pos;
		priv->nheld = 0;
	}
	op->stop(priv);
	report_held(priv);
	return n;
}

/* ---- smaps_rollup ------------------------------------------------------- */

/*
 * Count @vma into @mss and move *@last_vma_end to its end.  If, after the
 * lock was dropped, the VMA we already counted grew or merged with its
 * neighbour, count only from *@last_vma_end: every page exactly once.
 */
static void rollup_gather(struct proc_maps_private *priv, struct vm_area_struct *vma,
			  struct mem_size_stats *mss, unsigned long *last_vma_end)
{
	unsigned long walk_from = vma->vm_start < *last_vma_end &&
		!should_fail(priv->lock_ctx.mm, PV_INJECT_NO_RESUME_CHECK) ?
		*last_vma_end : vma->vm_start;

	drop_rcu(priv);
	smap_gather_stats(priv, vma, mss, walk_from);
	reacquire_rcu(priv);
	observe_vma(priv, vma, walk_from, false);
	priv->lock_ctx.stats->vmas++;
	*last_vma_end = vma->vm_end;
}

static void show_smaps_rollup(struct proc_maps_private *priv, struct seq_file *m)
{
	struct proc_maps_locking_ctx *lock_ctx = &priv->lock_ctx;
	struct mm_struct *mm = lock_ctx->mm;
	struct mem_size_stats mss = { 0 };
	unsigned long vma_start = 0, last_vma_end = 0;
	struct vm_area_struct *vma;

	lock_ctx->ops->lock_vma_range(lock_ctx);
	vma = proc_get_vma(priv, 0);
	if (vma)
		vma_start = vma->vm_start;
	while (vma) {
		rollup_gather(priv, vma, &mss, &last_vma_end);

		/*
		 * Holding mmap_lock (from the start, or since a fallback): a
		 * writer waits, so let it in: the kernel's mmap_read_unlock()
		 * + mmap_read_lock_killable().  The unlock wakes the queued
		 * writer, and the relock steals the lock back before it runs
		 * unless it has claimed the rwsem handoff.  Under voluntary
		 * preemption the relock's might_sleep() is a preemption point
		 * with the lock free.  Retaking begins the design's range
		 * again, which may put a reader that fell back on RCU again.
		 */
		if (lock_ctx->mmap_locked && mmap_lock_is_contended(mm)) {
			lock_ctx->stats->drops++;
			unlock_vma_range(lock_ctx);
			lock_ctx->ops->lock_vma_range(lock_ctx);
			/*
			 * The kernel before per-VMA rollups counts the VMA it
			 * finds at last_vma_end right after the retake (its
			 * "Cases 1, 2 and 4"), and looks at the lock again only
			 * after the one that follows: two VMAs a hold.  The
			 * seed's loop goes round at once.
			 */
			if (lock_ctx->ops->rollup_gather_after_retake) {
				vma = proc_get_vma(priv, last_vma_end);
				if (!vma)
					break;
				rollup_gather(priv, vma, &mss, &last_vma_end);
			}
		}
		vma = proc_get_vma(priv, last_vma_end);
	}
	/* The kernel formats the rollup before it lets go of the lock. */
	show_vma_header_prefix(m, vma_start, last_vma_end, 0, 0);
	seq_pad(m, ' ');
	seq_puts(m, "[rollup]\n");
	__show_smap(m, &mss, true);
	burn_text_cost(mm, m->count);
	unlock_vma_range(lock_ctx);
	if (priv->obs && priv->obs->rollup_done)
		priv->obs->rollup_done(priv->obs, &mss);
}

/* ---- the files, open, read(), release ---------------------------------- */

/* seq_read(): the next whole records, under one start()..stop(). */
static long proc_seq_read(struct proc_maps_file *f)
{
	long n = seq_read_chunk(&f->priv, &f->m, f->fops->seq_ops);

	if (n < 0)
		return n;
	f->eof = n == 0;
	return n;
}

/* single_open()'s read: one show, one buffer, then EOF. */
static long proc_single_read(struct proc_maps_file *f)
{
	f->fops->single_show(&f->priv, &f->m);
	f->eof = true;
	return f->m.count;
}

/*
 * Each file's operations, bound at open as the kernel binds
 * proc_pid_maps_operations, proc_pid_smaps_operations,
 * proc_pid_numa_maps_operations and proc_pid_smaps_rollup_operations: a
 * file walked a VMA at a time is a seq_file with its seq_operations, the
 * rollup a single_open() show.
 */
static const struct proc_pid_file_operations proc_pid_files[] = {
	[PV_PROC_MAPS] = {
		.name = "maps", .read = proc_seq_read, .seq_ops = &proc_pid_maps_op,
	},
	[PV_PROC_SMAPS] = {
		.name = "smaps", .read = proc_seq_read, .seq_ops = &proc_pid_smaps_op,
	},
	[PV_PROC_SMAPS_ROLLUP] = {
		.name = "smaps_rollup", .read = proc_single_read,
		.single_show = show_smaps_rollup,
	},
	[PV_PROC_NUMA_MAPS] = {
		.name = "numa_maps", .read = proc_seq_read,
		.seq_ops = &proc_pid_numa_maps_op,
	},
};

static const struct proc_pid_file_operations *proc_pid_file(int procfile)
{
	if (procfile < 0 || procfile >= (int)ARRAY_SIZE(proc_pid_files))
		return NULL;
	return &proc_pid_files[procfile];
}

int proc_maps_open(struct proc_maps_file *f, struct mm_struct *mm, int procfile,
		   int lock, struct pv_walk_stats *stats, struct walk_observer *obs)
{
	int err = pv_lock_check(lock, procfile);

	if (err)
		return err;
	f->fops = proc_pid_file(procfile);
	memset(&f->dummy, 0, sizeof(f->dummy));
	f->priv = (struct proc_maps_private){
		.lock_ctx = {
			.mm = mm, .ops = proc_maps_lock_ops(lock),
			.stats = stats ? stats : &f->dummy,
		},
		.obs = obs,
	};
	f->m = (struct seq_file){ .buf = f->buf, .size = PAGE_SIZE };
	f->eof = false;
	if (obs && obs->walk_begin)
		obs->walk_begin(obs);
	return 0;
}

static long __proc_maps_read(struct proc_maps_file *f)
{
	long n;

	if (f->eof)
		return 0;
	n = f->fops->read(f);
	if (n >= 0)
		f->priv.lock_ctx.stats->reads++;
	return n;
}

/* One read(): kernel code from the system call to the return to user space. */
long proc_maps_read(struct proc_maps_file *f)
{
	long n;

	syscall_enter();
	n = __proc_maps_read(f);
	syscall_exit();
	return n;
}

void proc_maps_release(struct proc_maps_file *f)
{
	if (f->eof)
		f->priv.lock_ctx.stats->walks++;
}

/* ---- read to EOF ---------------------------------------------------------- */

static void copy_to_user(char *buf, unsigned long len, unsigned long pos,
			 const char *src, unsigned long n)
{
	if (len && pos < len - 1) {
		unsigned long room = len - 1 - pos;

		memcpy(buf + pos, src, n < room ? n : room);
	}
}

long proc_read_all(struct mm_struct *mm, int procfile, int lock, char *buf,
		   unsigned long len, struct pv_walk_stats *stats,
		   struct walk_observer *obs)
{
	struct proc_maps_file f;
	unsigned long total = 0;
	long n;
	int err;

	err = proc_maps_open(&f, mm, procfile, lock, stats, obs);
	if (err)
		return err;
	while ((n = proc_maps_read(&f)) > 0) {
		copy_to_user(buf, len, total, f.m.buf, n);
		total += n;
	}
	proc_maps_release(&f);
	if (n < 0)
		return n;
	if (len)
		buf[total < len - 1 ? total : len - 1] = '\0';
	return total;
}

const char *pv_procfile_name(int procfile)
{
	const struct proc_pid_file_operations *fops = proc_pid_file(procfile);

	return fops ? fops->name : NULL;
}

int pv_procfile_lookup(const char *name)
{
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(proc_pid_files); i++)
		if (!strcmp(proc_pid_files[i].name, name))
			return i;
	return -EINVAL;
}

long pv_proc_read_all(struct mm_struct *mm, int procfile, int lock, char *buf,
		      unsigned long len, struct pv_walk_stats *stats)
{
	return proc_read_all(mm, procfile, lock, buf, len, stats, NULL);
}
