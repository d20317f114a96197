/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PROCVMA_HARNESS_API_H
#define PROCVMA_HARNESS_API_H
/*
 * The benchmark harness's API: one sample on either backend, and the
 * calibration probes.  Built on the simulated kernel's API (kernel/api.h
 * and its ground floor, kernel/uapi.h), which cffi reads first.
 *
 * Read by the C compiler and by cffi's cdef parser alike: plain
 * declarations and integer #defines only, as in kernel/api.h (the
 * include guard aside, which the cffi build drops).
 */

/* ---- the benchmark (bench.c, bench_sim.c, bench_kernel.c) ------------ */

#define PV_BACKEND_SIM 0
#define PV_BACKEND_KERNEL 1

#define PV_SCANNER_READ 0	/* open, read to EOF, close, in-process */
#define PV_SCANNER_CAT 1	/* kernel: a bash loop running cat per pass, as
				 * scanpid.sh; sim: cat's calibrated pass cost */
/*
 * maps only: open /proc/PID/maps once per pass and ask PROCMAP_QUERY for
 * every VMA in turn (the covering-or-next one above the last), as
 * symbolizers such as blazesym do.
 */
#define PV_SCANNER_QUERY 2
/*
 * kernel only: the user's own command per pass (--scanner-command), run
 * by bash as a line of the cat scanner's loop, {pid} replaced by the
 * mapper's pid.
 */
#define PV_SCANNER_COMMAND 3

struct pv_ktrace;			/* the BPF lock trace (ktrace.c) */

/*
 * One sample's parameters.  CPU numbers are already validated; the rest
 * pv_bench_run() checks, once, before either backend sees them.
 */
/* The longest --scanner-command, its NUL included. */
#define PV_MAX_SCANNER_COMMAND 1024

struct pv_bench_config {
	int backend;
	int lock;			/* sim only */
	char procfile[64];		/* the file under /proc/PID the scanners read */
	int scanner;			/* PV_SCANNER_*; the sim pays pass_cost_ns for it */
	char scanner_command[PV_MAX_SCANNER_COMMAND];	/* PV_SCANNER_COMMAND: the command, {pid} unexpanded */
	int cpumapper;
	int cpuscript;
	int cpubusytasks;
	int nbusycpus;
	int nbusytasks;
	int busyduration_ms;		/* 0: spin forever */
	double duration_s;
	double hang_timeout_s;		/* grace after duration: 5 s */
	unsigned long region_pages;
	unsigned long holes;		/* single-page holes at the start (pv_bench_holes) */
	unsigned long long seed;	/* the op stream, and where the holes go */
	unsigned long max_map_count;	/* sim only; 0: PV_DEFAULT_MAX_MAP_COUNT */
	double op_cost_ns;		/* sim only: extra per-op kernel work */
	double walk_cost_ns;		/* sim only: extra work per page walked */
	double text_cost_ns;		/* sim only: extra work per byte of /proc text */
	double pass_cost_ns;		/* sim only: scanner's work per pass outside any lock */
	int preempt;			/* sim only: PV_PREEMPT_*, the model's kernel */
	char mapper_path[4096];		/* kernel only: the mapper executable */
	/*
	 * Kernel only: when trace is set, the harness writes to
	 * trace_marker_fd (tracefs's trace_marker) "procvma start
	 * mapper=PID" as the start gate opens and "procvma end" once the
	 * mapper is done, for procvma/host/locktrace.py to find the sample in
	 * the trace.
	 */
	int trace;
	int trace_marker_fd;
	/*
	 * Kernel only: the BPF lock trace (pv_ktrace_open()) the sample
	 * tells who its mapper and readers are and when it starts and ends;
	 * NULL: none.  Its figures are read after the sample.
	 */
	struct pv_ktrace *ktrace;
};

/* What one sample measured (docs/results-format.md).  Times in milliseconds. */
struct pv_sample {
	unsigned long long nmaps;
	unsigned long long nunmaps;
	unsigned long long nfailed;	/* ops that returned an error */
	double opavg_ms;
	double opmax_ms;
	double p50_ms;
	double p90_ms;
	double p99_ms;
	double p999_ms;
	int hang;
	int interrupted;		/* pv_bench_stop() cut it short */
	unsigned long long walks;
	double walk_avg_ms;
	double walk_max_ms;
	unsigned long long drops;
	unsigned long long fallbacks;
	unsigned long long retries;
	unsigned long long vmas;	/* the region's VMAs at the end */
	double setup_s;			/* wall time to build and place tasks */
	/*
	 * mmap_lock, as its tracepoints tell it: the mapper's waits for the
	 * write lock, and the scanners' read holds (acquire to release).
	 * The simulator fills them always, the kernel backend never (they
	 * come from its trace, in Python).
	 */
	double mapper_wait_ms;		/* total */
	double mapper_wait_max_ms;
	double reader_hold_avg_ms;
	double reader_hold_max_ms;
	unsigned long long reader_mmap_locks;	/* read acquisitions */
	/*
	 * The holds' total split by where the holder was: on its CPU,
	 * preempted (runnable, off it), asleep.  Sim: its own scheduling,
	 * and the host's as the thread's CPU clock tells it.
	 */
	double reader_hold_running_ms;
	double reader_hold_preempted_ms;
	double reader_hold_sleeping_ms;
	unsigned long long mapper_sleeps;	/* sleeps waiting for the write lock */
	unsigned long long mapper_wakeups;	/* wake-ups those waits were sent */
	double mapper_wake_to_run_ms;	/* mean, waker's call to running; NaN: none */
	double reader_cpu_per_pass_ms;	/* scanners' CPU time per pass counted */
	int err;			/* 0, or errno of what failed */
	char errmsg[256];
};

/*
 * Run one sample; blocks for about duration_s.  Returns 0 or -errno
 * (errmsg then says what failed).  Thread-safe against pv_bench_stop().
 */
int pv_bench_run(const struct pv_bench_config *cfg, struct pv_sample *out);

/* Ask a running pv_bench_run() to stop early (Ctrl-C). */
void pv_bench_stop(void);
void pv_bench_reset_stop(void);

/*
 * The mapper's op stream for @seed, as both backends draw it: @n ops,
 * page numbers into @pages, 1 (mmap) or 0 (munmap) into @maps.
 */
void pv_bench_opstream(unsigned long long seed, unsigned long region_pages,
		       unsigned long n, unsigned long *pages, int *maps);

/*
 * The region's starting holes for --holes @holes (opgen.h says how they
 * are spread), page numbers in increasing order into @pages.  -EINVAL
 * when they do not fit: each needs PV_HOLES_MIN_PAGES_EACH pages.
 */
#define PV_HOLES_MIN_PAGES_EACH 3
int pv_bench_holes(unsigned long long seed, unsigned long region_pages,
		   unsigned long holes, unsigned long *pages);

/*
 * Whether the host kernel answers PROCMAP_QUERY on @maps_path (a
 * /proc/PID/maps): 0, or -errno (-ENOTTY or -EINVAL: a kernel before
 * 6.11, which has no such ioctl).
 */
int pv_procmap_query_probe(const char *maps_path);

/* ---- the BPF lock trace (ktrace.c, csrc/bpf/locktrace.bpf.c) --------- */

/*
 * One sample's mmap_lock figures, summed in the kernel: the mapper's
 * waits for the write lock (and its sleeps and wake-ups while it waits),
 * the readers' read holds on the mapper's mm split by where the holder
 * was (running, off CPU runnable, off CPU asleep), and the readers' CPU
 * time over the sample.
 */
struct pv_ktrace_figures {
	double mapper_wait_ms;
	double mapper_wait_max_ms;
	unsigned long long mapper_waits;
	unsigned long long mapper_sleeps;
	unsigned long long mapper_wakeups;
	double mapper_wake_to_run_ms;		/* mean; NaN: no wake-up ran */
	unsigned long long reader_mmap_locks;	/* read acquisitions */
	unsigned long long reader_holds;	/* ... that were released */
	double reader_hold_ms;			/* their total */
	double reader_hold_max_ms;
	double reader_hold_running_ms;		/* measured apart: the three */
	double reader_hold_preempted_ms;	/*   should add up to the total */
	double reader_hold_sleeping_ms;
	double reader_cpu_ms;
	unsigned long long missed;		/* tasks the trace had no room for */
};

/* 1 when this core was built with the BPF engine. */
int pv_ktrace_built(void);
/*
 * Load and attach the programs.  0, or -errno with @errmsg saying why in
 * one line (no BTF, no permission, built without BPF).
 */
int pv_ktrace_open(struct pv_ktrace **out, char *errmsg, int errlen);
/*
 * The same, with @fentry: the lock programs on the rwsem functions
 * (fentry/fexit) instead of the mmap_lock tracepoints.  No fallback here:
 * where they do not load, it fails as above and the caller chooses.
 */
int pv_ktrace_open_engine(struct pv_ktrace **out, int fentry, char *errmsg,
			  int errlen);
/* 1 when @kt's lock programs are the fentry ones. */
int pv_ktrace_fentry(struct pv_ktrace *kt);
/* Detach and free everything; NULL is fine. */
void pv_ktrace_close(struct pv_ktrace *kt);
/* The last sample's figures.  0 or -errno. */
int pv_ktrace_figures(struct pv_ktrace *kt, struct pv_ktrace_figures *out);
/*
 * What a sample tells the programs as it goes (the kernel backend calls
 * them; the tests, around a workload of their own).  Each is a store into
 * the programs' mmapped globals or one map update, made outside every
 * timed region; each is a no-op on a NULL trace.
 */
/* A new sample with this mapper: sums and followed tasks cleared. */
int pv_ktrace_arm(struct pv_ktrace *kt, int mapper_pid);
/* The calling thread reads: it, and whatever it forks from now on. */
int pv_ktrace_add_reader(struct pv_ktrace *kt);
/* The start gate opens: count from now. */
void pv_ktrace_start(struct pv_ktrace *kt);
/* The mapper is done: its events stop counting, the readers' go on. */
void pv_ktrace_mapper_done(struct pv_ktrace *kt);
/* The scanners are stopped: nothing counts any more. */
void pv_ktrace_disarm(struct pv_ktrace *kt);

/* ---- calibration measurements (calib.c) ------------------------------ */

/* Mean cost in ns of one CLOCK_MONOTONIC read, over @n reads. */
double pv_calib_clock_ns(unsigned long n);
/*
 * Mean ns of one pass over the host file @path: open(), then, when
 * @read_to_eof, read() to EOF, then close().  -errno on failure.
 */
double pv_calib_proc_pass_ns(const char *path, unsigned long n, int read_to_eof);
/*
 * Mean CPU time in ns of one pass of the cat scanner on @path, the
 * reference's bash loop forking and execing cat, over at least @n
 * passes.  -errno on failure.
 */
double pv_calib_cat_pass_ns(const char *path, unsigned long n);
/* Mean ns of one simulated read of @procfile to EOF.  -errno on failure. */
double pv_calib_sim_pass_ns(struct mm_struct *mm, int procfile, int lock,
			    unsigned long n);
/*
 * Map @npages populated anonymous base pages in this process; when
 * @vma_pages > 0, unmap every (@vma_pages+1)-th page so the rest form
 * VMAs of @vma_pages pages.  NULL on failure.
 */
void *pv_calib_region_map(unsigned long npages, unsigned long vma_pages);
void pv_calib_region_unmap(void *addr, unsigned long npages);

#endif /* PROCVMA_HARNESS_API_H */
