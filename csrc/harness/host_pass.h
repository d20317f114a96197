/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A scanner's pass over the host kernel's /proc files, as the kernel
 * backend's in-process scanners and the calibration probes make it.
 */
#ifndef PROCVMA_HOST_PASS_H
#define PROCVMA_HOST_PASS_H

#include <stddef.h>

/*
 * open() @path, then, when @read_to_eof, read() it to EOF into @buf (@len
 * bytes at a time, as cat reads), then close(): 0 or -errno.
 */
int pv_host_read_pass(const char *path, char *buf, size_t len, int read_to_eof);

/*
 * One pass over the open /proc/PID/maps @fd: PROCMAP_QUERY for every VMA
 * from address 0 on, asking for each one's name into @name.  Returns the
 * VMAs seen, or -errno (-ENOTTY: no such ioctl on this kernel).
 */
long pv_host_procmap_query_walk(int fd, char *name, unsigned int name_size);

/* open() the maps file @path, walk it as above, close(): 0 or -errno. */
int pv_host_query_pass(const char *path, char *name, unsigned int name_size);

#endif
