/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PROCVMA_HARNESS_KTRACE_H
#define PROCVMA_HARNESS_KTRACE_H
/*
 * The kernel backend's side of the BPF lock trace (ktrace.c): what a
 * sample tells the programs as it goes.  Each call is a store into the
 * programs' mmapped globals or one map update, made outside every timed
 * region; each is a no-op on a NULL trace.
 */
#include <sys/types.h>

struct pv_ktrace;

/* A new sample with this mapper: sums and followed tasks cleared. */
int pv_ktrace_arm(struct pv_ktrace *kt, pid_t mapper);
/* A scanner thread (the calling one): it and what it forks are readers. */
int pv_ktrace_add_reader(struct pv_ktrace *kt);
/* The start gate opens: count from now. */
void pv_ktrace_start(struct pv_ktrace *kt);
/* The mapper is done: its events stop counting, the readers' go on. */
void pv_ktrace_mapper_done(struct pv_ktrace *kt);
/* The scanners are stopped: nothing counts any more. */
void pv_ktrace_disarm(struct pv_ktrace *kt);

#endif /* PROCVMA_HARNESS_KTRACE_H */
