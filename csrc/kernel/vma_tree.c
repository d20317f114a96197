// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * VMA tree: an RCU-safe skip list keyed by vm_start (see vma_tree.h).
 */
#include "vma_tree.h"
#include "compiler.h"
#include "random.h"

void vma_tree_init(struct vma_tree *mt, uint64_t seed)
{
	int i;

	for (i = 0; i < VMA_TREE_MAX_LEVEL; i++)
		mt->head.tree_next[i] = NULL;
	mt->head.tree_level = VMA_TREE_MAX_LEVEL;
	mt->level = 1;
	mt->rand_state = seed | 1;
}

/* The writer's private coin for tower heights (only the writer calls). */
static int random_level(struct vma_tree *mt)
{
	uint64_t r = prandom_u64_state(&mt->rand_state);
	int level = 1;

	/* p = 1/4 per extra level. */
	while ((r & 3) == 0 && level < VMA_TREE_MAX_LEVEL) {
		level++;
		r >>= 2;
	}
	return level;
}

struct vm_area_struct *vma_find(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *x = &mm->mm_mt.head;
	struct vm_area_struct *next;
	int i;

	for (i = READ_ONCE(mm->mm_mt.level) - 1; i >= 0; i--) {
		while ((next = rcu_dereference(x->tree_next[i])) &&
		       READ_ONCE(next->vm_end) <= addr)
			x = next;
	}
	return rcu_dereference(x->tree_next[0]);
}

struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = vma_find(mm, addr);

	if (vma && READ_ONCE(vma->vm_start) <= addr)
		return vma;
	return NULL;
}

/* Fill @pred[i] with the last node on level i whose vm_start < @key. */
static struct vm_area_struct *find_preds(struct mm_struct *mm, unsigned long key,
					 struct vm_area_struct **pred)
{
	struct vm_area_struct *x = &mm->mm_mt.head;
	struct vm_area_struct *next;
	int i;

	for (i = VMA_TREE_MAX_LEVEL - 1; i >= 0; i--) {
		while ((next = x->tree_next[i]) && next->vm_start < key)
			x = next;
		pred[i] = x;
	}
	return x;
}

void vma_tree_insert(struct mm_struct *mm, struct vm_area_struct *vma)
{
	struct vm_area_struct *pred[VMA_TREE_MAX_LEVEL];
	int level = random_level(&mm->mm_mt);
	int i;

	find_preds(mm, vma->vm_start, pred);
	vma->tree_level = level;
	for (i = 0; i < level; i++)
		vma->tree_next[i] = pred[i]->tree_next[i];
	for (; i < VMA_TREE_MAX_LEVEL; i++)
		vma->tree_next[i] = NULL;
	/*
	 * Publish bottom-up.  rcu_assign_pointer() orders the VMA's fields
	 * and forward pointers before it is reachable; pairs with
	 * rcu_dereference() in vma_find().
	 */
	for (i = 0; i < level; i++)
		rcu_assign_pointer(pred[i]->tree_next[i], vma);
	if (level > mm->mm_mt.level)
		WRITE_ONCE(mm->mm_mt.level, level);
}

void vma_tree_erase(struct mm_struct *mm, struct vm_area_struct *vma)
{
	struct vm_area_struct *pred[VMA_TREE_MAX_LEVEL];
	int i;

	find_preds(mm, vma->vm_start, pred);
	/*
	 * Unlink top-down.  The VMA's own forward pointers stay as they are
	 * until it is freed after a grace period, so a reader on it goes on.
	 */
	for (i = vma->tree_level - 1; i >= 0; i--) {
		if (pred[i]->tree_next[i] == vma)
			rcu_assign_pointer(pred[i]->tree_next[i], vma->tree_next[i]);
	}
}
