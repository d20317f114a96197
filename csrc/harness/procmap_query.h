/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PROCMAP_QUERY on the host kernel: the ioctl on /proc/PID/maps that
 * answers one VMA per call (Linux 6.11+), as the kernel backend's query
 * scanner uses it.
 *
 * The ABI is stable (include/uapi/linux/fs.h); C libraries' kernel
 * headers older than 6.11 lack it, so it is spelled out here when
 * <linux/fs.h> does not define it.
 */
#ifndef PROCVMA_PROCMAP_QUERY_H
#define PROCVMA_PROCMAP_QUERY_H

#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef PROCMAP_QUERY
struct procmap_query {
	__u64 size;		/* in: sizeof(struct procmap_query) */
	__u64 query_flags;	/* in: PROCMAP_QUERY_* */
	__u64 query_addr;	/* in */
	__u64 vma_start;	/* out: the VMA found */
	__u64 vma_end;
	__u64 vma_flags;	/* out: PROCMAP_QUERY_VMA_* */
	__u64 vma_page_size;
	__u64 vma_offset;	/* out: file offset, 0 when anonymous */
	__u64 inode;
	__u32 dev_major;
	__u32 dev_minor;
	__u32 vma_name_size;	/* in: buffer size; out: name length + 1, or 0 */
	__u32 build_id_size;	/* in: buffer size; out: build ID size, or 0 */
	__u64 vma_name_addr;	/* in: user buffer for the name, or 0 */
	__u64 build_id_addr;	/* in: user buffer for the build ID, or 0 */
};

#define PROCMAP_QUERY_VMA_READABLE		0x01
#define PROCMAP_QUERY_VMA_WRITABLE		0x02
#define PROCMAP_QUERY_VMA_EXECUTABLE		0x04
#define PROCMAP_QUERY_VMA_SHARED		0x08
#define PROCMAP_QUERY_COVERING_OR_NEXT_VMA	0x10
#define PROCMAP_QUERY_FILE_BACKED_VMA		0x20

#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#endif

_Static_assert(sizeof(struct procmap_query) == 104,
	       "struct procmap_query is the kernel's 104-byte ABI");

#endif
