// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The simulated mm's life and its API entry points: creating and
 * destroying an mm, the mapper's mmap()/munmap() calls as a syscall makes
 * them (take the mmap write lock, do the work in mmap.c, release, spend
 * the rest of the call's cost), its settings, the mmap_lock figures a
 * task attaches, and RCU registration.
 */
#include <errno.h>
#include <stdlib.h>

#include "api.h"
#include "compiler.h"
#include "ktime.h"
#include "mm.h"
#include "mmap_lock.h"
#include "sched.h"
#include "vma_tree.h"

/* Where the simulated region lives: a typical x86-64 mmap base. */
#define REGION_BASE 0x7f2a40000000UL

/* ---- simulated kernel work the model does not do step by step -------- */

/*
 * Spin for the per-op cost the simulator does not model step by step
 * (syscall entry, page zeroing, TLB flush): a calibration knob, measured
 * against the host kernel, not a guess.  Spent after the mmap write lock
 * is released: the kernel does that work with no lock (syscall entry and
 * exit), under the read lock (mm_populate() faults the page in after
 * vm_mmap_pgoff() drops the write lock; munmap() downgrades before it
 * zaps and frees), or under the page table lock, none of which keeps a
 * /proc reader out.  The write-locked part, the VMA changes, the model
 * does step by step.
 */
static void burn_op_cost(const struct mm_struct *mm)
{
	if (mm->op_cost_ns > 0)
		spin_cpu_ns((uint64_t)mm->op_cost_ns);
}

/* ---- the API ---------------------------------------------------------- */

static int region_range(struct mm_struct *mm, unsigned long first_page,
			unsigned long npages, unsigned long *start,
			unsigned long *end)
{
	if (!npages || first_page >= mm->region_pages ||
	    npages > mm->region_pages - first_page)
		return -EINVAL;
	*start = page_addr(mm, first_page);
	*end = page_addr(mm, first_page + npages);
	return 0;
}

int pv_mmap_fixed_populate(struct mm_struct *mm, unsigned long first_page,
			   unsigned long npages)
{
	unsigned long start, end;
	int err = region_range(mm, first_page, npages, &start, &end);

	if (err)
		return err;
	syscall_enter();
	mmap_write_lock(mm);
	err = do_mmap_fixed_populate(mm, start, end);
	mmap_write_unlock(mm);
	burn_op_cost(mm);
	syscall_exit();
	return err;
}

int pv_munmap(struct mm_struct *mm, unsigned long first_page, unsigned long npages)
{
	unsigned long start, end;
	int err = region_range(mm, first_page, npages, &start, &end);

	if (err)
		return err;
	syscall_enter();
	mmap_write_lock(mm);
	err = do_munmap(mm, start, end);
	mmap_write_unlock(mm);
	burn_op_cost(mm);
	syscall_exit();
	return err;
}

struct mm_struct *pv_mm_create(unsigned long region_pages, int populate)
{
	struct mm_struct *mm;

	if (!region_pages || region_pages > PV_MM_MAX_REGION_PAGES)
		return NULL;
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		return NULL;
	init_rwsem(&mm->mmap_lock);
	atomic_init(&mm->mm_lock_seq, 0);
	atomic_init(&mm->vma_writer_wait, 0);
	vma_tree_init(&mm->mm_mt, 0x9e3779b97f4a7c15ULL);
	cds_lfs_init(&mm->vma_reclaimed);
	mm->max_map_count = DEFAULT_MAX_MAP_COUNT;
	mm->region_start = REGION_BASE;
	mm->region_pages = region_pages;

	if (mm_pages_init(mm) || mm_vma_pool_init(mm)) {
		pv_mm_destroy(mm);
		return NULL;
	}

	if (populate) {
		int err;

		mmap_write_lock(mm);
		err = do_mmap_fixed_populate(mm, mm->region_start,
					     page_addr(mm, region_pages));
		mmap_write_unlock(mm);
		if (err) {
			pv_mm_destroy(mm);
			return NULL;
		}
	}
	return mm;
}

void pv_mm_destroy(struct mm_struct *mm)
{
	if (!mm)
		return;
	/* Outstanding call_rcu() callbacks still point into the pool. */
	rcu_barrier();
	mm_vma_pool_free(mm);
	mm_pages_free(mm);
	free(mm);
}

unsigned long pv_mm_region_start(const struct mm_struct *mm)
{
	return mm->region_start;
}

unsigned long pv_mm_map_count(const struct mm_struct *mm)
{
	return READ_ONCE(mm->map_count);
}

void pv_mm_set_max_map_count(struct mm_struct *mm, unsigned long max)
{
	mm->max_map_count = max;
	/*
	 * Now, not in the mapper's timed calls.  Should it fail, those
	 * allocate past the pool themselves.
	 */
	mm_vma_pool_reserve(mm);
}

unsigned long long pv_mm_footprint(unsigned long region_pages,
				   unsigned long max_map_count)
{
	return sizeof(struct mm_struct) + mm_pages_footprint(region_pages) +
	       mm_vma_pool_footprint(region_pages, max_map_count ? max_map_count :
				     DEFAULT_MAX_MAP_COUNT);
}

void pv_mm_set_inject(struct mm_struct *mm, int faults)
{
	mm->inject = faults;
}

void pv_mm_set_op_cost_ns(struct mm_struct *mm, double ns)
{
	mm->op_cost_ns = ns;
}

void pv_lock_stat_attach(struct pv_lock_stat *st)
{
	current_lock_stat = st;
}

/*
 * liburcu allows one registration per thread, but a Python thread can be
 * both a long-lived registered user (procvma.sim.simmm) and the driver of a
 * benchmark sample, which registers for its own span: count the nesting
 * and talk to liburcu only at the outermost level.
 */
static __thread unsigned int pv_rcu_nesting;

void pv_rcu_register_thread(void)
{
	if (pv_rcu_nesting++ == 0)
		rcu_register_thread();
}

void pv_rcu_unregister_thread(void)
{
	if (pv_rcu_nesting == 0)
		return;
	if (--pv_rcu_nesting == 0)
		rcu_unregister_thread();
}

void pv_rcu_barrier(void)
{
	rcu_barrier();
}
