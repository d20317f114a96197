/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel-style helpers for code that shares data with lockless readers.
 *
 * READ_ONCE/WRITE_ONCE are relaxed atomic accesses: they order nothing,
 * but they make a racy access a defined one (and visible to TSan), which
 * is what the kernel's versions promise in practice.
 */
#ifndef PROCVMA_COMPILER_H
#define PROCVMA_COMPILER_H

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - __builtin_offsetof(type, member)))

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* Kernel-style error pointers: small negative errno values as pointers. */
#define MAX_ERRNO	4095
#define ERR_PTR(err)	((void *)(long)(err))
#define PTR_ERR(ptr)	((long)(ptr))
#define IS_ERR(ptr)	((unsigned long)(ptr) >= (unsigned long)-MAX_ERRNO)
#define IS_ERR_OR_NULL(ptr)	(!(ptr) || IS_ERR(ptr))

#endif
