/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xorshift64*: the one cheap private coin of the simulated kernel (skip
 * list tower heights) and of the tests that drive it.  Not shared between
 * threads: each user owns its state word, so no atomics are needed.
 */
#ifndef PROCVMA_RANDOM_H
#define PROCVMA_RANDOM_H

#include <stdint.h>

/* @state must never be 0: seed it with an odd value. */
static inline uint64_t prandom_u64_state(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, @n): multiply-shift, no division, unbiased enough. */
static inline unsigned long prandom_below(uint64_t *state, unsigned long n)
{
	return (unsigned long)(((unsigned __int128)prandom_u64_state(state) * n) >> 64);
}

#endif
