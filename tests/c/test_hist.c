// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The latency histogram against exact order statistics: random samples
 * of several shapes, every quantile within the promised relative error
 * (1/PV_HIST_SUB) of the true value and never below it.  Prints "ok" and
 * exits 0, or says which check failed and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "harness/hist.h"

static int failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		failures++;						\
	}								\
} while (0)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The exact value the histogram approximates: smallest v with >= q*n values <= v. */
static uint64_t exact_quantile(const uint64_t *sorted, size_t n, double q)
{
	size_t rank = (size_t)(q * (double)n);

	if ((double)rank < q * (double)n)
		rank++;
	if (rank == 0)
		rank = 1;
	return sorted[rank - 1];
}

static void check_shape(const char *name, uint64_t (*draw)(void), size_t n)
{
	static const double qs[] = { 0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0 };
	static struct pv_hist h;
	uint64_t *v = malloc(n * sizeof(*v));
	uint64_t sum = 0;
	size_t i;

	if (!v) {
		perror("malloc");
		exit(1);
	}
	pv_hist_init(&h);
	for (i = 0; i < n; i++) {
		v[i] = draw();
		sum += v[i];
		pv_hist_add(&h, v[i]);
	}
	qsort(v, n, sizeof(*v), cmp_u64);

	CHECK(h.count == n, "%s: count %llu", name, (unsigned long long)h.count);
	CHECK(h.sum_ns == sum, "%s: sum", name);
	CHECK(h.min_ns == v[0], "%s: min", name);
	CHECK(h.max_ns == v[n - 1], "%s: max", name);
	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t want = exact_quantile(v, n, qs[i]);
		uint64_t got = pv_hist_quantile(&h, qs[i]);

		CHECK(got >= want && (double)(got - want) <= (double)want / PV_HIST_SUB,
		      "%s: q=%g got %llu want %llu", name, qs[i],
		      (unsigned long long)got, (unsigned long long)want);
	}
	free(v);
}

static uint64_t draw_small(void) { return rng() % 200; }
static uint64_t draw_uniform(void) { return 1000 + rng() % 1000000; }
/* Log-uniform over 1 ns .. ~17 s, like a latency with a long tail. */
static uint64_t draw_logscale(void) { return rng() >> (30 + rng() % 34); }
static uint64_t draw_const(void) { return 123456; }
static uint64_t draw_huge(void) { return (rng() >> 1) | (1ull << 62); }

int main(void)
{
	static struct pv_hist h;

	pv_hist_init(&h);
	CHECK(pv_hist_quantile(&h, 0.5) == 0, "empty histogram");

	check_shape("small", draw_small, 10000);
	check_shape("uniform", draw_uniform, 100000);
	check_shape("logscale", draw_logscale, 100000);
	check_shape("const", draw_const, 1000);
	check_shape("single", draw_uniform, 1);
	/* Beyond the last group: clamped into the last bucket, max stays exact. */
	pv_hist_init(&h);
	pv_hist_add(&h, draw_huge());
	CHECK(pv_hist_quantile(&h, 0.5) == h.max_ns, "huge value");

	if (failures)
		return 1;
	puts("ok");
	return 0;
}
