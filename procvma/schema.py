# SPDX-License-Identifier: GPL-2.0-or-later
"""The per-sample CSV's columns: the one place that names them.

A results file is one row per sample.  The configuration columns say what
was measured; the figure columns say what came out; the host columns say
where.  Readers (compare, gate, plot, report, fidelity) group rows by
CONFIG_KEY: rows that differ in any of its columns are never pooled or
paired.
"""

# What was run.
CONFIG_COLUMNS = [
    "backend",        # sim | kernel
    "lock",           # mmap | vma (sim); the kernel's own (kernel: "kernel")
    "procfile",       # maps | smaps | smaps_rollup | any /proc/PID file (kernel)
    "sample",         # 1-based index within its configuration
    "nbusycpus",
    "nbusytasks",
    "busyduration",   # ms; 0 = spin forever
    "duration",       # s
    "region_pages",
    "seed",
    "cpumapper",
    "cpubusytasks",
    "cpuscript",
    "scanner",        # kernel: read | cat; sim: "-"
    "op_cost_ns",     # sim: calibrated host costs (procvma/calibration.py);
    "walk_cost_ns",   #   kernel: 0
    "pass_cost_ns",
]

# What one sample measured (SPEC §3).  Times in milliseconds.
FIGURE_COLUMNS = [
    "nmaps",
    "nunmaps",
    "opavg_ms",
    "opmax_ms",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "p999_ms",
    "hang",
    "walks",
    "walk_avg_ms",
    "walk_max_ms",
    "drops",
    "fallbacks",
    "vmas",
    "retries",        # walker found its VMA detached and looked it up again
    "nfailed",        # mapper calls that returned an error
    "setup_s",        # wall time to build the mm and place the tasks
    "no_pass",        # 1: there were scanners, and none completed a pass
]

# Where and how it ran.
HOST_COLUMNS = [
    "kernel_release",
    "cpu_model",
    "procvma_version",
    "timestamp",
    "cpus_online",    # the kernel's cpulist, e.g. 0-1
    "loadavg1",       # 1-minute load average at the sample's start
    "procs_running",  # runnable tasks at the sample's start (/proc/stat)
    "command",        # the command line that ran the sample, shell-quoted
]

COLUMNS = CONFIG_COLUMNS + FIGURE_COLUMNS + HOST_COLUMNS

# Columns added after the first results files were written: a reader fills
# them in (numbers with NaN, text with "") rather than rejecting older files.
OPTIONAL_COLUMNS = ["cpuscript", "scanner", "retries", "nfailed", "setup_s",
                    "op_cost_ns", "walk_cost_ns", "pass_cost_ns", "no_pass",
                    "cpus_online", "loadavg1", "procs_running", "command"]
REQUIRED_COLUMNS = [c for c in COLUMNS if c not in OPTIONAL_COLUMNS]

# Columns that must parse as numbers in a results file.
NUMERIC_COLUMNS = [
    "sample", "nbusycpus", "nbusytasks", "busyduration", "duration",
    "region_pages", "seed", "cpumapper", "cpubusytasks", "cpuscript",
    "op_cost_ns", "walk_cost_ns", "pass_cost_ns", "loadavg1", "procs_running",
] + FIGURE_COLUMNS

# A configuration: every column that defines the experiment (SPEC §5).
# Rows with equal values here are samples of the same configuration; the
# CPU numbers and the seed are left out, since they place and vary the
# samples of one experiment without changing what it measures.
CONFIG_KEY = [
    "backend", "lock", "procfile", "scanner", "nbusycpus", "nbusytasks",
    "busyduration", "duration", "region_pages",
    "op_cost_ns", "walk_cost_ns", "pass_cost_ns",
]

# How tables head the configuration columns: short, so that they fit.
CONFIG_HEADINGS = {
    "backend": "backend",
    "lock": "lock",
    "procfile": "procfile",
    "scanner": "scanner",
    "nbusycpus": "cpus",
    "nbusytasks": "tasks",
    "busyduration": "busy_ms",
    "duration": "dur_s",
    "region_pages": "pages",
    "op_cost_ns": "op_ns",
    "walk_cost_ns": "walk_ns",
    "pass_cost_ns": "pass_ns",
}

METRICS = ["opavg_ms", "opmax_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms"]

# The per-sample figures as a user names them on the command line.
METRIC_NAMES = {"opavg": "opavg_ms", "opmax": "opmax_ms", "p50": "p50_ms",
                "p90": "p90_ms", "p99": "p99_ms", "p99.9": "p999_ms"}
