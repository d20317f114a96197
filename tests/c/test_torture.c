// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The torture test from C, so that it runs under the sanitizers too:
 * a clean run must find no violation while every design walks every
 * procfile it reads; each injected fault must be found.
 *
 *   test_torture [SECONDS]     length of the clean run (default 1)
 *
 * Fault runs stop at their first violation, or give up after 10 s.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kernel/api.h"
#include "torture/api.h"

static const char *const fault_name[] = {
	[PV_INJECT_NO_RESUME_CHECK] = "no-resume-check",
	[PV_INJECT_NO_VMA_LOCK] = "no-vma-lock",
	[PV_INJECT_NO_DRAIN] = "no-drain",
	[PV_INJECT_SKIP_MERGED] = "skip-merged",
	[PV_INJECT_NO_SPECULATE_RETRY] = "no-speculate-retry",
};

static int failures;

static void run(double seconds, int inject, int writers)
{
	struct pv_torture_config cfg = {
		.locks = (1u << PV_NR_LOCKS) - 1,	/* every design */
		.procfiles = 1u << PV_PROC_MAPS | 1u << PV_PROC_SMAPS |
			     1u << PV_PROC_SMAPS_ROLLUP,
		.writers = writers,
		.readers = 2,
		.duration_s = seconds,
		.inject = inject,
		.region_pages = 1024,
		.phase_ms = 50,
		.seed = 42,
		.stop_after = inject ? 1 : 0,
	};
	struct pv_torture_result *res = calloc(1, sizeof(*res));
	const char *name = inject ? fault_name[inject] : "clean";
	unsigned long long walks = 0, fallbacks = 0, drops = 0, retries = 0;
	int err, l, p, i;

	if (!res) {
		failures++;
		return;
	}
	err = pv_torture_run(&cfg, res);
	for (l = 0; l < PV_NR_LOCKS; l++) {
		for (p = 0; p < 3; p++)
			walks += res->walks[l][p];
		fallbacks += res->stats[l].fallbacks;
		drops += res->stats[l].drops;
		retries += res->stats[l].retries;
	}
	printf("%s, %d writer(s): %.1f s, %llu walks, %llu fallbacks, %llu drops, "
	       "%llu retries, %llu violations\n", name, writers, res->elapsed_s, walks,
	       fallbacks, drops, retries, res->violations);
	for (i = 0; i < res->nmessages; i++)
		printf("  %s\n", res->messages[i]);

	if (err) {
		printf("FAIL %s: pv_torture_run() = %d\n", name, err);
		failures++;
	} else if (!inject) {
		for (l = 0; l < PV_NR_LOCKS; l++)
			for (p = 0; p < 3; p++)
				if (!pv_lock_check(l, p) && !res->walks[l][p]) {
					printf("FAIL %s: no walk of %s in design %s\n",
					       name, pv_procfile_name(p), pv_lock_name(l));
					failures++;
				}
		if (res->violations) {
			printf("FAIL %s: violations in a clean run\n", name);
			failures++;
		}
		if (res->vmas_in_tree + res->vmas_free != res->vmas_total) {
			printf("FAIL %s: VMAs unaccounted for\n", name);
			failures++;
		}
	} else if (!res->violations) {
		printf("FAIL %s: the injected fault went unnoticed\n", name);
		failures++;
	}
	free(res);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;

	run(seconds, 0, 1);
	run(seconds, 0, 2);
	run(10, PV_INJECT_NO_RESUME_CHECK, 1);
	run(10, PV_INJECT_NO_VMA_LOCK, 1);
	run(10, PV_INJECT_NO_DRAIN, 1);
	run(10, PV_INJECT_SKIP_MERGED, 1);
	run(10, PV_INJECT_NO_SPECULATE_RETRY, 1);
	printf("test_torture: %s\n", failures ? "FAILED" : "passed");
	return failures ? 1 : 0;
}
