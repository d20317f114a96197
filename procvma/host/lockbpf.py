# SPDX-License-Identifier: GPL-2.0-or-later
"""--trace's BPF engine: the mmap_lock figures summed in the kernel.

The programs (csrc/bpf/locktrace.bpf.c, libbpf CO-RE, loaded by the C
core's harness/ktrace.c) follow the sample's mapper and readers and sum,
per sample, what the tracefs engine (procvma/host/locktrace.py) works out from
its event text, plus the holder's side: where each read hold's time went
(running, off CPU but runnable = preempted, off CPU asleep), the mapper's
sleeps and wake-ups while it waits for the write lock, and the readers'
CPU time per pass.

The fentry engine is the same object with other lock programs: fentry
and fexit on the rwsem functions (rwsem_down_write_slowpath(),
down_read*(), up_read()) for the mmap_lock tracepoints.  Where the kernel
refuses them, --trace-engine fentry falls back to the tracepoints, said
in one line.

Every program, map and link is a file descriptor of this process, pinned
nowhere: close() (on every way out Python sees) detaches and frees them,
and the kernel does the same when the process dies any other way.
"""

import contextlib
import math
import os

from procvma import native, vocab

ENGINE = vocab.TRACE_ENGINE.bpf
FENTRY = vocab.TRACE_ENGINE.fentry

# Force the BPF engine unavailable (the fallback is then tracefs): for
# tests, and for a user whose kernel mis-loads the programs.
DISABLE_ENV = "PROCVMA_NO_BPF"


class BpfUnavailable(Exception):
    """The BPF engine cannot run here; the message says why, in one line."""


def holder_figures(f, walks):
    """The schema.HOLDER_COLUMNS of a sample from its summed figures (a
    struct pv_ktrace_figures) and its completed passes."""
    return {
        "reader_hold_running_ms": f.reader_hold_running_ms,
        "reader_hold_preempted_ms": f.reader_hold_preempted_ms,
        "reader_hold_sleeping_ms": f.reader_hold_sleeping_ms,
        "mapper_sleeps": f.mapper_sleeps,
        "mapper_wakeups": f.mapper_wakeups,
        "mapper_wake_to_run_ms": f.mapper_wake_to_run_ms,
        "reader_cpu_per_pass_ms": f.reader_cpu_ms / walks if walks else math.nan,
    }


class BpfLockTrace:
    """The loaded and attached programs, for a run's samples.  A context
    manager, as locktrace.LockTrace:

        with BpfLockTrace() as tr:
            sample = tr.run(core, params)     # sample["locks"]: (figures, problem)
    """

    def __init__(self, fentry=False):
        self.fentry = fentry
        self.engine = FENTRY if fentry else ENGINE
        self.handle = None
        self._core = None
        self._signals = None

    def __enter__(self):
        if os.environ.get(DISABLE_ENV):
            raise BpfUnavailable(f"{DISABLE_ENV} is set")
        core = native.load_core()
        ffi, lib = core.ffi, core.lib
        if not lib.pv_ktrace_built():
            raise BpfUnavailable("procvma was built without BPF (clang, bpftool "
                                 "and libbpf were not found at build time)")
        if os.geteuid() != 0:
            raise BpfUnavailable("loading BPF programs needs root")
        out = ffi.new("struct pv_ktrace **")
        msg = ffi.new("char[256]")
        if lib.pv_ktrace_open_engine(out, int(self.fentry), msg, len(msg)) != 0:
            raise BpfUnavailable(ffi.string(msg).decode(errors="replace"))
        self._core, self.handle = core, out[0]
        # SIGTERM and SIGHUP stop the run as Ctrl-C does, so that close()
        # runs on those ways out too.
        self._signals = contextlib.ExitStack()
        self._signals.enter_context(native.stopping_on_signals())
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Detach and free the programs, links and maps.  Idempotent."""
        if self._signals is not None:
            self._signals.close()
            self._signals = None
        if self.handle is not None:
            self._core.lib.pv_ktrace_close(self.handle)
            self.handle = None

    def run(self, core, params):
        """One sample of params, traced; its dict has "locks": (figures,
        None) or (None, why not)."""
        sample = core.bench_run(params, ktrace=self.handle)
        sample["locks"] = self.collect(sample.get("walks", 0))
        return sample

    def collect(self, walks):
        ffi, lib = self._core.ffi, self._core.lib
        f = ffi.new("struct pv_ktrace_figures *")
        rc = lib.pv_ktrace_figures(self.handle, f)
        if rc:
            return None, f"cannot read the BPF sums: {os.strerror(-rc)}"
        if f.missed:
            return None, (f"the BPF trace had no room for {f.missed} tasks "
                          "(fewer scanners need less)")
        figures = {
            "mapper_wait_ms": f.mapper_wait_ms,
            "mapper_wait_max_ms": f.mapper_wait_max_ms,
            "reader_hold_avg_ms": (f.reader_hold_ms / f.reader_holds
                                   if f.reader_holds else 0.0),
            "reader_hold_max_ms": f.reader_hold_max_ms,
            "reader_mmap_locks": f.reader_mmap_locks,
        }
        figures.update(holder_figures(f, walks))
        return figures, None


def open_trace(params, engine=None):
    """(an entered trace for samples of params, a note or None).

    engine None: the BPF engine, or where it cannot run, the tracefs
    engine and a one-line note saying why.  "fentry": the fentry engine,
    or where it does not load, the same as None, with one line saying why
    fentry could not.  "bpf" or "tracefs": that one alone.  Raises
    locktrace.TraceUnavailable where none can run."""
    from procvma.host import locktrace

    notes = []
    if engine == FENTRY:
        try:
            return BpfLockTrace(fentry=True).__enter__(), None
        except BpfUnavailable as e:
            notes.append(f"the fentry engine cannot run ({e})")
        engine = None
    if engine in (None, ENGINE):
        try:
            tr = BpfLockTrace().__enter__()
            if notes:
                notes.append("tracing with the bpf engine's tracepoints")
            return tr, ("--trace: " + "; ".join(notes)) if notes else None
        except BpfUnavailable as e:
            if engine == ENGINE:
                raise locktrace.TraceUnavailable(f"the bpf engine cannot run: {e}")
            notes.append(f"the bpf engine cannot run ({e}); tracing with "
                         "tracefs, without the holder-side figures")
    note = ("--trace: " + "; ".join(notes)) if notes else None
    return locktrace.for_sample(params).__enter__(), note
