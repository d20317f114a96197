// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The reader locking designs, registered: the one table that knows them,
 * indexed by their PV_LOCK_* constants (proc_maps_lock.h says what a
 * design is).  A new design adds its file and one line here.
 */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "compiler.h"
#include "proc_maps_lock.h"

extern const struct proc_maps_lock_ops proc_lock_mmap_ops;
extern const struct proc_maps_lock_ops proc_lock_vma_ops;
extern const struct proc_maps_lock_ops proc_lock_speculate_ops;

static const struct proc_maps_lock_ops *const proc_maps_locks[PV_NR_LOCKS] = {
	[PV_LOCK_MMAP] = &proc_lock_mmap_ops,
	[PV_LOCK_VMA] = &proc_lock_vma_ops,
	[PV_LOCK_SPECULATE] = &proc_lock_speculate_ops,
};

const struct proc_maps_lock_ops *proc_maps_lock_ops(int lock)
{
	if (lock < 0 || lock >= (int)ARRAY_SIZE(proc_maps_locks))
		return NULL;
	return proc_maps_locks[lock];
}

/* ---- the API ---------------------------------------------------------- */

const char *pv_lock_name(int lock)
{
	const struct proc_maps_lock_ops *ops = proc_maps_lock_ops(lock);

	return ops ? ops->name : NULL;
}

int pv_lock_lookup(const char *name)
{
	int lock;

	for (lock = 0; lock < (int)ARRAY_SIZE(proc_maps_locks); lock++)
		if (proc_maps_locks[lock] && !strcmp(proc_maps_locks[lock]->name, name))
			return lock;
	return -EINVAL;
}

int pv_lock_check(int lock, int procfile)
{
	const struct proc_maps_lock_ops *ops = proc_maps_lock_ops(lock);

	if (!ops || !pv_procfile_name(procfile))
		return -EINVAL;
	return ops->procfiles & (1u << procfile) ? 0 : -EOPNOTSUPP;
}

int pv_lock_check_query(int lock)
{
	const struct proc_maps_lock_ops *ops = proc_maps_lock_ops(lock);

	if (!ops)
		return -EINVAL;
	return ops->query_vma_find_by_addr ? 0 : -EOPNOTSUPP;
}
