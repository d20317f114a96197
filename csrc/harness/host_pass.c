// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A scanner's pass over the host kernel's /proc files: read to EOF, the
 * way cat reads a file, or PROCMAP_QUERY for every VMA, the way a
 * symbolizer walks an address space; and the probe that tells whether
 * this kernel has that ioctl at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kernel/api.h"
#include "api.h"
#include "host_pass.h"
#include "procmap_query.h"

int pv_host_read_pass(const char *path, char *buf, size_t len, int read_to_eof)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t got;

	if (fd < 0)
		return -errno;
	while (read_to_eof && (got = read(fd, buf, len)) != 0) {
		if (got < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
	}
	close(fd);
	return err;
}

long pv_host_procmap_query_walk(int fd, char *name, unsigned int name_size)
{
	struct procmap_query q;
	__u64 addr = 0;
	long n = 0;

	for (;;) {
		/* What a symbolizer asks: the VMA at or above addr, and its name. */
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
		q.query_addr = addr;
		q.vma_name_addr = (__u64)(uintptr_t)name;
		q.vma_name_size = name_size;
		if (ioctl(fd, PROCMAP_QUERY, &q)) {
			if (errno == ENOENT)
				return n;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n++;
		addr = q.vma_end;
	}
}

int pv_host_query_pass(const char *path, char *name, unsigned int name_size)
{
	long n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pv_host_procmap_query_walk(fd, name, name_size);
	close(fd);
	return n < 0 ? (int)n : 0;
}

int pv_procmap_query_probe(const char *maps_path)
{
	struct procmap_query q = {
		.size = sizeof(q),
		.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
	};
	int fd, err = 0;

	fd = open(maps_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* ENOENT is an answer (no VMA at all), so the ioctl is there. */
	if (ioctl(fd, PROCMAP_QUERY, &q) && errno != ENOENT)
		err = -errno;
	close(fd);
	return err;
}
