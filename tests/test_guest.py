# SPDX-License-Identifier: GPL-2.0-or-later
"""--kernel: guests of another kernel (procvma/host/guest.py,
procvma/run/inguest.py).

One test boots a real guest, Debian's 6.1 kernel under QEMU; it skips with
the reason where that cannot run here.  The bad inputs are tested without
booting: a stand-in QEMU (PROCVMA_QEMU) panics, hangs or is left behind
by a driver that is killed."""

import csv
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from procvma.host import guest, hostinfo, kernels
from procvma.run import inguest

from test_cli import run


# ---- which kernel ------------------------------------------------------------

def test_a_file_that_is_not_a_kernel(tmp_path):
    bogus = tmp_path / "vmlinuz"
    bogus.write_bytes(b"\x7fELF" + b"\0" * 4096)
    with pytest.raises(guest.GuestError, match="not an x86 kernel image"):
        kernels.resolve(str(bogus))
    r = run("procvma", "info", "--kernel", str(bogus))
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f"procvma info: error: --kernel {bogus}: not an x86 kernel image (bzImage)"]
    r = run("run-proc-vs-map", "--kernel", str(bogus), "--nsamples", "1")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().endswith("not an x86 kernel image (bzImage)")


def test_a_bzimage_names_its_release(tmp_path):
    # The boot protocol's header: "HdrS" at 0x202, the version string's
    # offset (less 0x200) at 0x20e.
    image = bytearray(0x1000)
    image[0x202:0x206] = b"HdrS"
    image[0x20e:0x210] = (0x400 - 0x200).to_bytes(2, "little")
    image[0x400:0x440] = b"6.1.0-50-amd64 (debian-kernel@lists) #1 SMP\0"
    path = tmp_path / "bzImage"
    path.write_bytes(bytes(image))
    assert kernels.bzimage_release(str(path)) == "6.1.0-50-amd64"


NAMES = ["linux-image-6.1.0-47-amd64", "linux-image-6.1.0-50-amd64",
         "linux-image-6.1.0-50-cloud-amd64", "linux-image-6.12.117+deb13-amd64",
         "linux-image-6.12.117+deb13-rt-amd64", "linux-image-7.3.4+deb13-amd64",
         "linux-image-7.3.4+deb13-amd64-dbg", "linux-image-7.2.13+deb14-amd64",
         "linux-image-amd64", "linux-image-6.18.15+deb13-amd64-unsigned"]


@pytest.mark.parametrize("version, package", [
    ("6.1", "linux-image-6.1.0-50-amd64"),
    ("6.12", "linux-image-6.12.117+deb13-amd64"),
    ("7.3.4", "linux-image-7.3.4+deb13-amd64"),
    ("latest", "linux-image-7.3.4+deb13-amd64"),
    ("6.18", None),
    ("9.99", None),
])
def test_which_debian_package(version, package):
    assert kernels.pick_package(NAMES, version) == package


def test_debian_9_99_is_no_such_kernel(monkeypatch, tmp_path):
    monkeypatch.setattr(kernels, "cache_dir", lambda: str(tmp_path))
    monkeypatch.setattr(kernels.Apt, "update", lambda self, log=None: None)
    monkeypatch.setattr(kernels.Apt, "run", lambda self, tool, *a, cwd=None:
                        "\n".join(NAMES))
    with pytest.raises(guest.GuestError, match="^no such kernel in Debian"):
        kernels.resolve("debian:9.99")
    with pytest.raises(guest.GuestError, match="not a Debian kernel version"):
        kernels.resolve("debian:six")


def test_a_kernel_whose_parts_are_gone_is_passed_over(monkeypatch, tmp_path):
    # Debian's lists can name a kernel whose modules package the archive
    # no longer holds: the newest complete one is taken instead.
    monkeypatch.setattr(kernels, "cache_dir", lambda: str(tmp_path))
    monkeypatch.setattr(kernels.Apt, "update", lambda self, log=None: None)
    fetched = []

    def apt(self, tool, *args, cwd=None):
        if args[0] == "pkgnames":
            return "\n".join(["linux-image-7.0.13+deb13-amd64",
                              "linux-image-7.0.12+deb13-amd64"])
        if args[0] == "show":
            kver = args[-1][len("linux-image-"):]
            return f"Depends: linux-modules-{kver} (= 1), linux-base-{kver}\n"
        if args[0] == "policy":
            gone = any("7.0.13" in a for a in args[1:])
            return "".join(f"{a}:\n  Candidate: {'(none)' if gone else '1'}\n"
                           for a in args[1:])
        fetched.append(args)
        raise guest.GuestError("stop here")

    monkeypatch.setattr(kernels.Apt, "run", apt)
    with pytest.raises(guest.GuestError, match="stop here"):
        kernels.resolve("debian:7.0")
    assert fetched == [("download", "linux-image-7.0.12+deb13-amd64",
                        "linux-modules-7.0.12+deb13-amd64")]


def test_no_apt(monkeypatch, tmp_path):
    monkeypatch.setattr(kernels, "cache_dir", lambda: str(tmp_path))
    real_which = shutil.which
    monkeypatch.setattr(kernels.shutil, "which", lambda name: None
                        if name.startswith("apt") else real_which(name))
    with pytest.raises(guest.GuestError, match="no apt on this machine"):
        kernels.resolve("debian:6.1")


def test_no_apt_from_the_command_line(tmp_path):
    # A PATH without apt (or anything else): the command itself is named
    # by its full path.
    r = run("procvma", "info", "--kernel", "debian:6.1",
            env=dict(os.environ, PATH=str(tmp_path)))
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "procvma info: error: --kernel debian:6.1: cannot fetch a Debian kernel: no apt "
        "on this machine (apt-get not found); give a kernel image file instead"]


# ---- the guest's command line ---------------------------------------------------

def test_the_guest_runs_the_same_command_on_its_own_kernel():
    argv = ["--kernel", "debian:6.1", "--nsamples", "2", "--csv", "out.csv",
            "--", "--procfile=maps", "--kernel=x"]
    assert inguest.guest_args(argv, "/tmp/g/rows.csv") == [
        "--backend", "kernel", "--nsamples", "2", "--", "--procfile=maps",
        "--csv", "/tmp/g/rows.csv"]
    assert inguest.guest_args(["--kernel", "k", "--backend", "kernel"], None) == [
        "--backend", "kernel"]


def test_vm_accel_is_named_on_the_guest_kernels_command_line(tmp_path):
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("console=ttyS0 procvma.vm_accel=tcg quiet\n")
    assert hostinfo.vm_accel(str(cmdline)) == "tcg"
    cmdline.write_text("BOOT_IMAGE=/vmlinuz root=/dev/vda ro\n")
    assert hostinfo.vm_accel(str(cmdline)) == "-"
    assert hostinfo.vm_accel(str(tmp_path / "none")) == "-"


def test_kernel_is_for_the_kernel_backend():
    r = run("run-proc-vs-map", "--kernel", "debian:6.1", "--backend", "sim")
    assert r.returncode == 2
    assert "--kernel runs the kernel backend in a guest" in r.stderr


# ---- a stand-in QEMU: panics, hangs, survivors -------------------------------------

needs_busybox = pytest.mark.skipif(not os.path.exists(guest.BUSYBOX),
                                   reason=f"{guest.BUSYBOX} not installed (busybox-static)")


def fake_qemu(tmp_path, body):
    path = tmp_path / "qemu-system-x86_64"
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return str(path)


def fake_kernel(tmp_path):
    image = tmp_path / "bzImage"
    image.write_bytes(b"not booted")
    return kernels.Kernel(str(image), "6.1.0-test", modules=None, name="test kernel")


@needs_busybox
def test_a_kernel_that_panics(tmp_path, monkeypatch):
    monkeypatch.setattr(guest, "QEMU", fake_qemu(tmp_path, """\
        echo "[    0.912] VFS: Cannot open root device"
        echo "[    0.913] Kernel panic - not syncing: VFS: Unable to mount root fs"
        sleep 30
        """))
    t0 = time.monotonic()
    with pytest.raises(guest.GuestError) as e:
        guest.run(fake_kernel(tmp_path), "true", timeout=20, accel="tcg")
    assert str(e.value) == ("the kernel panicked: not syncing: VFS: Unable to "
                            "mount root fs")
    assert time.monotonic() - t0 < 10     # at once, not at the timeout


@needs_busybox
def test_a_guest_that_hangs(tmp_path, monkeypatch):
    pidfile = tmp_path / "pid"
    monkeypatch.setattr(guest, "QEMU", fake_qemu(tmp_path, f"""\
        echo $$ > {pidfile}
        echo "Linux version 6.1.0-test"
        exec sleep 300
        """))
    with pytest.raises(guest.GuestError, match=r"^the guest hung: not done after 2 s "
                       r"\(booting\); its console's last line: 'Linux version"):
        guest.run(fake_kernel(tmp_path), "true", timeout=2, accel="tcg")
    assert not alive(int(pidfile.read_text()))


@needs_busybox
def test_a_guest_that_ends_before_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(guest, "QEMU", fake_qemu(tmp_path, """\
        echo "procvma-guest: cannot mount the host's root"
        """))
    with pytest.raises(guest.GuestError, match="ended before running the command: "
                       "its console's last line: \"procvma-guest: cannot mount"):
        guest.run(fake_kernel(tmp_path), "true", timeout=20, accel="tcg")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


DRIVER = """\
import sys
from procvma.host import guest, kernels
kernel = kernels.Kernel(sys.argv[1], "6.1.0-test", name="test kernel")
guest.run(kernel, "true", timeout=300, accel="tcg")
"""


@needs_busybox
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_no_qemu_survives_its_driver(tmp_path, sig):
    pidfile = tmp_path / "pid"
    qemu = fake_qemu(tmp_path, f"""\
        echo $$ > {pidfile}.tmp && mv {pidfile}.tmp {pidfile}
        exec sleep 300
        """)
    image = tmp_path / "bzImage"
    image.write_bytes(b"not booted")
    # TMPDIR: a driver killed outright leaves its guest's directory.
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(image)],
                              env=dict(os.environ, PROCVMA_QEMU=qemu,
                                       TMPDIR=str(tmp_path)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not pidfile.exists():
            assert driver.poll() is None, "the driver ended early"
            assert time.monotonic() < deadline, "the stand-in QEMU never started"
            time.sleep(0.05)
        qemu_pid = int(pidfile.read_text())
        assert alive(qemu_pid)
        driver.send_signal(sig)
        driver.wait(10)
        deadline = time.monotonic() + 5
        while alive(qemu_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(qemu_pid), f"QEMU outlived its driver's {sig.name}"
    finally:
        driver.kill()
        driver.wait()


# ---- one real guest ------------------------------------------------------------

def guest_unavailable():
    """Why a real guest cannot boot here, or None."""
    if os.geteuid() != 0:
        return "not root: the guest's root share reads all of / and --trace needs root"
    if shutil.which(guest.QEMU) is None:
        return f"{guest.QEMU} not installed (qemu-system-x86)"
    if not os.path.exists(guest.BUSYBOX):
        return f"{guest.BUSYBOX} not installed (busybox-static)"
    if shutil.which("apt-get") is None:
        return "no apt to fetch Debian's 6.1 kernel"
    return None


@pytest.fixture(scope="module")
def debian_61():
    why = guest_unavailable()
    if why:
        pytest.skip(why)
    try:
        return kernels.resolve("debian:6.1")
    except guest.GuestError as e:
        pytest.skip(f"cannot fetch Debian's 6.1 kernel: {e}")


def test_the_benchmark_in_a_debian_61_guest(debian_61, tmp_path):
    """The one guest the suite boots: the trace's 6.1 branch loads, and
    6.1 reads maps under mmap_lock."""
    out = tmp_path / "rows.csv"
    t0 = time.monotonic()
    r = run("run-proc-vs-map", "--kernel", "debian:6.1", "--trace",
            "--nsamples", "2", "--duration", "2", "--busyduration", "2",
            "--procfile", "maps", "--csv", str(out), timeout=120)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Running run-proc-vs-map --kernel debian:6.1 ")
    assert "a QEMU tcg guest: timing emulated" in r.stdout
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    for row in rows:
        assert row["kernel_release"].startswith("6.1.")
        assert row["vm_accel"] == "tcg"
        assert row["trace_engine"] == "bpf"
        assert row["preempt"] == "voluntary"
        assert row["command"].startswith("run-proc-vs-map --kernel debian:6.1 ")
    # 6.1 reads maps under mmap_lock: every pass of the scanners took it
    # (a pass cut by the sample's end may have been counted either way).
    for row in rows:
        assert float(row["reader_mmap_locks"]) >= max(1, float(row["walks"]) - 1), row
    assert took < 120


# ---- two guests, A/B ----------------------------------------------------------

def test_report_on_two_tcg_guests_gives_no_speed_verdict(tmp_path):
    from conftest import invoke
    from test_report import rows
    from test_compare_gate import write_csv

    from procvma.cli.report import report_cmd

    def guest_rows(release, mmap_locks, **over):
        return [dict(r, kernel_release=release, vm_accel="tcg", walks=3,
                     reader_mmap_locks=mmap_locks, **over)
                for r in rows(locks=("mmap",), backend="kernel", lock="kernel",
                              scanner="cat")]

    old = write_csv(tmp_path / "61.csv", guest_rows("6.1.0-50-amd64", 3))
    new = write_csv(tmp_path / "73.csv", [dict(r, opavg_ms=r["opavg_ms"] / 10)
                                          for r in guest_rows("7.3.4+deb13-amd64", 0)])
    result = invoke(report_cmd, old, new)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "Kernel: Linux 6.1.0-50-amd64 (tcg guest) -> Linux 7.3.4+deb13-amd64 " \
           "(tcg guest)" in out
    assert "Locks: smaps_rollup read under mmap_lock (Baseline), not mmap_lock (Patched)" in out
    assert ("Verdict: no speed verdict: Baseline and Patched ran in a TCG guest, "
            "whose timings are emulated") in out
    assert "faster" not in out


@pytest.mark.skipif(not os.environ.get("PROCVMA_TEST_GUEST_FENTRY"),
                    reason="a second guest boot (about 20 s under TCG); "
                           "PROCVMA_TEST_GUEST_FENTRY=1 runs it")
def test_the_fentry_engine_loads_in_a_debian_61_guest(debian_61, tmp_path):
    """6.1 loads fentry programs where this host may not: the fentry
    engine's rows, with its figures."""
    out = tmp_path / "rows.csv"
    r = run("run-proc-vs-map", "--kernel", "debian:6.1", "--trace",
            "--trace-engine", "fentry", "--nsamples", "1", "--duration", "2",
            "--busyduration", "2", "--procfile", "smaps_rollup", "--csv", str(out),
            timeout=120)
    assert r.returncode == 0, r.stderr
    assert "fentry engine cannot run" not in r.stderr
    with open(out) as f:
        (row,) = list(csv.DictReader(f))
    assert row["trace_engine"] == "fentry"
    assert float(row["reader_mmap_locks"]) > 0
    assert float(row["mapper_wait_ms"]) > 0
