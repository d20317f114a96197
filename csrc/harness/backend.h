/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The backends behind pv_bench_run() (bench.c); the same contract as it. */
#ifndef PROCVMA_BACKEND_H
#define PROCVMA_BACKEND_H

#include "bench_common.h"

/* @procfile: cfg->procfile's PV_PROC_*, as pv_bench_run() found it. */
int pv_bench_run_sim(const struct pv_bench_config *cfg, int procfile,
		     struct pv_sample *out);
int pv_bench_run_kernel(const struct pv_bench_config *cfg, struct pv_sample *out);

#endif
