/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated kernel's own fault-injection hook: the only way a test
 * (procvma torture --inject) reaches inside it.  The PV_INJECT_* bits
 * stand on the ground floor (uapi.h), shared with the torture test; a
 * fault is armed per mm with pv_mm_set_inject() and tested where it would
 * strike with should_fail().
 */
#ifndef PROCVMA_FAULT_INJECT_H
#define PROCVMA_FAULT_INJECT_H

#include <stdbool.h>

#include "uapi.h"
#include "compiler.h"
#include "mm_types.h"

static inline bool should_fail(const struct mm_struct *mm, int fault)
{
	return unlikely(mm->inject & fault);
}

#endif
