/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How the harness starts a child process (the mapper, the cat loop's shell). */
#ifndef PROCVMA_SPAWN_H
#define PROCVMA_SPAWN_H

#include <spawn.h>

/*
 * Initialise @attr as every child of ours starts: in a process group of
 * its own (a terminal's Ctrl-C reaches us, and we stop the child in
 * order; a child's group is killed together), with an empty signal mask
 * and default handling of the signals that end it, whatever the
 * embedding interpreter set for itself (Python ignores SIGPIPE).  The
 * caller destroys it (posix_spawnattr_destroy()).
 */
void pv_spawnattr_init(posix_spawnattr_t *attr);

#endif
