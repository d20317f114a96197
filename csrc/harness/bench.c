// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pv_bench_run(): check a sample's configuration once, then hand it to
 * its backend.  Kept apart from bench_common.c, which both backends
 * use, so that the dependencies run one way: bench -> backends -> common.
 */
#include <errno.h>
#include <string.h>

#include "backend.h"

int pv_bench_run(const struct pv_bench_config *cfg, struct pv_sample *out)
{
	memset(out, 0, sizeof(*out));

	if (cfg->duration_s < 0 || cfg->hang_timeout_s < 0)
		return pv_sample_fail(out, EINVAL, "duration and hang timeout must not be negative");
	if (cfg->nbusycpus < 0 || cfg->nbusytasks < 0)
		return pv_sample_fail(out, EINVAL, "nbusycpus and nbusytasks must not be negative");
	if (cfg->busyduration_ms < 0)
		return pv_sample_fail(out, EINVAL, "busyduration must not be negative");
	if (cfg->region_pages == 0)
		return pv_sample_fail(out, EINVAL, "the region must have at least one page");
	if (cfg->holes > cfg->region_pages / PV_HOLES_MIN_PAGES_EACH)
		return pv_sample_fail(out, EINVAL, "%lu holes do not fit in %lu pages (at most %lu)",
				      cfg->holes, cfg->region_pages,
				      cfg->region_pages / PV_HOLES_MIN_PAGES_EACH);
	if (cfg->scanner == PV_SCANNER_QUERY &&
	    (cfg->backend == PV_BACKEND_SIM ? cfg->procfile != PV_PROC_MAPS :
	     strcmp(cfg->procfile_name, "maps") != 0))
		return pv_sample_fail(out, EINVAL, "the query scanner reads maps only");
	if (cfg->scanner == PV_SCANNER_COMMAND &&
	    (cfg->backend != PV_BACKEND_KERNEL || !cfg->scanner_command[0] ||
	     !memchr(cfg->scanner_command, '\0', sizeof(cfg->scanner_command))))
		return pv_sample_fail(out, EINVAL,
				      "a scanner command runs on the kernel backend only, and must not be empty");

	switch (cfg->backend) {
	case PV_BACKEND_SIM:
		return pv_bench_run_sim(cfg, out);
	case PV_BACKEND_KERNEL:
		return pv_bench_run_kernel(cfg, out);
	}
	return pv_sample_fail(out, EINVAL, "unknown backend %d", cfg->backend);
}
