/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Thin futex(2) wrappers: sleep while *uaddr == val, wake sleepers. */
#ifndef PROCVMA_FUTEX_H
#define PROCVMA_FUTEX_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * Returns at once if *uaddr != val; spurious wake-ups are the caller's to
 * handle.  0 when woken, -EAGAIN when *uaddr had changed already (it did
 * not sleep), -EINTR when a signal ended the sleep.
 */
static inline int futex_wait(atomic_uint *uaddr, unsigned int val)
{
	return syscall(SYS_futex, uaddr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0) ? -errno : 0;
}

/* As futex_wait(), for at most @ns nanoseconds. */
static inline void futex_wait_ns(atomic_uint *uaddr, unsigned int val, long long ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	syscall(SYS_futex, uaddr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static inline void futex_wake_all(atomic_uint *uaddr)
{
	syscall(SYS_futex, uaddr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

#endif
