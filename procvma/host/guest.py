# SPDX-License-Identifier: GPL-2.0-or-later
"""Run a command on another kernel: boot it under QEMU in a guest whose
root is this machine's own /, and bring back what the command printed.

The design is virtme-ng's (docs/guests.md says why QEMU is driven
directly): the host's / is shared read-only over virtio-9p, a tmpfs
overlay on top makes it writable inside, and a tiny initramfs of our own
(busybox and the few modules the share needs) mounts it and runs the
command in a chroot.  The project's .venv and build are part of /, so
the guest runs the very same procvma.

What the command writes to stdout comes back over the serial console,
between two marker lines; its stderr and exit status come back through a
second, writable share: a temporary directory the guest sees at the same
path as the host, so a command may also be told to write files there
(the benchmark's CSV rows).

Every failure is a GuestError with a one-line message: a file that is not
a kernel, a kernel that panics, a guest that hangs, a Debian version that
does not exist, no apt.  No QEMU outlives the driver: it dies with the
thread that started it (PR_SET_PDEATHSIG, which covers SIGKILL) and is
killed on every way out of run().
"""

import contextlib
import ctypes
import gzip
import io
import lzma
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

from procvma.host.kernels import GuestError

# Kernel command-line word the guest's procvma reads to name the
# accelerator in its rows (procvma/host/hostinfo.py's vm_accel()).
ACCEL_PARAM = "procvma.vm_accel"

START = "@@procvma-guest-start@@"
EXIT = "@@procvma-guest-exit"

# What the root share needs from a modular kernel, in any order (their
# dependencies are read from their .modinfo).  Missing ones are taken as
# built in.
SHARE_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay"]

# Under TCG a Debian kernel reaches its init in a few seconds on a 2-CPU
# host; this leaves room for a loaded machine.
BOOT_TIMEOUT = 90

BUSYBOX = "/bin/busybox"

def _module_files(moddir):
    """{module name: path} of every module under moddir."""
    found = {}
    for dirpath, _, files in os.walk(moddir):
        for f in files:
            m = re.match(r"(.+)\.ko(\.xz|\.zst|\.gz)?$", f)
            if m:
                found[m.group(1).replace("-", "_")] = os.path.join(dirpath, f)
    return found


def modules_in_load_order(moddir, wanted=SHARE_MODULES):
    """The module files that wanted needs, each after those it depends on
    (the depends= of each module's .modinfo section: a package's
    modules.dep is made only when it is installed)."""
    files = _module_files(moddir)
    order, seen = [], set()

    def visit(name):
        name = name.replace("-", "_")
        if name in seen or name not in files:
            return          # loaded already, or built in
        seen.add(name)
        m = re.search(rb"\0depends=([\w,-]*)\0", _module_bytes(files[name]))
        for dep in filter(None, (m.group(1).decode() if m else "").split(",")):
            visit(dep)
        order.append(files[name])

    for name in wanted:
        visit(name)
    return order


def _module_bytes(path):
    """A module uncompressed: busybox's insmod takes plain .ko files."""
    if path.endswith(".xz"):
        return lzma.open(path).read()
    if path.endswith(".gz"):
        return gzip.open(path).read()
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], capture_output=True,
                              check=True).stdout
    with open(path, "rb") as f:
        return f.read()


def _cpio(entries):
    """A newc cpio archive of (name, mode, data) entries, as the kernel
    unpacks an initramfs (Documentation/driver-api/early-userspace)."""
    out = io.BytesIO()
    for ino, (name, mode, data) in enumerate(entries + [("TRAILER!!!", 0, b"")], 1):
        name_b = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0]
        out.write(b"070701" + b"".join(b"%08X" % v for v in fields))
        out.write(name_b + b"\0" * (-(110 + len(name_b)) % 4))
        out.write(data + b"\0" * (-len(data) % 4))
    return out.getvalue()


# The guest's first process.  It mounts the host's / read-only under a
# tmpfs overlay, the output share at the host's path, the pseudo
# filesystems the benchmark reads (/proc, /sys, tracefs, bpffs), runs the
# command in a chroot and powers off.  Any failure powers off too: the
# host sees no start marker and says what the console said.
INIT = r"""#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
for m in $($B cat /modules.order); do $B insmod /modules/$m || echo "insmod $m failed"; done
$B mkdir -p /lower /rw /newroot
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 root /lower \
  || { echo "procvma-guest: cannot mount the host's root"; $B poweroff -f; }
$B mount -t tmpfs -o mode=0755 rw /rw
$B mkdir -p /rw/upper /rw/work
$B mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot \
  || { echo "procvma-guest: cannot mount the overlay"; $B poweroff -f; }
R=/newroot
$B mount -t proc proc $R/proc
$B mount -t sysfs sys $R/sys
$B mount -t devtmpfs dev $R/dev
$B mkdir -p $R/dev/pts $R/dev/shm
$B mount -t devpts devpts $R/dev/pts
$B mount -t tmpfs tmpfs $R/dev/shm
$B mount -t tmpfs tmpfs $R/run
# No tmpfs on /tmp: the overlay makes it writable already, and a fresh one
# would hide the host's /tmp, where a checkout (and its .venv) may live.
$B mount -t tracefs tracefs $R/sys/kernel/tracing 2>/dev/null
$B mount -t debugfs debugfs $R/sys/kernel/debug 2>/dev/null
$B mount -t bpf bpf $R/sys/fs/bpf 2>/dev/null
$B mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null
. /command.env
$B mkdir -p $R$OUT
$B mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out $R$OUT
# The kernel's own modules and configuration where its package puts them,
# so that modprobe and `procvma info` find them inside.
R_=$($B uname -r)
[ -n "$MODDIR" ] && $B mkdir -p $R/lib/modules && $B rm -rf $R/lib/modules/$R_ \
  && $B ln -s "$MODDIR" $R/lib/modules/$R_
[ -n "$CONFIG" ] && $B mkdir -p $R/boot && $B ln -sf "$CONFIG" $R/boot/config-$R_
$B hostname "$HOSTNAME0"
echo @@procvma-guest-start@@
$B chroot $R /bin/sh -c "cd \"\$PWD0\" 2>/dev/null; exec /bin/sh $OUT/command.sh" \
  </dev/null 2>$R$OUT/stderr
rc=$?
$B sync
echo "@@procvma-guest-exit $rc@@"
$B poweroff -f
"""


def kernel_config(kernel):
    """The kernel's build configuration file, where its package or build
    left one beside the image or its modules; None where there is none."""
    candidates = [os.path.join(os.path.dirname(kernel.image), f"config-{kernel.release}"),
                  os.path.join(os.path.dirname(kernel.image), ".config")]
    if kernel.modules:
        candidates.append(os.path.join(kernel.modules, "config"))
    return next((c for c in candidates if os.path.isfile(c)), None)


def make_initramfs(kernel, outdir, path):
    """Write the initramfs for kernel: busybox, init, the share's modules."""
    if not os.path.exists(BUSYBOX):
        raise GuestError(f"{BUSYBOX} not found: install busybox-static")
    with open(BUSYBOX, "rb") as f:
        busybox = f.read()
    entries = [(d, 0o040755, b"") for d in
               ("bin", "dev", "proc", "sys", "modules")]
    entries.append(("bin/busybox", 0o100755, busybox))
    entries.append(("init", 0o100755, INIT.encode()))
    env = {"OUT": outdir, "PWD0": os.getcwd(), "HOSTNAME0": os.uname().nodename,
           "MODDIR": kernel.modules or "", "CONFIG": kernel_config(kernel) or ""}
    entries.append(("command.env", 0o100644, "".join(
        f"export {k}={shlex.quote(v)}\n" for k, v in env.items()).encode()))
    names = []
    if kernel.modules:
        for mod in modules_in_load_order(kernel.modules):
            name = re.sub(r"\.(xz|zst|gz)$", "", os.path.basename(mod))
            entries.append((f"modules/{name}", 0o100644, _module_bytes(mod)))
            names.append(name)
    entries.append(("modules.order", 0o100644, "\n".join(names).encode() + b"\n"))
    with open(path, "wb") as f:
        f.write(gzip.compress(_cpio(entries), compresslevel=1))


# ---- the accelerator ---------------------------------------------------------

# Which QEMU: PROCVMA_QEMU names another build (or a test's stand-in).
QEMU = os.environ.get("PROCVMA_QEMU", "qemu-system-x86_64")


def kvm_works(timeout=5):
    """Whether QEMU can start a KVM vCPU here.  Some hosts have /dev/kvm
    and still refuse (a nested hypervisor that rejects an MSR), so QEMU is
    asked: stopped before the first instruction (-S), it either fails at
    once or is still up when the timeout ends."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    try:
        proc = _spawn([QEMU, "-accel", "kvm", "-cpu", "host", "-nodefaults",
                       "-display", "none", "-monitor", "none", "-S"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return False
    try:
        proc.wait(timeout)
        return False        # it stopped by itself: it could not start
    except subprocess.TimeoutExpired:
        return True
    finally:
        _kill(proc)


def _die_with_parent():
    # Run in the child between fork and exec: SIGKILL it when the thread
    # that started it dies, however it dies.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _spawn(argv, **kw):
    # Its own session: a Ctrl-C at the terminal reaches us, and we end it.
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent,
                            start_new_session=True, **kw)


def _kill(proc):
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.wait()


# ---- running a command -------------------------------------------------------

class Result:
    def __init__(self, accel, release, returncode, stdout, stderr, boot_s, wall_s):
        self.accel = accel
        self.release = release
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.boot_s = boot_s      # from QEMU's start to the command's
        self.wall_s = wall_s


def run(kernel, command, timeout, outdir=None, accel=None, memory="2G", cpus=2,
        on_line=None, log=None):
    """Boot kernel, run command (a shell string) inside, return a Result.

    outdir: a directory the guest may write, at the same path as here
    (made and removed by us when None).  timeout: seconds for the whole
    guest, boot included.  on_line(text): each line of the command's
    stdout as it arrives.  A GuestError when the kernel panics, the guest
    hangs past timeout, or it ends without running the command."""
    if shutil.which(QEMU) is None:
        raise GuestError(f"{QEMU} not found: install qemu-system-x86")
    accel = accel or ("kvm" if kvm_works() else "tcg")
    own_outdir = outdir is None
    if own_outdir:
        outdir = tempfile.mkdtemp(prefix="procvma-guest-")
    console_log = []
    try:
        with open(os.path.join(outdir, "command.sh"), "w") as f:
            f.write(command + "\n")
        initrd = os.path.join(outdir, "initramfs.gz")
        make_initramfs(kernel, outdir, initrd)
        argv = qemu_argv(kernel, initrd, outdir, accel, memory, cpus)
        if log:
            log(f"booting {kernel.name} under QEMU ({accel})")
        return _drive(argv, kernel, accel, outdir, timeout, on_line, console_log)
    finally:
        if own_outdir:
            shutil.rmtree(outdir, ignore_errors=True)


def qemu_argv(kernel, initrd, outdir, accel, memory, cpus):
    append = " ".join([
        "console=ttyS0", "panic=-1", "quiet", "loglevel=3",
        "rdinit=/init", f"{ACCEL_PARAM}={accel}",
        # TCG's TSC drifts against the emulated clocks: without this the
        # kernel would fall back to a slower clocksource mid-run.  The
        # kernel's other defaults (mitigations included) stay: they are
        # part of what a user's kernel costs.
        "tsc=reliable",
    ])
    cpu = ["-cpu", "host"] if accel == "kvm" else ["-cpu", "max"]
    return [QEMU, "-accel", accel, *cpu, "-m", memory, "-smp", str(cpus),
            "-nodefaults", "-no-reboot", "-display", "none", "-monitor", "none",
            "-serial", "stdio",
            "-kernel", kernel.image, "-initrd", initrd, "-append", append,
            "-virtfs", "local,path=/,mount_tag=root,security_model=none,"
                       "readonly=on,multidevs=remap",
            "-virtfs", f"local,path={outdir},mount_tag=out,security_model=none,"
                       "multidevs=remap"]


def _drive(argv, kernel, accel, outdir, timeout, on_line, console_log):
    started = time.monotonic()
    deadline = started + timeout
    proc = _spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    boot_s, rc, stdout = None, None, []
    buf = b""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                where = "booting" if boot_s is None else "running the command"
                raise GuestError(f"the guest hung: not done after {timeout:g} s "
                                 f"({where}); {_last(console_log)}")
            ready, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace").rstrip("\r")
                if boot_s is None:
                    console_log.append(line)
                    if "Kernel panic" in line:
                        raise GuestError(f"the kernel panicked: "
                                         f"{line.split('Kernel panic', 1)[1].strip(' -')}")
                    if line.endswith(START):
                        boot_s = time.monotonic() - started
                    continue
                m = re.search(re.escape(EXIT) + r" (\d+)@@", line)
                if m:
                    rc = int(m.group(1))
                    continue
                if rc is None:
                    stdout.append(line)
                    if on_line:
                        on_line(line)
                elif "Kernel panic" in line:
                    raise GuestError(f"the kernel panicked: {line.strip()}")
        proc.wait()
    finally:
        _kill(proc)
    if boot_s is None:
        raise GuestError(f"the guest ({accel}) ended before running the "
                         f"command: {_last(console_log)}")
    if rc is None:
        raise GuestError("the guest ended while running the command "
                         "(its kernel crashed?)")
    try:
        with open(os.path.join(outdir, "stderr")) as f:
            stderr = f.read()
    except OSError:
        stderr = ""
    return Result(accel, kernel.release, rc, "\n".join(stdout) + ("\n" if stdout else ""),
                  stderr, boot_s, time.monotonic() - started)


def _last(console_log):
    said = [line.strip() for line in console_log if line.strip()]
    return f"its console's last line: {said[-1]!r}" if said else "its console said nothing"
