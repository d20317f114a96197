# SPDX-License-Identifier: GPL-2.0-or-later
#
# The one list of C sources, paths relative to csrc/.  Read by make
# (tests/c/Makefile includes it) and by the Python build (setup.py and
# procvma/_build_core.py parse its "NAME := files" lines), so keep it to
# that form: no other make syntax.

# The simulated kernel: includes nothing outside csrc/kernel/.
KERNEL_SRCS := kernel/rwsem.c kernel/mmap_lock.c kernel/vma_tree.c kernel/api.c kernel/mmap.c kernel/memory.c kernel/task_mmu.c kernel/procmap_query.c kernel/sched.c kernel/proc_maps_lock.c kernel/proc_lock_mmap.c kernel/proc_lock_vma.c kernel/proc_lock_speculate.c

# The benchmark harness (both backends) and the calibration probes.
HARNESS_SRCS := harness/bench.c harness/bench_common.c harness/bench_sim.c harness/bench_kernel.c harness/scan_loop.c harness/host_pass.c harness/spawn.c harness/hist.c harness/calib.c harness/ktrace.c

# The torture test of the simulated kernel's internals, beside it.
TORTURE_SRCS := torture/torture.c

# The kernel backend's mapper, a program of its own.
KMAPPER_SRCS := kmapper/kmapper.c harness/hist.c

# The BPF lock trace's programs, compiled by clang -target bpf when the
# build finds clang, bpftool and libbpf (harness/ktrace.c loads them).
BPF_SRCS := bpf/locktrace.bpf.c
