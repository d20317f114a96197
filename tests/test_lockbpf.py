# SPDX-License-Identifier: GPL-2.0-or-later
"""--trace's BPF engine on the real kernel (root, BTF, a core built with
BPF): its figures on a workload whose hold split is known in kind, its
clean-up on every way out, and the fallback to tracefs."""

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from test_cli import command

from procvma import native
from procvma.host import lockbpf, locktrace
from procvma.results import schema

BPFTOOL = shutil.which("bpftool") or "/usr/sbin/bpftool"


def _bpf_unavailable():
    try:
        with lockbpf.BpfLockTrace():
            return None
    except lockbpf.BpfUnavailable as e:
        return str(e)


@pytest.fixture(scope="module")
def bpf():
    why = _bpf_unavailable()
    if why:
        pytest.skip(f"needs the BPF engine (root, BTF, built with clang, "
                    f"bpftool and libbpf): {why}")


@pytest.fixture(scope="module")
def tracefs():
    try:
        with locktrace.LockTrace():
            pass
    except locktrace.TraceUnavailable as e:
        pytest.skip(f"needs root and tracefs with mmap_lock tracepoints: {e}")


def read_rows(path):
    with open(path) as f:
        return [{k: float(v) if k in schema.NUMERIC_COLUMNS else v
                 for k, v in row.items()} for row in csv.DictReader(f)]


def run(tmp_path, *args, env=None, name="out"):
    out = tmp_path / f"{name}.csv"
    r = subprocess.run(command("run-proc-vs-map") + [
        "--backend", "kernel", "--trace", "--nsamples", "1", "--seed", "1",
        "--csv", str(out), *args], capture_output=True, text=True,
        timeout=120, env=dict(os.environ, **(env or {})))
    return r, (read_rows(out) if out.exists() else [])


# ---- the figures ----------------------------------------------------------------

def test_a_preempted_reader_holds_mmap_lock_preempted_not_asleep(bpf, tmp_path):
    # The in-process scanner (nice 15) reads smaps_rollup, which walks the
    # whole region under mmap_lock, on the CPU where a nice-0 busy-waiter
    # spins 2 ms of every 3: it is preempted with the lock held at a
    # cond_resched() in the walk, off CPU but runnable, and never sleeps
    # in the walk.  The mapper, queued behind it, sleeps for the write
    # lock and is woken when the reader lets go.
    r, (row,) = run(tmp_path, "--locks", "--trace-engine", "bpf",
                    "--scanner", "read", "--procfile", "smaps_rollup",
                    "--busyduration", "2", "--duration", "2")
    assert r.returncode == 0, r.stderr
    assert row["trace_engine"] == "bpf"
    parts = [row[c] for c in ("reader_hold_running_ms", "reader_hold_preempted_ms",
                              "reader_hold_sleeping_ms")]
    total = row["reader_hold_avg_ms"] * row["reader_mmap_locks"]
    assert total > 0 and row["walks"] > 0
    # Each part is measured on its own, from the switch and wake-up times
    # inside each hold, the total from the holds' acquires and releases:
    # they agree unless the engine missed a switch (or for a hold under
    # way at the sample's end).
    assert sum(parts) == pytest.approx(total, rel=0.1)
    running, preempted, asleep = parts
    assert preempted > 0 and running > 0
    assert asleep < 0.05 * total
    # A hold's running part is CPU time of the readers, which the engine
    # sums on its own from every switch in and out.
    cpu = row["reader_cpu_per_pass_ms"] * row["walks"]
    assert 0 < running <= 1.1 * cpu
    # Per pass, no more CPU than wall time.
    assert row["reader_cpu_per_pass_ms"] <= 1.05 * row["walk_avg_ms"]
    # The mapper slept for the write lock, each sleep ended by a wake-up
    # (a wake-up can also beat the sleep it was meant to end).
    if row["mapper_wait_max_ms"] > 1:
        assert row["mapper_sleeps"] > 0
        assert row["mapper_sleeps"] <= row["mapper_wakeups"] + 2
    # From the reader's wake-up call (sched_waking) to the mapper running
    # again: part of one of its waits.
    if row["mapper_wakeups"]:
        assert 0 < row["mapper_wake_to_run_ms"] <= row["mapper_wait_max_ms"]
    assert "read holds" in r.stdout and "preempted" in r.stdout


# A process with the slow file mapped, each of its pages not yet read:
# it prints the mapping's address, then on each line from us maps and
# unmaps a page of its own (so that its mm is named to the programs).
HOLDEE = """
import mmap, sys
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), int(sys.argv[2]), prot=mmap.PROT_READ)
for line in open("/proc/self/maps"):
    if sys.argv[1] in line:
        print(line.split("-")[0], flush=True)
for line in sys.stdin:
    mmap.mmap(-1, mmap.PAGESIZE).close()
    print("ok", flush=True)
"""
SLOW_READ_S = 0.1
SLOW_PAGES = 4


def test_a_holder_asleep_a_known_time_is_counted_asleep(bpf, tmp_path):
    # Reading another process's memory through /proc/PID/mem faults its
    # pages in with its mmap_lock held for read, and no way to drop it
    # (access_remote_vm()): a page of a file whose reads take 0.1 s to
    # answer keeps the reader asleep, holding, for 0.1 s.  Four pages,
    # four such holds; nothing else of note runs on the reader.
    import slowfuse
    if not os.path.exists("/dev/fuse"):
        pytest.skip("needs /dev/fuse")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    core = native.load_core()
    fs = slowfuse.SlowFuse(str(mnt), SLOW_READ_S, pages=SLOW_PAGES)
    try:
        fs.__enter__()
    except OSError as e:
        pytest.skip(f"cannot mount a FUSE file system: {e}")
    child = None
    try:
        with lockbpf.BpfLockTrace() as tr:
            child = subprocess.Popen(
                [sys.executable, "-c", HOLDEE, fs.path,
                 str(SLOW_PAGES * slowfuse.PAGE)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            addr = int(child.stdout.readline(), 16)
            assert core.lib.pv_ktrace_arm(tr.handle, child.pid) == 0
            child.stdin.write("\n")
            child.stdin.flush()
            assert child.stdout.readline() == "ok\n"
            out = {}

            def reader():
                out["rc"] = core.lib.pv_ktrace_add_reader(tr.handle)
                fd = os.open(f"/proc/{child.pid}/mem", os.O_RDONLY)
                try:
                    core.lib.pv_ktrace_start(tr.handle)
                    t0 = time.monotonic()
                    for k in range(SLOW_PAGES):
                        os.pread(fd, 1, addr + k * slowfuse.PAGE)
                    out["wall_ms"] = (time.monotonic() - t0) * 1000
                finally:
                    os.close(fd)
                    core.lib.pv_ktrace_mapper_done(tr.handle)
                    core.lib.pv_ktrace_disarm(tr.handle)

            t = threading.Thread(target=reader)
            t.start()
            t.join(30)
            assert out["rc"] == 0
            f, problem = tr.collect(SLOW_PAGES)
    finally:
        if child is not None:
            child.kill()
            child.wait()
        fs.__exit__()
    assert problem is None
    assert fs.reads == SLOW_PAGES
    known = SLOW_PAGES * SLOW_READ_S * 1000
    assert f["reader_mmap_locks"] >= SLOW_PAGES
    total = f["reader_hold_avg_ms"] * f["reader_mmap_locks"]
    asleep = f["reader_hold_sleeping_ms"]
    # Asleep for the file system's answers, which it gives after 0.1 s
    # each; the wall time of the reads bounds it from above.
    assert 0.95 * known <= asleep <= out["wall_ms"]
    assert asleep == pytest.approx(total, rel=0.1)
    assert f["reader_hold_running_ms"] + f["reader_hold_preempted_ms"] < 0.1 * known


def test_maps_under_per_vma_locks_holds_next_to_nothing(bpf, tmp_path):
    # Linux 6.17+ reads maps under per-VMA locks: the readers hold
    # mmap_lock only to fall back, so the split is of next to nothing,
    # while they still burn CPU per pass.
    if not os.uname().release.startswith("6.18"):
        pytest.skip("the per-VMA maps reader is Linux 6.17's")
    r, (row,) = run(tmp_path, "--trace-engine", "bpf", "--scanner", "read",
                    "--procfile", "maps", "--busyduration", "2", "--duration", "1")
    assert r.returncode == 0, r.stderr
    assert row["reader_mmap_locks"] < row["walks"] / 10
    assert row["reader_cpu_per_pass_ms"] > 0


# ---- nothing left behind ------------------------------------------------------

def held_bpf_ids(pid):
    """{("prog"|"map"|"link", id)} of the BPF objects process pid holds."""
    ids = set()
    fddir = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fddir):
        try:
            with open(os.path.join(fddir, fd)) as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("prog_id", "map_id", "link_id"):
                        ids.add((key[:-3], int(value)))
        except OSError:
            pass
    return ids


def live_bpf_ids():
    ids = set()
    for kind in ("prog", "map", "link"):
        out = subprocess.run([BPFTOOL, "-j", kind, "show"], capture_output=True,
                             text=True, timeout=30).stdout
        ids |= {(kind, obj["id"]) for obj in json.loads(out or "[]")}
    return ids


def count_rows(path):
    try:
        with open(path) as f:
            return max(0, sum(1 for _ in f) - 1)
    except OSError:
        return 0


@pytest.mark.parametrize("how", ["finish", "SIGINT", "SIGTERM", "SIGKILL"])
def test_the_kernel_holds_nothing_of_a_run_after_it(bpf, tmp_path, how):
    if not os.access(BPFTOOL, os.X_OK):
        pytest.skip("needs bpftool to list the kernel's BPF objects")
    out = tmp_path / "x.csv"
    p = subprocess.Popen(command("run-proc-vs-map") + [
        "--backend", "kernel", "--trace", "--trace-engine", "bpf",
        "--scanner", "read", "--procfile", "smaps_rollup", "--busyduration", "2",
        "--nsamples", "2" if how == "finish" else "5", "--duration", "1",
        "--csv", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    deadline = time.monotonic() + 60
    while count_rows(out) < 1 and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.1)
    ours = held_bpf_ids(p.pid) if p.poll() is None else set()
    if how != "finish":
        p.send_signal(getattr(signal, how))
    stdout, stderr = p.communicate(timeout=60)
    if how == "finish":
        assert p.returncode == 0, stderr
    elif how != "SIGKILL":
        assert p.returncode == 128 + getattr(signal, how), stderr
    assert {k for k, _ in ours} == {"prog", "map", "link"}, ours
    # The kernel frees programs and maps after a grace period.
    deadline = time.monotonic() + 10
    while ours & live_bpf_ids() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not ours & live_bpf_ids()


# ---- where BPF cannot run -------------------------------------------------------

def test_trace_falls_back_to_tracefs_in_one_line(tracefs, tmp_path):
    r, (row,) = run(tmp_path, "--scanner", "read", "--procfile", "smaps_rollup",
                    "--busyduration", "2", "--duration", "0.5",
                    env={lockbpf.DISABLE_ENV: "1"})
    assert r.returncode == 0, r.stderr
    notes = [l for l in r.stderr.splitlines() if "bpf engine" in l]
    assert notes == ["--trace: the bpf engine cannot run (PROCVMA_NO_BPF is set); "
                     "tracing with tracefs, without the holder-side figures"]
    assert row["trace_engine"] == "tracefs"
    # What tracefs measures is there; the holder's side is not.
    assert row["reader_mmap_locks"] > 0 and not math.isnan(row["mapper_wait_ms"])
    assert all(math.isnan(row[c]) for c in schema.HOLDER_COLUMNS)


def test_trace_engine_tracefs_is_chosen_without_a_word(tracefs, tmp_path):
    r, (row,) = run(tmp_path, "--trace-engine", "tracefs", "--scanner", "read",
                    "--procfile", "smaps_rollup", "--duration", "0.5")
    assert r.returncode == 0, r.stderr
    assert "bpf" not in r.stderr
    assert row["trace_engine"] == "tracefs"


def test_trace_engine_bpf_where_it_cannot_run_is_an_error(tmp_path):
    r, rows = run(tmp_path, "--trace-engine", "bpf", "--duration", "0.5",
                  env={lockbpf.DISABLE_ENV: "1"})
    assert r.returncode == 1 and rows == []
    assert r.stderr == ("run-proc-vs-map: error: --trace: the bpf engine cannot "
                        "run: PROCVMA_NO_BPF is set\n")


# ---- the fentry engine and its fallback -----------------------------------------

def _fentry_unavailable():
    try:
        with lockbpf.BpfLockTrace(fentry=True):
            return None
    except lockbpf.BpfUnavailable as e:
        return str(e)


def test_trace_engine_fentry_or_its_fallback_in_one_line(bpf, tmp_path):
    # Where the kernel loads fentry programs the rows say fentry and
    # nothing is said; where it refuses them, the tracepoint programs
    # measure, the rows say bpf, and one stderr line says why.
    refused = _fentry_unavailable()
    r, (row,) = run(tmp_path, "--trace-engine", "fentry", "--scanner", "read",
                    "--procfile", "smaps_rollup", "--busyduration", "2",
                    "--duration", "0.5")
    assert r.returncode == 0, r.stderr
    notes = [l for l in r.stderr.splitlines() if "engine" in l]
    if refused:
        assert row["trace_engine"] == "bpf"
        assert notes == [f"--trace: the fentry engine cannot run ({refused}); "
                         "tracing with the bpf engine's tracepoints"]
    else:
        assert row["trace_engine"] == "fentry" and notes == []
    assert row["reader_mmap_locks"] > 0
    assert not any(math.isnan(row[c]) for c in schema.HOLDER_COLUMNS)


class _Refused:
    def __init__(self, fentry=False):
        self.fentry = fentry

    def __enter__(self):
        raise lockbpf.BpfUnavailable("refused" if self.fentry else "no BPF here")


class _Tracefs:
    engine = "tracefs"

    def __enter__(self):
        return self


def test_fentry_falls_back_to_tracefs_in_one_line(monkeypatch):
    # Needs neither root nor BPF: both BPF engines refuse, tracefs is
    # stood in for.
    monkeypatch.setattr(lockbpf, "BpfLockTrace", _Refused)
    monkeypatch.setattr(locktrace, "for_sample", lambda params: _Tracefs())
    tr, note = lockbpf.open_trace({}, lockbpf.FENTRY)
    assert tr.engine == "tracefs"
    assert note == ("--trace: the fentry engine cannot run (refused); the bpf "
                    "engine cannot run (no BPF here); tracing with tracefs, "
                    "without the holder-side figures")


def test_fentry_falls_back_to_the_tracepoints(monkeypatch):
    class FentryRefused(_Refused):
        engine = "bpf"

        def __enter__(self):
            if self.fentry:
                raise lockbpf.BpfUnavailable("refused")
            return self

    monkeypatch.setattr(lockbpf, "BpfLockTrace", FentryRefused)
    tr, note = lockbpf.open_trace({}, lockbpf.FENTRY)
    assert tr.engine == "bpf"
    assert note == ("--trace: the fentry engine cannot run (refused); tracing "
                    "with the bpf engine's tracepoints")


def test_the_default_engine_never_tries_fentry(monkeypatch):
    tried = []

    class Recording(_Refused):
        engine = "bpf"

        def __enter__(self):
            tried.append(self.fentry)
            return self

    monkeypatch.setattr(lockbpf, "BpfLockTrace", Recording)
    tr, note = lockbpf.open_trace({}, None)
    assert (tried, tr.engine, note) == ([False], "bpf", None)


def test_trace_engine_without_trace_is_a_usage_error():
    r = subprocess.run(command("run-proc-vs-map") + [
        "--backend", "kernel", "--trace-engine", "bpf"], capture_output=True,
        text=True, timeout=60)
    assert r.returncode == 2
    assert "--trace-engine goes with --trace" in r.stderr
    assert r.stderr.count("\n") == 1


def test_every_row_names_its_engine(tmp_path):
    out = tmp_path / "sim.csv"
    r = subprocess.run(command("run-proc-vs-map") + [
        "--lock", "vma", "--nsamples", "1", "--duration", "0.2", "--csv",
        str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    (row,) = read_rows(out)
    assert row["trace_engine"] == "sim"
    # The kernel backend without --trace: none, and no lock figures.
    out = tmp_path / "kernel.csv"
    r = subprocess.run(command("run-proc-vs-map") + [
        "--backend", "kernel", "--scanner", "read", "--nsamples", "1",
        "--duration", "0.3", "--csv", str(out)], capture_output=True,
        text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    (row,) = read_rows(out)
    assert row["trace_engine"] == "-"
    assert math.isnan(row["mapper_wait_ms"]) and math.isnan(row["mapper_sleeps"])
