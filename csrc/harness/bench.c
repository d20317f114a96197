// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pv_bench_run(): check a sample's configuration once, then hand it to
 * its backend.  Kept apart from bench_common.c, which both backends
 * use, so that the dependencies run one way: bench -> backends -> common.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "backend.h"

/* The simulator's own limits: its designs, its files, its task table. */
static int pv_bench_check_sim(const struct pv_bench_config *cfg, struct pv_sample *out)
{
	int procfile = pv_procfile_lookup(cfg->procfile);
	int err;

	if (procfile < 0)
		return pv_sample_fail(out, EINVAL, "the simulator has no procfile '%s'",
				      cfg->procfile);
	if (!pv_lock_name(cfg->lock))
		return pv_sample_fail(out, EINVAL, "unknown lock design %d", cfg->lock);
	err = cfg->scanner == PV_SCANNER_QUERY ? pv_lock_check_query(cfg->lock) :
						   pv_lock_check(cfg->lock, procfile);
	if (err)
		return pv_sample_fail(out, -err, "--lock %s cannot read %s%s",
				      pv_lock_name(cfg->lock), cfg->procfile,
				      cfg->scanner == PV_SCANNER_QUERY ?
				      " with PROCMAP_QUERY" : "");
	if (cfg->preempt < PV_PREEMPT_NONE || cfg->preempt > PV_PREEMPT_LAZY)
		return pv_sample_fail(out, EINVAL, "unknown preemption model %d", cfg->preempt);
	if (cfg->cpumapper < 0 || cfg->cpumapper >= CPU_SETSIZE || cfg->cpubusytasks < 0 ||
	    cfg->cpubusytasks + cfg->nbusycpus > CPU_SETSIZE)
		return pv_sample_fail(out, EINVAL, "a CPU number is out of range");
	if (cfg->nbusycpus > CPU_SETSIZE || cfg->nbusytasks > 4096)
		return pv_sample_fail(out, EINVAL, "too many busy tasks (%d CPUs x %d)",
				      cfg->nbusycpus, cfg->nbusytasks);
	if (cfg->cpuscript < 0 || cfg->cpuscript >= CPU_SETSIZE)
		return pv_sample_fail(out, EINVAL, "cannot pin the driver to CPU %d: no such CPU",
				      cfg->cpuscript);
	return procfile;
}

/* The whole configuration, once: 0, or -errno with out->errmsg. */
static int pv_bench_check(const struct pv_bench_config *cfg, struct pv_sample *out)
{
	const char *file = cfg->procfile;

	if (cfg->backend != PV_BACKEND_SIM && cfg->backend != PV_BACKEND_KERNEL)
		return pv_sample_fail(out, EINVAL, "unknown backend %d", cfg->backend);
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
	if (!memchr(file, '\0', sizeof(cfg->procfile)) || !file[0] ||
	    strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, ".."))
		return pv_sample_fail(out, EINVAL, "procfile '%.*s' is not a file under /proc/PID",
				      (int)sizeof(cfg->procfile), file);
	if (cfg->scanner < PV_SCANNER_READ || cfg->scanner > PV_SCANNER_COMMAND)
		return pv_sample_fail(out, EINVAL, "unknown scanner %d", cfg->scanner);
	if (cfg->scanner == PV_SCANNER_QUERY && strcmp(file, "maps"))
		return pv_sample_fail(out, EINVAL, "the query scanner reads maps only");
	if (cfg->scanner == PV_SCANNER_COMMAND &&
	    (cfg->backend != PV_BACKEND_KERNEL || !cfg->scanner_command[0] ||
	     !memchr(cfg->scanner_command, '\0', sizeof(cfg->scanner_command))))
		return pv_sample_fail(out, EINVAL,
				      "a scanner command runs on the kernel backend only, and must not be empty");
	return 0;
}

int pv_bench_run(const struct pv_bench_config *cfg, struct pv_sample *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = pv_bench_check(cfg, out);
	if (ret)
		return ret;
	if (cfg->backend == PV_BACKEND_KERNEL)
		return pv_bench_run_kernel(cfg, out);
	ret = pv_bench_check_sim(cfg, out);
	if (ret < 0)
		return ret;
	return pv_bench_run_sim(cfg, ret, out);
}
