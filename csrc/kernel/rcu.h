/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RCU for the simulated kernel: liburcu's membarrier flavour.  Readers pay
 * a few instructions (the kernel's preemptible RCU is comparable); the
 * writer's call_rcu() hands frees to liburcu's call_rcu thread, which runs
 * them after a grace period, as the kernel does for VMAs and maple nodes.
 *
 * liburcu's map header gives the kernel's names: rcu_read_lock(),
 * rcu_read_unlock(), rcu_dereference(), rcu_assign_pointer(), call_rcu(),
 * rcu_barrier(), rcu_register_thread().
 */
#ifndef PROCVMA_RCU_H
#define PROCVMA_RCU_H

#define _LGPL_SOURCE	/* inline the read-side fast paths */
#define URCU_API_MAP	/* keep the kernel-style names mapped to urcu_memb_* */
#include <urcu/urcu-memb.h>

#endif
