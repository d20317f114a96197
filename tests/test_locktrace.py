# SPDX-License-Identifier: GPL-2.0-or-later
"""The mmap_lock figures: from recorded tracefs text, from the simulator's
own locks, and from the real kernel with --trace (root and tracefs), with
tracefs left as it was found on every way out."""

import csv
import math
import os
import shutil
import signal
import subprocess
import time

import pytest
from test_cli import command

from procvma.host import locktrace
from procvma.results import schema

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
# A kernel-backend sample (cat scanner, smaps_rollup, busyduration 2) as
# tracefs printed it on Linux 6.18, cut to a few stretches: set-up before
# the start marker, the mapper's first ops, a 9 ms and a 22 ms wait for
# the write lock while a preempted cat holds the read lock, the end marker
# and the exits after it.
RUN_TRACE = os.path.join(DATA, "locktrace-smaps_rollup.txt")
# procvma info's reads of a throw-away child's maps, smaps, smaps_rollup.
INFO_TRACE = os.path.join(DATA, "locktrace-info.txt")

MAPPER_MM = "00000000d93477b0"


def read(path):
    with open(path) as f:
        return f.read()


def figures(text):
    return locktrace.sample_figures(locktrace.parse_events(text))


# ---- recorded trace text ---------------------------------------------------

def test_parse_reads_every_event_and_marker():
    text = read(RUN_TRACE)
    events = list(locktrace.parse_events(text))
    assert len(events) == text.count(": mmap_lock_") + text.count(": tracing_mark_write: ")
    markers = [e.text for e in events if e.name == locktrace.MARKER_EVENT]
    assert markers == ["procvma start mapper=22878", "procvma end"]
    first = next(e for e in events if e.name != locktrace.MARKER_EVENT)
    assert first == locktrace.Event(22877, 1221_005946_000, locktrace.START,
                                    "00000000472dfbac", True, True, None)


def test_figures_of_a_recorded_sample():
    # Worked out by hand from the file: the mapper's write waits (start to
    # acquire, after the start marker) are 1, 1 and 0 us, then 9160 us
    # (.075570 -> .084730) and 22180 us (.084922 -> .107102) while
    # cat-22886, preempted by the busy-waiter, held the read lock 8497 us
    # and 21290 us; cat-22886 took the mapper's mm 15 times, holding it
    # 31441 us in all.
    f = figures(read(RUN_TRACE))
    assert f["mapper_wait_ms"] == pytest.approx(31.342)
    assert f["mapper_wait_max_ms"] == pytest.approx(22.180)
    assert f["reader_mmap_locks"] == 15
    assert f["reader_hold_max_ms"] == pytest.approx(21.290)
    assert f["reader_hold_avg_ms"] == pytest.approx(31.441 / 15)


def test_only_the_mappers_mm_and_only_the_sample_count():
    text = read(RUN_TRACE)
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if "procvma start" in l)
    # Nothing before the start marker counts, nor any other mm (the
    # harness's own, each cat's own): dropping them changes nothing.
    kept = [l for l in lines[start:] if MAPPER_MM in l or "tracing_mark" in l]
    assert figures("\n".join(kept)) == figures(text)
    # Without the start marker the sample cannot be found.
    assert figures("\n".join(l for l in lines if "procvma start" not in l)) is None


def test_the_mappers_own_read_locks_are_no_readers():
    text = read(RUN_TRACE)
    mapper_reads = [l for l in text.splitlines()
                    if "procvma-kmapper" in l and "write=false" in l]
    assert mapper_reads
    without = "\n".join(l for l in text.splitlines() if l not in mapper_reads)
    assert figures(without) == figures(text)


def test_an_unfinished_hold_is_an_acquisition_but_no_hold():
    text = read(RUN_TRACE)
    # Cut the trace right after cat's 12th acquire: 11 holds ended.
    lines = text.splitlines()
    cut = next(i for i, l in enumerate(lines)
               if "cat-22886" in l and "1221.085519" in l)
    f = figures("\n".join(lines[:cut + 1]))
    assert f["reader_mmap_locks"] == 12
    assert f["reader_hold_max_ms"] == pytest.approx(8.497)
    assert f["reader_hold_avg_ms"] == pytest.approx(9.730 / 11)


@pytest.mark.parametrize("line", [
    # tracefs with options/record-tgid, without options/irq-info, and a
    # task name with spaces and dashes.
    " cat-22886 (  22886) [001] .....  1221.075520: mmap_lock_acquire_returned: "
    "mm=00000000d93477b0 memcg_id=3335 write=false success=true",
    "           cat-22886    [001]  1221.075520: mmap_lock_acquire_returned: "
    "mm=00000000d93477b0 memcg_id=3335 write=false success=true",
    " my task-x-22886    [001] .....  1221.075520: mmap_lock_acquire_returned: "
    "mm=00000000d93477b0 memcg_path=/sys-fs write=false success=true",
])
def test_parse_tolerates_the_trace_format_options(line):
    (ev,) = locktrace.parse_events(line)
    assert ev == locktrace.Event(22886, 1221_075520_000, locktrace.ACQUIRED,
                                 MAPPER_MM, False, True, None)


def test_parse_skips_what_is_not_ours():
    text = ("# tracer: nop\n"
            "  <idle>-0 [000] d.h1. 1.000001: irq_handler_entry: irq=1\n"
            "  cat-1 [000] ..... 1.000002: mmap_lock_acquire_returned: garbled\n")
    assert list(locktrace.parse_events(text)) == []


def test_which_files_a_recorded_info_run_saw_under_mmap_lock():
    events = list(locktrace.parse_events(read(INFO_TRACE)))
    reader = events[0].pid
    own = locktrace._own_mm(events, reader)
    counts = locktrace.read_locks(events, reader, own)
    # The recording predates numa_maps in PROCFILES.
    per_file = {name: [counts[f"{name}#{k}"] for k in range(locktrace.TRIES)]
                for name in ("maps", "smaps", "smaps_rollup")}
    # Linux 6.18: maps walks under per-VMA locks; smaps takes mmap_lock
    # once per read() chunk (8 of them), smaps_rollup once.
    assert per_file == {"maps": [0, 0, 0], "smaps": [8, 8, 8],
                        "smaps_rollup": [1, 1, 1]}
    assert {n: locktrace.classify(c) for n, c in per_file.items()} == {
        "maps": "vma", "smaps": "mmap", "smaps_rollup": "mmap"}


@pytest.mark.parametrize("counts, lock", [
    ([0, 0, 0], "vma"), ([2, 0, 0], "vma"),    # a fallback in one read
    ([1, 1, 1], "mmap"), ([8, 9, 8], "mmap"),
])
def test_classify(counts, lock):
    assert locktrace.classify(counts) == lock


def test_the_big_buffers_go_to_the_samples_cpus_only():
    assert locktrace.sample_cpus(dict(cpumapper=0, cpuscript=1, cpubusytasks=4,
                                      nbusycpus=2)) == {0, 1, 4, 5}


def test_buffer_grows_with_the_duration_within_bounds():
    assert locktrace.buffer_kb_for(0.1) >= locktrace.BUFFER_KB_MIN
    assert locktrace.buffer_kb_for(10) > locktrace.buffer_kb_for(3)
    assert locktrace.buffer_kb_for(86400) == locktrace.BUFFER_KB_MAX


def test_tracing_refused_in_one_line_without_tracefs(monkeypatch):
    monkeypatch.setattr(locktrace.os, "geteuid", lambda: 0)
    monkeypatch.setattr(locktrace, "tracefs_mount", lambda: None)

    def no_mount(path):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(locktrace, "_mount_tracefs", no_mount)
    with pytest.raises(locktrace.TraceUnavailable,
                       match="^cannot mount tracefs: Operation not permitted$"):
        locktrace.LockTrace().__enter__()
    assert locktrace.procfile_locks() == dict.fromkeys(locktrace.PROCFILES, "unknown")


# ---- the simulator ----------------------------------------------------------

def sim_rows(lock, procfile, duration=1.0, **extra):
    from procvma.run import runner
    params = dict(backend="sim", lock=lock, procfile=procfile, cpumapper=0,
                  cpuscript=0, cpubusytasks=os.cpu_count() - 1, nbusycpus=1,
                  nbusytasks=1, busyduration=2, duration=duration,
                  region_pages=32768, **extra)
    return runner.run_samples(params, 1, 1)


@pytest.mark.parametrize("procfile", ["smaps_rollup", "maps"])
def test_sim_figures_count_what_the_walkers_did(procfile):
    (mm,) = sim_rows("mmap", procfile)
    (vma,) = sim_rows("vma", procfile)
    if procfile == "smaps_rollup":
        # One lock per pass, and one more per drop-and-retake.  The pass
        # under way when the sample ended has its locks counted, as the
        # kernel's trace has them, but is no walk: the sample does not
        # hold all of it.
        assert 0 <= mm["reader_mmap_locks"] - mm["walks"] - mm["drops"] <= 1
    else:
        # One lock per read() chunk: more than one per walk of 4 KiB chunks.
        assert mm["reader_mmap_locks"] > mm["walks"] > 0
    # The per-VMA design takes mmap_lock only to fall back.
    assert vma["reader_mmap_locks"] == vma["fallbacks"]
    for row in (mm, vma):
        # A hold lies within the sample, or the pass under way at its end,
        # which the scanners finish within the hang grace (5 s).
        assert row["reader_hold_max_ms"] <= 1000 * (1.0 + 5.0)
        assert 0 <= row["reader_hold_avg_ms"] <= row["reader_hold_max_ms"]
        # The mapper waits inside its timed calls.
        ops = row["nmaps"] + row["nunmaps"] + row["nfailed"]
        assert row["mapper_wait_max_ms"] <= row["opmax_ms"]
        assert row["mapper_wait_max_ms"] <= row["mapper_wait_ms"] <= row["opavg_ms"] * ops
    assert mm["mapper_wait_ms"] > 0 and mm["reader_hold_avg_ms"] > 0


def test_sim_mapper_waits_far_longer_under_the_mmap_design():
    # The same op stream in one run; the acceptance figure is 10x, the
    # test leaves room for a loaded machine.
    (mm,) = sim_rows("mmap", "smaps_rollup", op_cost_ns=0)
    (vma,) = sim_rows("vma", "smaps_rollup", op_cost_ns=0)
    assert mm["mapper_wait_ms"] > 3 * vma["mapper_wait_ms"]


# ---- the real kernel: root and tracefs ----------------------------------------

def _trace_unavailable():
    try:
        with locktrace.LockTrace():
            return None
    except locktrace.TraceUnavailable as e:
        return str(e)


@pytest.fixture(scope="module")
def tracefs():
    why = _trace_unavailable()
    if why:
        pytest.skip(f"needs root and tracefs with mmap_lock tracepoints: {why}")


def tracefs_state():
    """What a run must leave as it found: whether and where tracefs is
    mounted, its instances, and the top-level settings and events."""
    mount = locktrace.tracefs_mount()
    state = {"mount": mount}
    if mount is None:
        return state
    # Another procvma's instance, while it runs, is none of ours; one
    # whose process is gone is a leftover.
    state["instances"] = sorted(
        name for name in os.listdir(os.path.join(mount, "instances"))
        if not name.startswith(locktrace.INSTANCE_PREFIX)
        or not locktrace._pid_alive(int(name[len(locktrace.INSTANCE_PREFIX):])))
    names = ["tracing_on", "current_tracer", "set_event", "set_event_pid",
             "buffer_size_kb", "trace_clock", "trace_options",
             "options/event-fork", "options/overwrite"]
    for ev in locktrace.EVENTS:
        names += [f"events/mmap_lock/{ev}/enable", f"events/mmap_lock/{ev}/filter"]
    for name in names:
        with open(os.path.join(mount, name)) as f:
            state[name] = f.read()
    return state


def kernel_run(tmp_path, procfile, scanner, *extra, nsamples=1, duration=1):
    out = tmp_path / f"{procfile}-{scanner}.csv"
    r = subprocess.run(command("run-proc-vs-map") + [
        "--backend", "kernel", "--trace", "--locks", "--scanner", scanner,
        "--procfile", procfile, "--busyduration", "2", "--nsamples",
        str(nsamples), "--duration", str(duration), "--seed", "1",
        "--csv", str(out), *extra], capture_output=True, text=True, timeout=120)
    with open(out) as f:
        return r, [{k: float(v) if k in schema.NUMERIC_COLUMNS else v
                    for k, v in row.items()} for row in csv.DictReader(f)]


def test_kernel_trace_sees_smaps_rollup_hold_mmap_lock_and_maps_not(tracefs, tmp_path):
    before = tracefs_state()
    r, (rollup,) = kernel_run(tmp_path, "smaps_rollup", "read")
    assert r.returncode == 0, r.stderr
    # Every walk of smaps_rollup takes mmap_lock at least once; the
    # in-process scanner holds it most of the time, so the mapper waits.
    assert rollup["reader_mmap_locks"] >= rollup["walks"] > 0
    assert 0 < rollup["reader_hold_avg_ms"] <= rollup["reader_hold_max_ms"]
    assert rollup["mapper_wait_ms"] > 0
    assert "mapper's write-lock waits" in r.stdout
    # 3 s, not 1: fallbacks come at 0.05 to 0.09 per walk in 1 s samples
    # here, and one in a dozen such samples reached the bound below.
    r, (maps,) = kernel_run(tmp_path, "maps", "read", duration=3)
    assert r.returncode == 0, r.stderr
    # maps on a per-VMA kernel: mmap_lock only for the odd fallback.
    if os.uname().release.startswith("6.18"):
        assert maps["reader_mmap_locks"] < maps["walks"] / 10
    assert tracefs_state() == before


def count_rows(path):
    try:
        with open(path) as f:
            return max(0, sum(1 for _ in f) - 1)
    except OSError:
        return 0


def test_idle_cpus_get_the_small_buffer(tracefs):
    with locktrace.LockTrace(4096, cpus={0}) as tr:
        sizes = {cpu: int(open(f"{tr.dir}/per_cpu/{cpu}/buffer_size_kb").read())
                 for cpu in os.listdir(f"{tr.dir}/per_cpu")}
    # tracefs rounds a size up to whole pages.
    assert 4096 <= sizes["cpu0"] < 4096 + 64
    assert all(kb < 2 * locktrace.BUFFER_KB_IDLE_CPU for cpu, kb in sizes.items()
               if cpu != "cpu0")


def test_kernel_trace_cleans_up_after_ctrl_c_and_sigterm(tracefs, tmp_path):
    before = tracefs_state()
    for sig in (signal.SIGINT, signal.SIGTERM):
        out = tmp_path / f"{sig.name}.csv"
        p = subprocess.Popen(command("run-proc-vs-map") + [
            "--backend", "kernel", "--trace", "--scanner", "read",
            "--procfile", "smaps_rollup", "--busyduration", "2",
            "--nsamples", "5", "--duration", "1", "--csv", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Once the first sample is in, during the next: the first is kept.
        deadline = time.monotonic() + 60
        while count_rows(out) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        p.send_signal(sig)
        stdout, stderr = p.communicate(timeout=60)
        assert p.returncode == 128 + sig, stderr
        with open(out) as f:
            rows = list(csv.DictReader(f))
        assert 1 <= len(rows) < 5
        assert all(not math.isnan(float(r["mapper_wait_ms"])) for r in rows)
        assert tracefs_state() == before, sig.name


def test_kernel_trace_cleans_up_after_a_failed_sample(tracefs, tmp_path):
    before = tracefs_state()
    r = subprocess.run(command("run-proc-vs-map") + [
        "--backend", "kernel", "--trace", "--procfile", "smaps_rollup",
        "--nsamples", "1", "--duration", "0.5", "--csv",
        str(tmp_path / "x.csv"), "--gb", "4096"],
        capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert tracefs_state() == before


def test_procvma_info_names_the_lock_of_each_file(tracefs):
    before = tracefs_state()
    r = subprocess.run(command("procvma") + ["info"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if l.startswith("procfile ")]
    assert [l.split(":")[0] for l in lines] == [
        f"procfile {n}" for n in locktrace.PROCFILES]
    assert all(l.split(": ")[1] in ("mmap", "vma") for l in lines)
    if os.uname().release.startswith("6.18"):
        assert "procfile maps: vma" in lines
        assert "procfile smaps_rollup: mmap" in lines
        assert "procfile numa_maps: mmap" in lines
    assert tracefs_state() == before


# ---- where it cannot run ------------------------------------------------------

def as_nobody():
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("needs setpriv to drop root")
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    # A checkout under a folder private to root (mktemp -d makes them) is
    # out of reach for nobody: then there is nothing to run as nobody.
    probe = subprocess.run(prefix + command("procvma") + ["--version"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode:
        pytest.skip("user nobody cannot run this install: "
                    + (probe.stderr.strip().splitlines() or ["?"])[-1])
    return prefix


def test_trace_without_root_is_refused_in_one_line():
    r = subprocess.run(as_nobody() + command("run-proc-vs-map") + [
        "--backend", "kernel", "--trace", "--nsamples", "1", "--duration", "0.5"],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr == ("run-proc-vs-map: error: --trace: tracing mmap_lock "
                        "needs root (tracefs)\n")
    assert r.stdout == ""


def test_info_without_root_says_unknown():
    r = subprocess.run(as_nobody() + command("procvma") + ["info"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for name in locktrace.PROCFILES:
        assert f"procfile {name}: unknown" in r.stdout.splitlines()


@pytest.mark.parametrize("args, message", [
    (["--trace"], "--trace is for --backend kernel"),
    (["--backend", "kernel", "--locks"], "--locks with --backend kernel needs --trace"),
])
def test_trace_and_locks_misuse_is_a_usage_error(args, message):
    r = subprocess.run(command("run-proc-vs-map") + args, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    assert message in r.stderr and r.stderr.count("\n") == 1
