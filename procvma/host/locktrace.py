# SPDX-License-Identifier: GPL-2.0-or-later
"""Who held mmap_lock, for how long, and how long the mapper queued for it,
on the real kernel: its mmap_lock tracepoints, read through tracefs.

    mmap_lock:mmap_lock_start_locking     a task starts to take it
    mmap_lock:mmap_lock_acquire_returned  ... and has it (or failed to)
    mmap_lock:mmap_lock_released          ... and lets it go

Each event names the mm (a hashed pointer, stable while that mm lives)
and whether the lock is taken for write.  The events are recorded into a
tracefs instance of our own, so nothing of the host's tracing setup is
touched, and only for the processes a run starts: set_event_pid holds the
thread that runs the sample, and options/event-fork adds every task it
forks or clones (the mapper, the scanner threads, each scanner's cat).
The buffer is big enough for the whole sample and is read after it, so
the run itself pays only for recording the events.

The figures (schema.LOCK_COLUMNS) have the simulator's definitions:

  mapper_wait_ms, mapper_wait_max_ms
      the mapper's waits for the write lock: start_locking to
      acquire_returned, write=true, by the mapper on its own mm;
  reader_mmap_locks
      read acquisitions of the mapper's mm by any other task (the
      scanners: the mapper's own read locks, e.g. in mm_populate(), are
      not a reader's);
  reader_hold_avg_ms, reader_hold_max_ms
      those holds, acquire_returned to the same task's released.

Both tracepoints sit inside the lock (acquire_returned after taking it,
released before letting it go), so a hold is measured from when the
reader runs with the lock to when it gives it up: time between the
rwsem granting a sleeping reader the lock and that reader running is
mapper wait that no reader hold shows.

The harness writes a marker into the trace when the sample starts
("procvma start mapper=PID": the start gate opens) and when the mapper
is done ("procvma end"); reader acquisitions count from the start marker
until the scanners are stopped, as on the simulator.
"""

import contextlib
import ctypes
import mmap
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections import namedtuple

from procvma import native, vocab

SYSTEM = "mmap_lock"
EVENTS = ("mmap_lock_start_locking", "mmap_lock_acquire_returned",
          "mmap_lock_released")
START, ACQUIRED, RELEASED = EVENTS
MARKER_EVENT = "tracing_mark_write"
MARKER_START = "procvma start mapper="
MARKER_END = "procvma end"
MARKER_READ = "procvma read "

DEFAULT_MOUNT = "/sys/kernel/tracing"
INSTANCE_PREFIX = "procvma-"

# Room in the buffer per CPU and per second of sample: a smaps_rollup run
# with cat scanners records about 56,000 events (2 MB) a second, nearly
# all on the scanners' CPU; four times that leaves room for a faster
# scanner.  Set-up before the start gate is recorded too.
BUFFER_KB_PER_S = 8192
BUFFER_KB_MIN = 16384
BUFFER_KB_SETUP_S = 5
# Past this a run traces only part of each sample, and says so.
BUFFER_KB_MAX = 1 << 20
# CPUs none of the run's tasks is pinned to get the smallest buffer: a
# large machine would otherwise give a trace gigabytes it never uses.
BUFFER_KB_IDLE_CPU = 64

Event = namedtuple("Event", "pid ts_ns name mm write success text")

# "  TASK-PID  [CPU] FLAGS  TIMESTAMP: EVENT: BODY", where TASK may hold
# spaces and dashes, the flags column is there with options/irq-info, and
# "(TGID)" with options/record-tgid.  One pass of finditer over the whole
# text: a trace holds some 50,000 events per second of sample.
_LINE = re.compile(
    r"-(\d+) +(?:\( *[-\d]+\) +)?\[\d+\] +(?:[^\s:]+ +)?(\d+)\.(\d+): "
    r"(?:(mmap_lock_\w+): mm=(\S+) .*?write=(true|false)"
    r"(?: success=(true|false))?"
    r"|tracing_mark_write: (.*))$", re.M)


def parse_events(text):
    """The mmap_lock events and procvma's markers of a tracefs trace
    text, in order; other lines are skipped."""
    for m in _LINE.finditer(text):
        pid, sec, frac, name, mm, write, success, marker = m.groups()
        ts_ns = int(sec) * 1_000_000_000 + int(frac.ljust(9, "0"))
        if name is None:
            yield Event(int(pid), ts_ns, MARKER_EVENT, None, None, None,
                        marker.strip())
        elif name in EVENTS:
            yield Event(int(pid), ts_ns, name, mm, write == "true",
                        success != "false", None)


def sample_figures(events):
    """The lock figures of one sample from its events (see the module
    doc), in ms; None when the trace holds no procvma start marker."""
    mapper = mapper_mm = None
    ended = False
    wait_from = None
    waits = []
    # Per mm: the scanners start before the mapper's first write lock
    # says which mm is its own.
    locks = {}
    holds = {}
    open_holds = {}
    for ev in events:
        if ev.name == MARKER_EVENT:
            if ev.text.startswith(MARKER_START) and mapper is None:
                mapper = int(ev.text[len(MARKER_START):].split()[0])
            elif ev.text.startswith(MARKER_END) and mapper is not None:
                ended = True
            continue
        if mapper is None:
            continue
        if ev.pid == mapper:
            # Its own read locks (mm_populate(), munmap()'s downgrade)
            # are no reader's; after the end, it is exiting.
            if not ev.write or ended:
                continue
            mapper_mm = mapper_mm or ev.mm
            if ev.name == START:
                wait_from = ev.ts_ns
            elif ev.name == ACQUIRED and wait_from is not None:
                waits.append(ev.ts_ns - wait_from)
                wait_from = None
            continue
        if ev.write:
            continue
        key = (ev.pid, ev.mm)
        if ev.name == ACQUIRED and ev.success:
            locks[ev.mm] = locks.get(ev.mm, 0) + 1
            open_holds.setdefault(key, []).append(ev.ts_ns)
        elif ev.name == RELEASED and open_holds.get(key):
            holds.setdefault(ev.mm, []).append(ev.ts_ns - open_holds[key].pop())
    if mapper is None:
        return None
    reader_holds = holds.get(mapper_mm, [])
    return {
        "mapper_wait_ms": sum(waits) / 1e6,
        "mapper_wait_max_ms": max(waits, default=0) / 1e6,
        "reader_hold_avg_ms": (sum(reader_holds) / len(reader_holds) / 1e6
                               if reader_holds else 0.0),
        "reader_hold_max_ms": max(reader_holds, default=0) / 1e6,
        "reader_mmap_locks": locks.get(mapper_mm, 0),
    }


# ---- tracefs --------------------------------------------------------------

class TraceUnavailable(Exception):
    """Tracing cannot run here; the message says why, in one line."""


def _mounts():
    try:
        with open("/proc/self/mounts") as f:
            return [line.split() for line in f]
    except OSError:
        return []


PRIVATE_MOUNT_PREFIX = "procvma-tracefs-"


def tracefs_mount():
    """Where tracefs is mounted, or None.  Another run's private mount
    (see LockTrace) is not one: it goes when that run ends."""
    points = [fields[1] for fields in _mounts()
              if len(fields) > 2 and fields[2] == "tracefs"
              and not os.path.basename(fields[1]).startswith(PRIVATE_MOUNT_PREFIX)]
    if DEFAULT_MOUNT in points:
        return DEFAULT_MOUNT
    return points[0] if points else None


def _libc_call(name, *args):
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _mount_tracefs(path):
    _libc_call("mount", b"nodev", path.encode(), b"tracefs", ctypes.c_ulong(0),
               None)


def _umount(path):
    _libc_call("umount2", path.encode(), 0)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_instances(root):
    """Instances left by a procvma that was killed outright (SIGKILL gives
    no chance to clean up): named after their process, which is gone."""
    inst = os.path.join(root, "instances")
    try:
        names = os.listdir(inst)
    except OSError:
        return
    for name in names:
        if not name.startswith(INSTANCE_PREFIX):
            continue
        try:
            pid = int(name[len(INSTANCE_PREFIX):])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(inst, name))


def buffer_kb_for(duration_s):
    """Per-CPU buffer for a sample of duration_s seconds."""
    kb = int(BUFFER_KB_PER_S * (duration_s + BUFFER_KB_SETUP_S))
    return min(max(kb, BUFFER_KB_MIN), BUFFER_KB_MAX)


def sample_cpus(params):
    """The CPUs a sample's tasks are pinned to (its children inherit
    them): the mapper's, the driver's and the busy CPUs."""
    first = params["cpubusytasks"]
    return {params["cpumapper"], params["cpuscript"],
            *range(first, first + params["nbusycpus"])}


def for_sample(params):
    """A LockTrace sized for samples of params (duration and CPUs)."""
    return LockTrace(buffer_kb_for(params["duration"]), cpus=sample_cpus(params))


ENGINE = vocab.TRACE_ENGINE.tracefs


class LockTrace:
    """A tracefs instance recording the mmap_lock events of the tasks a
    sample starts.  Use as a context manager: on the way out, however it
    is left (an error, Ctrl-C), the instance is removed, and tracefs is
    unmounted again if it was mounted for us.

        with LockTrace(buffer_kb) as tr:
            ... in the thread that runs the sample:
            tr.begin()            # clear, follow this thread and its children
            run the sample, writing markers to tr.marker_fd
            tr.end()              # stop following
            figures, lost = tr.collect()
    """

    engine = ENGINE

    def __init__(self, buffer_kb=BUFFER_KB_MIN, events=EVENTS, cpus=None):
        """buffer_kb per CPU, on the CPUs in cpus only (None: all)."""
        self.buffer_kb = buffer_kb
        self.cpus = cpus
        self.events = events
        self.root = None
        self.mounted = False
        self.dir = None
        self.marker_fd = -1
        self._signals = None

    # -- set-up and clean-up --

    def __enter__(self):
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        # SIGTERM and SIGHUP stop the run as Ctrl-C does, so that close()
        # runs on those ways out too: by default Python would die on them
        # and leave the instance behind.
        self._signals = contextlib.ExitStack()
        self._signals.enter_context(native.stopping_on_signals())
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _setup(self):
        if os.geteuid() != 0:
            raise TraceUnavailable("tracing mmap_lock needs root (tracefs)")
        self.root = tracefs_mount()
        if self.root is None:
            # A mount of our own, in a directory of our own: the system's
            # mount point stays as it was, and another run's mount is
            # never ours to take away.
            private = tempfile.mkdtemp(prefix=PRIVATE_MOUNT_PREFIX)
            try:
                _mount_tracefs(private)
            except OSError as e:
                os.rmdir(private)
                raise TraceUnavailable(f"cannot mount tracefs: {e.strerror}")
            self.root, self.mounted = private, True
        events = os.path.join(self.root, "events", SYSTEM)
        missing = [e for e in self.events
                   if not os.path.isdir(os.path.join(events, e))]
        if missing:
            raise TraceUnavailable(
                f"this kernel has no {SYSTEM}:{missing[0]} tracepoint")
        _remove_stale_instances(self.root)
        self.dir = os.path.join(self.root, "instances",
                                f"{INSTANCE_PREFIX}{os.getpid()}")
        try:
            os.mkdir(self.dir)
        except OSError as e:
            self.dir = None
            raise TraceUnavailable(f"cannot create a tracefs instance: {e.strerror}")
        try:
            if self.cpus is None:
                self._write("buffer_size_kb", str(self.buffer_kb))
            else:
                self._write("buffer_size_kb", str(BUFFER_KB_IDLE_CPU))
                for cpu in sorted(self.cpus):
                    self._write(f"per_cpu/cpu{cpu}/buffer_size_kb",
                                str(self.buffer_kb))
        except OSError as e:
            raise TraceUnavailable(
                f"cannot allocate a {self.buffer_kb} KiB trace buffer per CPU: "
                f"{e.strerror}")
        # Keep the oldest events when full: a lost tail is counted in the
        # per-CPU "dropped events" and reported, never a silent gap.
        self._write("options/overwrite", "0")
        self._write("tracing_on", "0")
        for e in self.events:
            self._write(f"events/{SYSTEM}/{e}/enable", "1")
        self.marker_fd = os.open(os.path.join(self.dir, "trace_marker"),
                                 os.O_WRONLY | os.O_CLOEXEC)

    def close(self):
        """Remove the instance (its events, pid list and buffer with it),
        and unmount tracefs if it was mounted for us.  Idempotent."""
        if self._signals is not None:
            self._signals.close()
            self._signals = None
        if self.marker_fd >= 0:
            os.close(self.marker_fd)
            self.marker_fd = -1
        if self.dir is not None:
            with contextlib.suppress(OSError):
                self._write("tracing_on", "0")
            with contextlib.suppress(OSError):
                self._write("set_event_pid", "")
            for e in self.events:
                with contextlib.suppress(OSError):
                    self._write(f"events/{SYSTEM}/{e}/enable", "0")
            with contextlib.suppress(OSError):
                os.rmdir(self.dir)
            self.dir = None
        if self.mounted:
            with contextlib.suppress(OSError):
                _umount(self.root)
                os.rmdir(self.root)
            self.mounted = False

    def _write(self, name, value):
        # O_TRUNC: set_event_pid and trace are cleared by a truncating open.
        fd = os.open(os.path.join(self.dir, name),
                     os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode() if value else b"")
        finally:
            os.close(fd)

    def _read(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return f.read()

    # -- one sample --

    def run(self, core, params):
        """One sample of params in the calling thread, traced with its
        children; its dict has "locks": collect()'s answer."""
        self.begin()
        try:
            sample = core.bench_run(params, self.marker_fd)
        finally:
            self.end()
        sample["locks"] = self.collect()
        return sample

    def begin(self, tid=None, follow_children=True):
        """Empty the buffer and record what the calling thread (or tid)
        does, and everything it forks or clones from now on unless
        follow_children is false."""
        self._write("tracing_on", "0")
        self._write("trace", "")
        self._write("options/event-fork", "1" if follow_children else "0")
        self._write("set_event_pid", str(tid or threading.get_native_id()))
        self._write("tracing_on", "1")

    def end(self):
        self._write("tracing_on", "0")
        self._write("set_event_pid", "")

    def marker(self, text):
        os.write(self.marker_fd, text.encode())

    def lost(self):
        """Events the buffer had no room for since begin()."""
        total = 0
        per_cpu = os.path.join(self.dir, "per_cpu")
        for cpu in os.listdir(per_cpu):
            with open(os.path.join(per_cpu, cpu, "stats")) as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("overrun", "dropped events"):
                        total += int(value)
        return total

    def text(self):
        return self._read("trace")

    def collect(self):
        """(figures, None) for the sample recorded since begin(), or
        (None, why not) in one line."""
        try:
            lost = self.lost()
            if lost:
                return None, (f"the trace buffer lost {lost} events "
                              "(a shorter --duration needs less)")
            figures = sample_figures(parse_events(self.text()))
        except OSError as e:
            return None, f"cannot read the trace: {e.strerror or e}"
        if figures is None:
            return None, "the sample's start is not in the trace"
        return figures, None


# ---- which procfiles take mmap_lock ----------------------------------------

# The files the simulator models, each of whose lock procvma info reports.
PROCFILES = tuple(vocab.PROCFILE)
TRIES = 3


def _read_to_eof(path):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        while os.read(fd, 1 << 17):
            pass
    finally:
        os.close(fd)


def read_locks(events, reader, own_mm):
    """Read acquisitions by reader of any mm but own_mm, per marked read:
    {label: count}, from each marker "procvma read LABEL" to the next
    marker."""
    counts = {}
    label = None
    for ev in events:
        if ev.name == MARKER_EVENT:
            label = None
            if ev.text.startswith(MARKER_READ):
                label = ev.text[len(MARKER_READ):]
                counts[label] = 0
            continue
        if (label is not None and ev.pid == reader and not ev.write and
                ev.name == ACQUIRED and ev.success and ev.mm != own_mm):
            counts[label] += 1
    return counts


def classify(counts_per_try):
    """"mmap" when every read of the file took the other mm's mmap_lock,
    "vma" when one did not.

    A per-VMA reader takes mmap_lock only to fall back, when a VMA it
    wants is write-locked or detached; the child whose files are read is
    blocked in read(2), so nothing changes its VMAs and a per-VMA read
    takes it no time at all.  A reader under mmap_lock takes it at least
    once per read() that produces text, however few VMAs there are.  A
    kernel thread that happens to write-lock the child's mm (khugepaged)
    can force a fallback in one read, never in all of them."""
    return vocab.LOCK.mmap if min(counts_per_try) > 0 else vocab.LOCK.vma


def _own_mm(events, tid):
    """The mm that tid write-locked first: procfile_locks() maps and
    unmaps a page of its own before anything else, so this is its own."""
    for ev in events:
        if ev.pid == tid and ev.write and ev.name == ACQUIRED:
            return ev.mm
    return None


def procfile_locks(procfiles=PROCFILES):
    """{procfile: "mmap" | "vma" | "unknown"}: which lock this kernel reads
    each /proc/PID file under, found by tracing reads of the files of a
    throw-away child.  All "unknown" where tracing cannot run; raises
    nothing."""
    result = dict.fromkeys(procfiles, "unknown")
    child = None
    try:
        with LockTrace() as tr:
            # A child that waits in read(2) on its stdin: its mm is still.
            child = subprocess.Popen(
                [sys.executable, "-c",
                 "import sys; sys.stdout.write('.'); sys.stdout.flush(); "
                 "sys.stdin.read()"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            if child.stdout.read(1) != b".":
                return result
            present = [name for name in procfiles
                       if os.path.exists(f"/proc/{child.pid}/{name}")]
            tid = threading.get_native_id()
            tr.begin(tid, follow_children=False)
            mmap.mmap(-1, mmap.PAGESIZE).close()    # names our own mm
            for k in range(TRIES):
                for name in present:
                    tr.marker(f"{MARKER_READ}{name}#{k}")
                    _read_to_eof(f"/proc/{child.pid}/{name}")
            tr.marker(MARKER_END)
            tr.end()
            if tr.lost():
                return result
            events = list(parse_events(tr.text()))
        own = _own_mm(events, tid)
        if own is None:
            return result
        counts = read_locks(events, tid, own)
        for name in present:
            result[name] = classify([counts.get(f"{name}#{k}", 0)
                                     for k in range(TRIES)])
        return result
    except (TraceUnavailable, OSError):
        return result
    finally:
        if child is not None:
            with contextlib.suppress(OSError):
                child.stdin.close()
            child.kill()
            child.wait()
