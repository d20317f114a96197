# SPDX-License-Identifier: GPL-2.0-or-later
"""The simulator's names for what the C core numbers: its /proc files, its
/proc locking designs and the faults it can inject, each with the name of
the core's constant for it.

Pure Python, so that options can be checked, and --help listed, before
the C core is loaded; simmm pairs each name with the constant's value.
"""

PROCFILES = {
    "maps": "PV_PROC_MAPS",
    "smaps": "PV_PROC_SMAPS",
    "smaps_rollup": "PV_PROC_SMAPS_ROLLUP",
}

# The designs: "before", the whole walk under mmap_lock; "after", per-VMA
# locks under RCU.
LOCKS = {
    "mmap": "PV_LOCK_MMAP",
    "vma": "PV_LOCK_VMA",
}

# --trace's engines (kernel backend): BPF programs summing in the kernel
# (procvma/lockbpf.py), or a tracefs instance whose text is parsed after
# each sample (procvma/locktrace.py).
TRACE_ENGINES = ("bpf", "tracefs")

INJECT = {
    "no-resume-check": "PV_INJECT_NO_RESUME_CHECK",
    "no-vma-lock": "PV_INJECT_NO_VMA_LOCK",
    "no-drain": "PV_INJECT_NO_DRAIN",
    "skip-merged": "PV_INJECT_SKIP_MERGED",
}
