# SPDX-License-Identifier: GPL-2.0-or-later
"""The per-sample CSV's columns: the one place that names them.

A results file is one row per sample.  The configuration columns say what
was measured; the figure columns say what came out; the host columns say
where.  Readers (compare, gate, plot, report, fidelity) group rows by
CONFIG_KEY: rows that differ in any of its columns are never pooled or
paired.
"""

from procvma import vocab

# What was run.
CONFIG_COLUMNS = [
    "backend",        # a vocab.BACKEND word
    "lock",           # a vocab.LOCK word (sim); the kernel's own (kernel: "kernel")
    "procfile",       # a vocab.PROCFILE word | any /proc/PID file (kernel)
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
    "scanner",        # a vocab.SCANNER word: how a scanner reads, on either backend
    "scanner_command",  # custom's command (--scanner-command, {pid} as given); else -
    "holes",          # single-page holes the region starts with
    "preempt",        # none | voluntary | full | lazy: the simulated kernel's
                      #   preemption model; kernel: the host's, as booted
    "op_cost_ns",     # sim: calibrated host costs (procvma/sim/calibration.py);
    "walk_cost_ns",   #   kernel: 0
    "text_cost_ns",
    "pass_cost_ns",
    "calibration_source",   # sim: where the knobs came from: "shipped",
                            #   the user's file, "--op-cost-ns given"; kernel: -
]

# What one sample measured (docs/results-format.md).  Times in milliseconds.
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
    "retries",        # the mm changed under a lockless read, read again: a
                      # VMA look-up (vma), a whole page (speculate)
    "nfailed",        # mapper calls that returned an error
    "setup_s",        # wall time to build the mm and place the tasks
    "no_pass",        # 1: there were scanners, and none completed a pass
]

# Why the mapper stalls: mmap_lock as its tracepoints tell it (the
# simulator always; the kernel backend with --trace, else NaN).
LOCK_COLUMNS = [
    "mapper_wait_ms",      # the mapper's total wait for the write lock
    "mapper_wait_max_ms",  # its longest
    "reader_hold_avg_ms",  # scanners' read holds, acquire to release
    "reader_hold_max_ms",
    "reader_mmap_locks",   # scanners' read acquisitions
]
FIGURE_COLUMNS += LOCK_COLUMNS

# Why the holder held so long: where the readers' read holds of mmap_lock
# went, and what the mapper did while it waited (the kernel backend with
# --trace's bpf engine, the simulator; NaN where not known).
HOLDER_COLUMNS = [
    "reader_hold_running_ms",    # the three add up to the readers' total
    "reader_hold_preempted_ms",  #   hold time in the sample: on CPU, off
    "reader_hold_sleeping_ms",   #   CPU runnable (preempted), off CPU asleep
    "mapper_sleeps",      # times the mapper slept waiting for the write lock
    "mapper_wakeups",     # times it was woken while waiting for it
    "mapper_wake_to_run_ms",  # mean time from such a wake-up (the waker's
                              #   call) to the mapper running again
    "reader_cpu_per_pass_ms",    # the readers' CPU time per completed pass
]
FIGURE_COLUMNS += HOLDER_COLUMNS

# The version of this file's columns and their meanings, in every row.
# Bump it when a column is dropped, renamed or changes meaning; a column
# added is optional (OPTIONAL_COLUMNS, with what an older file implies
# for it) and needs no bump.  A reader takes any format up to this one as
# the current one, with the implied values below; it refuses a newer one.
#   1  (files without the column) no hostname, kernel_release and
#      cpu_model maybe absent; procs_running counted the run's own tasks
#   2  the format column; hostname; others_running (trace_engine and
#      the holder columns came in with it, optional)
FORMAT = 2

# Where and how it ran.
HOST_COLUMNS = [
    "format",         # FORMAT of the program that wrote the row
    "hostname",       # uname -n
    "kernel_release", # uname -r
    "cpu_model",      # /proc/cpuinfo's model name
    "procvma_version",
    "timestamp",
    "cpus_online",    # the kernel's cpulist, e.g. 0-1
    "loadavg1",       # 1-minute load average at the sample's start
    "procs_running",  # runnable tasks at the sample's start (/proc/stat),
                      #   the run's own included
    "others_running", # of those, the ones that are not the run's own
                      #   (procvma/run/runner.py's _machine_load)
    "command",        # the command line that ran the sample, shell-quoted
    "trace_engine",   # what measured the lock figures: bpf | fentry | tracefs
                      #   (kernel --trace), sim, - (kernel, not traced)
    "vm_accel",       # kvm | tcg: the row was measured in a QEMU guest
                      #   (--kernel) under that accelerator; tcg's timings are
                      #   emulated; - on the host itself
    "label",          # --label: the user's name for the run (a kernel
                      #   build, a patch); - when not given
]

COLUMNS = CONFIG_COLUMNS + FIGURE_COLUMNS + HOST_COLUMNS

# A machine: rows that differ in any of these ran on different machines
# and are never pooled into one side of a comparison (procvma/results/machines.py).
MACHINE_COLUMNS = ["hostname", "kernel_release", "cpu_model"]

# Columns added after the first results files were written: a reader fills
# them in rather than rejecting older files, with what those files imply
# (implied_config, implied_host; others_running: procs_running - 1, the
# one task of the run's own the count was known to hold), else NaN for
# numbers and "" for text.
OPTIONAL_COLUMNS = ["cpuscript", "scanner", "scanner_command", "holes", "retries", "nfailed",
                    "setup_s", "op_cost_ns", "walk_cost_ns", "text_cost_ns",
                    "pass_cost_ns", "calibration_source", "no_pass", "cpus_online",
                    "loadavg1", "procs_running", "others_running",
                    "command", "trace_engine", "format", "hostname",
                    "kernel_release", "cpu_model", "procvma_version",
                    "timestamp", "preempt", "vm_accel", "label"] + LOCK_COLUMNS + HOLDER_COLUMNS
REQUIRED_COLUMNS = [c for c in COLUMNS if c not in OPTIONAL_COLUMNS]

# Columns that must parse as numbers in a results file.
NUMERIC_COLUMNS = [
    "sample", "nbusycpus", "nbusytasks", "busyduration", "duration",
    "region_pages", "seed", "cpumapper", "cpubusytasks", "cpuscript",
    "holes", "op_cost_ns", "walk_cost_ns", "text_cost_ns", "pass_cost_ns", "loadavg1",
    "procs_running", "others_running", "format",
] + FIGURE_COLUMNS

# A configuration: every column that defines the experiment
# (docs/results-format.md).
# Rows with equal values here are samples of the same configuration; the
# CPU numbers and the seed are left out, since they place and vary the
# samples of one experiment without changing what it measures.
CONFIG_KEY = [
    "backend", "lock", "procfile", "scanner", "scanner_command",
    "nbusycpus", "nbusytasks",
    "busyduration", "duration", "region_pages", "holes",
    "op_cost_ns", "walk_cost_ns", "text_cost_ns", "pass_cost_ns", "preempt",
]


def implied_config(column, backend, row):
    """What a results file written before configuration @column existed
    ran with: the only value the program could use then.  @row gives the
    row's other columns.  None where nothing is implied (the reader keeps
    NaN, which pairs with nothing)."""
    if column == "holes":
        return 0            # every run started from one VMA
    if column in ("op_cost_ns", "walk_cost_ns", "text_cost_ns", "pass_cost_ns"):
        return 0.0          # no such knob yet: the simulator's own cost alone
    if column == "scanner":
        return implied_scanner(backend, row.get("pass_cost_ns"))
    if column == "preempt" and backend == "sim":
        return "full"       # the host preempted the model's tasks anywhere
    if column == "scanner_command":
        return "-"          # no --scanner-command yet
    return None


# What a file that lacks a host column (or leaves it empty) implies:
# format 1, the format before the column; the machine "unknown", so that
# such rows pair with no named machine's and are kept apart from them; no
# label, "-", as a run without --label writes.
IMPLIED_HOST = {"format": 1, "hostname": "unknown",
                "kernel_release": "unknown", "cpu_model": "unknown",
                "procvma_version": "unknown", "label": "-",
                "vm_accel": "-"}     # no guests before the column


def implied_host(column):
    return IMPLIED_HOST.get(column, "")


def implied_scanner(backend, pass_cost_ns):
    """The scanner of a row that names none ("" or "-").  The kernel
    backend read in-process until it had --scanner; the simulator's
    scanner paid a per-pass cost only to stand for cat's fork and exec."""
    in_process, spawned = vocab.SCANNER.read, vocab.SCANNER.cat
    if backend == vocab.BACKEND.kernel:
        return in_process
    try:
        return spawned if float(pass_cost_ns) > 0 else in_process
    except (TypeError, ValueError):
        return in_process

def scanner_label(scanner, command="-"):
    """How a configuration's scanner is given on the command line:
    "--scanner cat", or "--scanner-command 'cat /proc/{pid}/maps'"."""
    if command and str(command) not in ("-", "nan"):
        import shlex
        return f"--scanner-command {shlex.quote(str(command))}"
    return f"--scanner {scanner}"


# How tables head the configuration columns: short, so that they fit.
CONFIG_HEADINGS = {
    "backend": "backend",
    "lock": "lock",
    "procfile": "procfile",
    "scanner": "scanner",
    "scanner_command": "command",
    "nbusycpus": "cpus",
    "nbusytasks": "tasks",
    "busyduration": "busy_ms",
    "duration": "dur_s",
    "region_pages": "pages",
    "holes": "holes",
    "op_cost_ns": "op_ns",
    "walk_cost_ns": "walk_ns",
    "text_cost_ns": "text_ns",
    "pass_cost_ns": "pass_ns",
    "preempt": "preempt",
}

METRICS = ["opavg_ms", "opmax_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms"]

# The per-sample figures as a user names them on the command line.
METRIC_NAMES = {"opavg": "opavg_ms", "opmax": "opmax_ms", "p50": "p50_ms",
                "p90": "p90_ms", "p99": "p99_ms", "p99.9": "p999_ms"}
