// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Measurements of the host kernel and of the simulator for procvma
 * calibrate and the harness benchmarks: what one clock read costs, what
 * one pass of a /proc reader costs on each, and a populated region in
 * this process for the host's page walk to visit.
 *
 * Every loop here is timed as a whole and divided by its count, so the
 * clock's own cost is spread over the iterations instead of added to each.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


#include "bench_common.h"
#include "host_pass.h"
#include "scan_loop.h"

/* Big enough that reading a large smaps takes few read() calls, as cat's 128 KiB. */
#define CALIB_BUF_SIZE (128 * 1024)

double pv_calib_clock_ns(unsigned long n)
{
	volatile uint64_t sink = 0;
	uint64_t t0, i;

	if (!n)
		return 0;
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++)
		sink += ktime_get_ns();
	(void)sink;
	return (double)(ktime_get_ns() - t0) / (double)n;
}

/*
 * Time @n calls of @pass(@arg, buf), each given a CALIB_BUF_SIZE buffer:
 * nanoseconds per call, or the first call's -errno.
 */
static double calib_time_passes(int (*pass)(void *arg, char *buf), void *arg,
				unsigned long n)
{
	char *buf = malloc(CALIB_BUF_SIZE);
	double ret = -ENOMEM;
	uint64_t t0;
	unsigned long i;
	int err;

	if (!buf || !n)
		goto out;
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		err = pass(arg, buf);
		if (err) {
			ret = err;
			goto out;
		}
	}
	ret = (double)(ktime_get_ns() - t0) / (double)n;
out:
	free(buf);
	return ret;
}

struct host_pass {
	const char *path;
	int read_to_eof;
};

/* open(), then read() to EOF if asked, then close(): 0 or -errno. */
static int host_pass(void *arg, char *buf)
{
	const struct host_pass *h = arg;

	return pv_host_read_pass(h->path, buf, CALIB_BUF_SIZE, h->read_to_eof);
}

double pv_calib_proc_pass_ns(const char *path, unsigned long n, int read_to_eof)
{
	struct host_pass h = { .path = path, .read_to_eof = read_to_eof };

	return calib_time_passes(host_pass, &h, n);
}

/*
 * CPU time, in clock ticks, that process @pid and its reaped children
 * used (/proc/PID/stat utime, stime, cutime, cstime); -1 on failure.
 */
static long long proc_cpu_ticks(pid_t pid)
{
	unsigned long long ut, st;
	long long cut, cst;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');		/* the command name may hold anything */
	for (i = 0; p && i < 12; i++)	/* to field 14, utime */
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, "%llu %llu %lld %lld", &ut, &st, &cut, &cst) != 4)
		return -1;
	return (long long)(ut + st) + cut + cst;
}

/*
 * As the kernel backend's cat scanner runs it (scan_loop.c): the
 * reference's bash loop, forking and execing cat once per pass.  What
 * one pass costs in CPU time, the shell's and its cats': that is what
 * the simulated scanner spends (spin_cpu_ns()), and unlike the wall time
 * it does not grow with whatever else runs on the machine.
 */
double pv_calib_cat_pass_ns(const char *path, unsigned long n)
{
	const struct timespec settle = { 0, 50000000 }, tick = { 0, 5000000 };
	struct pv_scan_loop l;
	long long t0, t1;
	int err;

	if (!n)
		return 0;
	err = pv_scan_loop_start(&l, path);
	if (err)
		return err;
	nanosleep(&settle, NULL);	/* past the shell's start-up */
	pv_scan_loop_drain(&l);
	t0 = proc_cpu_ticks(l.pid);
	pv_scan_loop_begin(&l, 0);
	while (l.passes < n) {
		nanosleep(&tick, NULL);
		if (pv_scan_loop_drain(&l) == -EPIPE) {
			pv_scan_loop_stop(&l);
			return -EIO;
		}
	}
	t1 = proc_cpu_ticks(l.pid);
	pv_scan_loop_end(&l);
	pv_scan_loop_stop(&l);
	if (t0 < 0 || t1 < 0)
		return -EIO;
	return (double)(t1 - t0) * 1e9 / (double)sysconf(_SC_CLK_TCK) / (double)l.passes;
}

struct sim_pass {
	struct mm_struct *mm;
	int procfile;
	int lock;
};

/*
 * One read to EOF of the simulated file: 0 or -errno.  The text beyond
 * the buffer is produced and dropped, as a short read() would leave it to
 * the next call.
 */
static int sim_pass(void *arg, char *buf)
{
	const struct sim_pass *sp = arg;
	long len = pv_proc_read_all(sp->mm, sp->procfile, sp->lock, buf,
				    CALIB_BUF_SIZE, NULL);

	return len < 0 ? (int)len : 0;
}

double pv_calib_sim_pass_ns(struct mm_struct *mm, int procfile, int lock,
			    unsigned long n)
{
	struct sim_pass sp = { .mm = mm, .procfile = procfile, .lock = lock };

	return calib_time_passes(sim_pass, &sp, n);
}

void *pv_calib_region_map(unsigned long npages, unsigned long vma_pages)
{
	const size_t psize = (size_t)sysconf(_SC_PAGESIZE);
	const size_t len = npages * psize;
	unsigned long i;
	char *p;

	if (!npages)
		return NULL;
	/*
	 * Populated later, after MADV_NOHUGEPAGE: the benchmark's mapper
	 * gets base pages (it churns single pages), so must the walk.
	 */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	for (i = 0; i < npages; i++)
		p[i * psize] = 1;	/* a private, dirty anonymous page each */
	if (vma_pages)
		for (i = vma_pages; i < npages; i += vma_pages + 1)
			munmap(p + i * psize, psize);
	return p;
}

void pv_calib_region_unmap(void *addr, unsigned long npages)
{
	if (addr)
		munmap(addr, npages * (size_t)sysconf(_SC_PAGESIZE));
}
