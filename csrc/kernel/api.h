/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PROCVMA_KERNEL_API_H
#define PROCVMA_KERNEL_API_H
/*
 * The simulated kernel's API: what the harness and Python may call.  Its
 * constants and records are the ground floor's (uapi.h).
 *
 * This file is read twice: by the C compiler and by cffi's cdef parser
 * (procvma/_build_core.py).  Keep it to plain declarations and integer
 * #defines: no inline code, no conditional compilation but the include
 * guard, and no include but the API headers below it (uapi.h,
 * sched_api.h), all of which the cffi build drops (it reads those
 * headers itself, first).
 */

#include "uapi.h"
#include "sched_api.h"

struct mm_struct;

/*
 * Create an mm whose region is @region_pages pages at a fixed base,
 * populated (one VMA) when @populate is non-zero.  NULL on ENOMEM, or
 * when the region has more than PV_MM_MAX_REGION_PAGES pages (16 TiB).
 * The calling thread must be registered with RCU (pv_rcu_register_thread).
 */
#define PV_MM_MAX_REGION_PAGES 4294967296
struct mm_struct *pv_mm_create(unsigned long region_pages, int populate);
/*
 * Host memory, in bytes, that such an mm takes with every page populated
 * and the VMA pool @max_map_count calls for (0: PV_DEFAULT_MAX_MAP_COUNT): what
 * to check against the memory available before creating it.
 */
unsigned long long pv_mm_footprint(unsigned long region_pages,
				   unsigned long max_map_count);
void pv_mm_destroy(struct mm_struct *mm);
unsigned long pv_mm_region_start(const struct mm_struct *mm);
unsigned long pv_mm_map_count(const struct mm_struct *mm);
void pv_mm_set_max_map_count(struct mm_struct *mm, unsigned long max);
void pv_mm_set_inject(struct mm_struct *mm, int faults);
/* Extra simulated kernel work per mmap()/munmap(), after the write lock. */
void pv_mm_set_op_cost_ns(struct mm_struct *mm, double ns);
/*
 * Extra simulated kernel work per page a smaps, smaps_rollup or numa_maps
 * page walk visits (the host's per-PTE cost the model does not have),
 * spent once per page table walked, under whatever lock the walker holds.
 */
void pv_mm_set_walk_cost_ns(struct mm_struct *mm, double ns_per_page);
/*
 * Extra simulated kernel work per byte of text a /proc show writes (the
 * host's seq_file formatting, about 8 ns a byte against the model's
 * half a nanosecond), spent once per record, under the lock the show
 * runs under.
 */
void pv_mm_set_text_cost_ns(struct mm_struct *mm, double ns_per_byte);

/* Region page numbers are 0 .. region_pages-1.  0 or -errno. */
int pv_mmap_fixed_populate(struct mm_struct *mm, unsigned long first_page,
			   unsigned long npages);
int pv_munmap(struct mm_struct *mm, unsigned long first_page,
	      unsigned long npages);

/* Test hooks: set one populated page's state (mapcount, dirty, referenced). */
int pv_page_set_state(struct mm_struct *mm, unsigned long page, int mapcount,
		      int dirty, int referenced);
/*
 * Put a populated page on the active LRU list (@active non-zero) or the
 * inactive one, where a fresh anonymous page starts (numa_maps' active=).
 */
int pv_page_set_active(struct mm_struct *mm, unsigned long page, int active);
/* Turn a page's PTE into a swap entry (page leaves memory). */
int pv_page_swap_out(struct mm_struct *mm, unsigned long page);

/* The word --lock takes for design @lock (PV_LOCK_*); NULL for no such. */
const char *pv_lock_name(int lock);
/* The PV_LOCK_* of the design --lock @name names, or -EINVAL. */
int pv_lock_lookup(const char *name);
/*
 * 0 when design @lock reads /proc/PID/@procfile (PV_PROC_*);
 * -EOPNOTSUPP when it does not (its way of reading cannot walk that
 * file); -EINVAL for no such design or file.
 */
int pv_lock_check(int lock, int procfile);
/* The same for PROCMAP_QUERY, the ioctl on maps. */
int pv_lock_check_query(int lock);

/* The file under /proc/PID a PV_PROC_* stands for; NULL for no such. */
const char *pv_procfile_name(int procfile);
/* The PV_PROC_* of the simulated file /proc/PID/@name, or -EINVAL. */
int pv_procfile_lookup(const char *name);

/*
 * Read the whole of /proc/PID/@procfile as the kernel would, one
 * seq_file chunk per read().  Writes at most @len-1 bytes plus a NUL into
 * @buf and returns the full text length (which may exceed @len), or
 * -errno (-EOPNOTSUPP: as pv_lock_check()).  @stats may be NULL.
 */
long pv_proc_read_all(struct mm_struct *mm, int procfile, int lock,
		      char *buf, unsigned long len, struct pv_walk_stats *stats);

/*
 * One PROCMAP_QUERY on the simulated mm under the given design: 0 with
 * the out fields filled, -ENOENT when no VMA matches, -EINVAL or -E2BIG
 * for a malformed query, -EOPNOTSUPP as pv_lock_check_query().  @stats (may be NULL) counts the query in
 * reads, a match in vmas, and fallbacks and retries.
 */
int pv_procmap_query(struct mm_struct *mm, int lock, struct pv_procmap_query *q,
		     struct pv_walk_stats *stats);
/*
 * A symbolizer's pass: from address 0, ask for the VMA covering or
 * following each address until there is none.  Returns the VMAs seen,
 * or -errno.
 */
long pv_procmap_query_walk(struct mm_struct *mm, int lock,
			   struct pv_walk_stats *stats);

/*
 * Keep the calling thread's mmap_lock figures (struct pv_lock_stat) in
 * @st from now on; NULL: stop.
 */
void pv_lock_stat_attach(struct pv_lock_stat *st);

/* RCU: every thread that touches an mm registers first. */
void pv_rcu_register_thread(void);
void pv_rcu_unregister_thread(void);
void pv_rcu_barrier(void);

#endif /* PROCVMA_KERNEL_API_H */
