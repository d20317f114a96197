/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VMA tree: an ordered map of non-overlapping [vm_start, vm_end)
 * ranges with one writer (the mmap write lock holder) and any number of
 * lockless readers under RCU.
 *
 * It is a skip list whose towers live in the VMAs themselves, so a VMA and
 * its "tree nodes" are freed together, after a grace period.  Expected
 * O(log n) per lookup and per change.  The writer publishes a new VMA
 * bottom-up with rcu_assign_pointer(), so a reader that meets it on any
 * level also finds it on level 0; an erased VMA keeps its forward
 * pointers, so a reader standing on it walks on into the live list.
 *
 * Readers under RCU alone may see a VMA that is being split or merged
 * (overlapping a neighbour for a moment): they must read-lock it and
 * re-check, as the kernel's do.
 */
#ifndef PROCVMA_VMA_TREE_H
#define PROCVMA_VMA_TREE_H

#include "mm_types.h"

void vma_tree_init(struct vma_tree *mt, uint64_t seed);

/* First VMA with vm_end > @addr, or NULL.  RCU or mmap_lock held. */
struct vm_area_struct *vma_find(struct mm_struct *mm, unsigned long addr);

/* The VMA containing @addr, or NULL.  RCU or mmap_lock held. */
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr);

/* The VMA after @vma in address order.  mmap_lock held. */
static inline struct vm_area_struct *vma_next_of(struct vm_area_struct *vma)
{
	return rcu_dereference(vma->tree_next[0]);
}

/* The writer's side: mmap write lock held. */
void vma_tree_insert(struct mm_struct *mm, struct vm_area_struct *vma);
void vma_tree_erase(struct mm_struct *mm, struct vm_area_struct *vma);

#endif
