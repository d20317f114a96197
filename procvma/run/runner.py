# SPDX-License-Identifier: GPL-2.0-or-later
"""Running samples: one pv_bench_run() at a time in a worker thread while
the main thread stays free to notice Ctrl-C (procvma/native.py's
in_worker).  On Ctrl-C the main thread asks the C side to
stop (pv_bench_stop), waits for the worker to come back, and discards
that cut-short sample: its figures cover less than --duration.  Samples
that finished are never lost: the caller writes each as it arrives.
"""

import math
import os
import time

from procvma import native

# How _machine_load() counts runnable tasks: the fewest of a few looks.
RUNNABLE_LOOKS = 5
RUNNABLE_LOOK_GAP_S = 0.001


class Interrupted(Exception):
    """Ctrl-C: the samples finished so far are in .samples."""

    def __init__(self, samples):
        super().__init__("interrupted")
        self.samples = samples


class SampleFailed(Exception):
    """A sample reported an error; finished samples are in .samples."""

    def __init__(self, message, samples):
        super().__init__(message)
        self.samples = samples


def load_core():
    """procvma.run.core, or a one-line click error if the C core is not built."""
    try:
        from procvma.run import core
    except ImportError as e:
        import click
        raise click.ClickException(f"the C core is not built ({e}): run 'make setup'")
    return core


def check_ready(backend):
    """Fail before the run, in one line, if this install cannot run it."""
    core = load_core()
    if backend == "kernel" and not os.access(core.KMAPPER, os.X_OK):
        import click
        raise click.ClickException(f"the kernel backend's mapper {core.KMAPPER} "
                                   "is not built: run 'make setup'")
    return core


def pin_driver(cpu):
    """The reference's driver script runs on --cpuscript (taskset -p).
    Threads started afterwards inherit this mask until they place
    themselves."""
    os.sched_setaffinity(0, {cpu})


def _run_in_worker(core, params, trace=None):
    """pv_bench_run() in a worker; returns its result dict, or raises
    KeyboardInterrupt after stopping it.  With trace (a
    locktrace.LockTrace), the worker thread and every task it starts are
    traced, and the result's "locks" is what the trace says.  trace: a
    locktrace.LockTrace or lockbpf.BpfLockTrace (anything with run())."""
    sample, interrupted = native.in_worker(
        (lambda: trace.run(core, params)) if trace else
        lambda: core.bench_run(params),
        core.bench_stop, "pv_bench_run")
    if interrupted:
        raise KeyboardInterrupt
    return sample


def run_samples(params, nsamples, seed, on_sample=None, label="", trace=None):
    """Run nsamples samples of params (sample k with seed seed+k-1).
    on_sample(row) is called with each finished sample's row (params,
    "sample", "seed" and the measured figures); it may raise SampleFailed
    to end the run there.  Returns the rows.
    Raises Interrupted or SampleFailed carrying the rows finished.
    trace: a locktrace.LockTrace for the kernel backend's lock figures
    (the simulator's need none)."""
    core = begin()
    rows = []
    try:
        for k in range(1, nsamples + 1):
            rows.append(run_sample(core, params, k, seed, label, rows, trace))
            if on_sample:
                try:
                    on_sample(rows[-1])
                except SampleFailed as e:
                    # The sample is measured, and kept; the run cannot go on.
                    raise SampleFailed(str(e), rows) from None
    except KeyboardInterrupt:
        # Also between samples: whatever finished is kept.
        raise Interrupted(rows)
    return rows


def begin():
    """The C core, ready for a run's first sample."""
    core = load_core()
    core.bench_reset_stop()
    return core


def run_sample(core, params, k, seed, label="", rows=(), trace=None):
    """Sample k of params, with seed seed+k-1 (the same k, the same op
    stream, whatever the configuration), as a row.  Raises SampleFailed
    or Interrupted carrying rows (the finished samples it belongs with),
    or KeyboardInterrupt when Ctrl-C cut this one short."""
    if params.get("backend") != "kernel":
        trace = None
    p = dict(params, seed=(seed + k - 1) % 2**64)
    return _one_sample(core, p, k, label, rows, trace)


def _machine_load():
    """What else wanted a CPU as a sample started: the 1-minute load
    average, /proc/stat's runnable tasks (procs_running, the run's own
    included), and the runnable tasks that are not the run's own
    (others_running), NaN where /proc cannot say.

    None of the run's tasks should run now, yet some may still be on
    their way out: the previous sample's threads finish their exit after
    pthread_join() returns, the kernel backend's last cat after its
    shell is gone.  So a look counts only tasks that are neither threads
    of this process nor of its descendants (those /proc shows, or what
    procs_running counts beyond the run's own, whichever is more), and
    reads every task's state only when procs_running says that anyone
    besides this thread is runnable (on an idle machine, one read of
    /proc/stat).  One look can
    also catch a passing kernel thread: what stays runnable over a few
    milliseconds is what competes with the sample, so the figures are
    the fewest of a few looks, and a look that finds no other task ends
    the looking."""
    from procvma.host import hostinfo

    me = os.getpid()
    raw, others = [], []
    for i in range(RUNNABLE_LOOKS):
        if i:
            time.sleep(RUNNABLE_LOOK_GAP_S)
        n = hostinfo.procs_running()
        raw.append(n)
        if n is None:
            break
        if n <= 1:
            others.append(0)
        else:
            # The tasks /proc shows, and what the count says beyond the
            # run's own: tasks another PID namespace or hidepid hides
            # from /proc still count.
            mine, theirs = hostinfo.runnable_tasks(me)
            others.append(max(len(theirs), n - len(mine)))
        if others[-1] == 0:
            break
    load = hostinfo.loadavg1()
    running = None if None in raw else min(raw)
    return {"loadavg1": math.nan if load is None else load,
            "procs_running": math.nan if running is None else running,
            "others_running": math.nan if running is None else min(others)}


def _one_sample(core, p, k, label, rows, trace=None):
    load = _machine_load()
    try:
        out = _run_in_worker(core, p, trace)
    except ValueError as e:
        raise SampleFailed(f"{label}sample {k}: {e}", rows)
    if out.get("interrupted"):
        # Stopped from elsewhere (a signal the C side saw first).
        raise Interrupted(rows)
    if out["err"]:
        msg = out["errmsg"] or os.strerror(out["err"])
        raise SampleFailed(f"{label}sample {k}: {msg}", rows)
    # The holder split in struct pv_sample is the simulator's; the kernel
    # backend's comes from its trace, or is not known.
    from procvma.results.schema import HOLDER_COLUMNS
    sim_only = () if p.get("backend") != "kernel" else HOLDER_COLUMNS
    row = dict(p, sample=k, **load, **{
        key: out[key] for key in out
        if key not in ("err", "errmsg", "interrupted", "locks", *sim_only)})
    row["hang"] = int(bool(row["hang"]))
    if p.get("backend") == "kernel":
        row.update(_kernel_lock_figures(out.get("locks"), f"{label}sample {k}"))
        row["trace_engine"] = trace.engine if trace else "-"
    else:
        row["trace_engine"] = "sim"
    _holder_figures(row)
    # A sample too short for any scanner to finish a pass measured the
    # mapper alone, whatever its configuration says.
    row["no_pass"] = int(p["nbusycpus"] * p["nbusytasks"] > 0
                         and row["walks"] == 0)
    return row


def _holder_figures(row):
    """The holder-side columns where the sample did not give them: NaN
    (the tracefs engine has no sched events; a simulator without them)."""
    from procvma.results.schema import HOLDER_COLUMNS

    for col in HOLDER_COLUMNS:
        row.setdefault(col, math.nan)


def _kernel_lock_figures(locks, where):
    """The kernel backend's lock figures from what its trace said
    (locktrace.LockTrace.collect()), or NaN where they are not known:
    no --trace, or a trace that cannot give them (said on stderr)."""
    from procvma.results.schema import LOCK_COLUMNS

    figures, problem = locks or (None, None)
    if problem:
        import click
        click.echo(f"warning: {where}: no lock figures: {problem}", err=True)
    return figures or dict.fromkeys(LOCK_COLUMNS, math.nan)

