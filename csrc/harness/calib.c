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
#include <spawn.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "bench_common.h"

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

double pv_calib_proc_pass_ns(const char *path, unsigned long n, int read_to_eof)
{
	char *buf = malloc(CALIB_BUF_SIZE);
	double ret = -ENOMEM;
	uint64_t t0;
	unsigned long i;

	if (!buf || !n)
		goto out;
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t got;

		if (fd < 0) {
			ret = -errno;
			goto out;
		}
		while (read_to_eof && (got = read(fd, buf, CALIB_BUF_SIZE)) != 0) {
			if (got < 0 && errno != EINTR) {
				ret = -errno;
				close(fd);
				goto out;
			}
		}
		close(fd);
	}
	ret = (double)(ktime_get_ns() - t0) / (double)n;
out:
	free(buf);
	return ret;
}

double pv_calib_cat_pass_ns(const char *path, unsigned long n)
{
	char *argv[] = { "cat", (char *)path, NULL };
	posix_spawn_file_actions_t actions;
	double ret = 0;
	unsigned long i;
	uint64_t t0;
	int err;

	if (!n)
		return 0;
	err = posix_spawn_file_actions_init(&actions);
	if (err)
		return -err;
	err = posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
					       O_WRONLY, 0);
	if (err) {
		ret = -err;
		goto out;
	}
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		int status;
		pid_t pid;

		err = posix_spawnp(&pid, "cat", &actions, NULL, argv, environ);
		if (err) {
			ret = -err;
			goto out;
		}
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR) {
				ret = -errno;
				goto out;
			}
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			ret = -EIO;
			goto out;
		}
	}
	ret = (double)(ktime_get_ns() - t0) / (double)n;
out:
	posix_spawn_file_actions_destroy(&actions);
	return ret;
}

double pv_calib_sim_pass_ns(struct mm_struct *mm, int procfile, int lock,
			    unsigned long n)
{
	char *buf = malloc(CALIB_BUF_SIZE);
	double ret = -ENOMEM;
	uint64_t t0;
	unsigned long i;

	if (!buf || !n)
		goto out;
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		/* The text beyond the buffer is produced and dropped, as a
		 * short read() would leave it to the next call. */
		long len = pv_proc_read_all(mm, procfile, lock, buf, CALIB_BUF_SIZE, NULL);

		if (len < 0) {
			ret = (double)len;
			goto out;
		}
	}
	ret = (double)(ktime_get_ns() - t0) / (double)n;
out:
	free(buf);
	return ret;
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
