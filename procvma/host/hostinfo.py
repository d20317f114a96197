# SPDX-License-Identifier: GPL-2.0-or-later
"""What the host is: the facts a kernel-backend result depends on, for
`procvma info` (info.py) and for the CSV's host columns.

Every function answers from what an unprivileged user can read and never
raises for a missing source: it says "unknown" (or None) instead.
Option checking imports this module for every command, --help included,
so what only some functions need is imported inside them.
"""

import errno
import functools
import os
import re
import time

from procvma import __version__, vocab

UNKNOWN = "unknown"

PER_VMA_LOCK = "CONFIG_PER_VMA_LOCK"


def kernel_release():
    """`uname -r`."""
    return os.uname().release


def hostname():
    """`uname -n`."""
    return os.uname().nodename or UNKNOWN


def _config_lines(release=None):
    """The running kernel's build configuration as (source, lines), from
    /proc/config.gz (CONFIG_IKCONFIG_PROC) or /boot/config-RELEASE; (None,
    None) when neither is readable."""
    import gzip

    release = release or kernel_release()
    sources = [("/proc/config.gz", gzip.open),
               (f"/boot/config-{release}", open)]
    for path, opener in sources:
        try:
            with opener(path, "rt", encoding="utf-8", errors="replace") as f:
                return path, f.read().splitlines()
        except (OSError, EOFError):
            continue
    return None, None


PREEMPT_MODELS = tuple(vocab.PREEMPT)


def _preempt_debugfs(path="/sys/kernel/debug/sched/preempt"):
    """The model in parentheses of debugfs's "none voluntary (full) lazy"."""
    try:
        with open(path, encoding="utf-8") as f:
            m = re.search(r"\((\w+)\)", f.read())
    except OSError:
        return None
    return m.group(1) if m and m.group(1) in PREEMPT_MODELS else None


def _preempt_dmesg():
    """The boot log's last "Dynamic Preempt: none"."""
    said = re.findall(r"Dynamic Preempt: (\w+)", _run(["dmesg"]) or "")
    return said[-1] if said and said[-1] in PREEMPT_MODELS else None


def _preempt_config(lines, cmdline=""):
    """What a kernel built with these options boots with: preempt= on the
    command line where PREEMPT_DYNAMIC lets it choose, else the build's."""
    m = re.search(r"(?:^|\s)preempt=(\w+)", cmdline)
    if m and m.group(1) in PREEMPT_MODELS and \
            kconfig_option("CONFIG_PREEMPT_DYNAMIC", lines) == "y":
        return m.group(1)
    for model, option in (("lazy", "CONFIG_PREEMPT_LAZY"), ("full", "CONFIG_PREEMPT"),
                          ("voluntary", "CONFIG_PREEMPT_VOLUNTARY"),
                          ("none", "CONFIG_PREEMPT_NONE")):
        if kconfig_option(option, lines) == "y":
            return model
    return None


def _preempt_uname(version):
    """`uname -v`'s "PREEMPT" (full), "PREEMPT_DYNAMIC" (None: chosen at
    boot), or neither: voluntary, the usual build of such a kernel."""
    words = version.split()
    if "PREEMPT_RT" in words or "PREEMPT" in words:
        return "full"
    if "PREEMPT_DYNAMIC" in words or "PREEMPT_LAZY" in words:
        return None
    return "voluntary"


@functools.lru_cache(maxsize=None)
def preempt_model():
    """(model, source): the preemption model the running kernel was
    booted with, a vocab.PREEMPT word, and where that was read: debugfs's
    sched/preempt (the current one in parentheses, root only), the boot
    log's "Dynamic Preempt:", the kernel's configuration (and its command
    line's preempt=), or `uname -v`; ("voluntary", "assumed") when none
    of them tells.  Read once per process."""
    model, source = _preempt_model()
    return vocab.PREEMPT[model], source


def _preempt_model():
    model = _preempt_debugfs()
    if model:
        return model, "/sys/kernel/debug/sched/preempt"
    model = _preempt_dmesg()
    if model:
        return model, "dmesg"
    source, lines = _config_lines()
    if lines:
        try:
            with open("/proc/cmdline", encoding="utf-8") as f:
                cmdline = f.read()
        except OSError:
            cmdline = ""
        model = _preempt_config(lines, cmdline)
        if model:
            return model, source
    model = _preempt_uname(os.uname().version)
    if model:
        return model, "uname -v"
    return "voluntary", "assumed"


# What vm_accel() says outside a guest of ours.
NOT_A_GUEST = "-"


def vm_accel(cmdline="/proc/cmdline"):
    """kvm | tcg: the accelerator of the QEMU guest that `--kernel` booted
    this kernel in, which procvma/host/guest.py names on the kernel's
    command line ("procvma.vm_accel=tcg"); "-" anywhere else.  Under tcg
    the guest's timings are emulated, not measured on hardware."""
    try:
        with open(cmdline, encoding="utf-8") as f:
            m = re.search(r"(?:^|\s)procvma\.vm_accel=(kvm|tcg)(?:\s|$)", f.read())
    except OSError:
        return NOT_A_GUEST
    return m.group(1) if m else NOT_A_GUEST


def kconfig_option(name, lines):
    """Value of CONFIG option name in a .config's lines: "y", "m", a
    string, "n" for "# CONFIG_X is not set" or absent."""
    prefix = name + "="
    unset = f"# {name} is not set"
    for line in lines:
        if line.startswith(prefix):
            return line[len(prefix):].strip().strip('"')
        if line.strip() == unset:
            return "n"
    return "n"


def per_vma_lock():
    """(value, source): whether the running kernel was built with
    CONFIG_PER_VMA_LOCK ("y" or "n") and which file said so, or
    ("unknown", None) without a readable kernel config."""
    source, lines = _config_lines()
    if lines is None:
        return UNKNOWN, None
    return kconfig_option(PER_VMA_LOCK, lines), source


def parse_cpulist(text):
    """The kernel's cpulist format ("0-3,5") as a sorted list of ints."""
    cpus = set()
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return sorted(cpus)


def format_cpulist(cpus):
    """Inverse of parse_cpulist: [0, 1, 2, 5] -> "0-2,5"."""
    runs, cpus = [], sorted(cpus)
    for c in cpus:
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)


def cpus_online():
    """CPUs the kernel has online, from sysfs (all CPUs os.cpu_count()
    reports when sysfs is not mounted)."""
    try:
        with open("/sys/devices/system/cpu/online") as f:
            return parse_cpulist(f.read())
    except (OSError, ValueError):
        return list(range(os.cpu_count() or 1))


def loadavg1(path="/proc/loadavg"):
    """The 1-minute load average, or None."""
    try:
        with open(path) as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def procs_running(path="/proc/stat"):
    """Tasks runnable right now, the caller included (/proc/stat's
    procs_running), or None."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("procs_running "):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _stat_fields(path):
    """A /proc stat file's fields after "(comm)", and comm; None when the
    task is gone.  comm may hold spaces and parentheses: it ends at the
    last ")"."""
    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError:
        return None
    close = text.rfind(b")")
    if close < 0:
        return None
    comm = text[text.find(b"(") + 1:close].decode(errors="replace")
    return text[close + 2:].decode(errors="replace").split(), comm


def runnable_tasks(own_pid, proc="/proc"):
    """The tasks in state R (running, or waiting for a CPU) right now, as
    two lists of (tid, comm): the run's own, threads of process @own_pid
    or of its descendants (the kernel backend's mapper and shell loops,
    their cat), and the others.  Kernel threads are others: they compete
    for the CPUs as any task does.  One read of each process's stat, and
    of each thread's only in a process with several."""
    parent, running = {}, []
    try:
        pids = [int(p) for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return [], []
    for pid in pids:
        got = _stat_fields(f"{proc}/{pid}/stat")
        if not got:
            continue
        fields, comm = got
        # fields[0] is the state, [1] the parent, [17] num_threads.
        try:
            parent[pid] = int(fields[1])
            threads = int(fields[17])
        except (IndexError, ValueError):
            continue
        if threads <= 1:
            if fields[0] == "R":
                running.append((pid, pid, comm))
            continue
        try:
            tids = [int(t) for t in os.listdir(f"{proc}/{pid}/task")]
        except OSError:
            continue
        for tid in tids:
            got = _stat_fields(f"{proc}/{pid}/task/{tid}/stat")
            if got and got[0] and got[0][0] == "R":
                running.append((tid, pid, got[1]))

    def own(pid):
        seen = set()
        while pid > 1 and pid not in seen:
            if pid == own_pid:
                return True
            seen.add(pid)
            pid = parent.get(pid, 0)
        return False

    mine, others = [], []
    for tid, pid, comm in running:
        (mine if own(pid) else others).append((tid, comm))
    return mine, others


def max_map_count():
    """vm.max_map_count (the most VMAs one mm may have), or None."""
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def mem_available():
    """MemAvailable in bytes: the kernel's estimate of what can be
    allocated without swapping (free memory plus what reclaim would give
    back), or None where /proc/meminfo does not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def procmap_query(maps="/proc/self/maps"):
    """(supported, why): whether this kernel answers the PROCMAP_QUERY
    ioctl on /proc/PID/maps (Linux 6.11+), asked of maps once; why says
    what the probe met when it is not (None when it is, "unknown" when
    the C core that asks is not built)."""
    try:
        from procvma._core import lib
    except ImportError:
        return False, UNKNOWN
    err = -lib.pv_procmap_query_probe(maps.encode())
    if not err:
        return True, None
    if err in (errno.ENOTTY, errno.EINVAL):
        return False, f"Linux {kernel_release()} has no such ioctl (it came in 6.11)"
    return False, f"{maps}: {os.strerror(err)}"


def _run(cmd):
    import shutil
    import subprocess

    if not shutil.which(cmd[0]):
        return None
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    out = r.stdout.strip()
    return out if r.returncode == 0 and out else None


def liburcu_version():
    """Version of the userspace RCU library the C core links: the Debian
    package's, else pkg-config's, else "unknown"."""
    for pkg in ("liburcu-dev", "liburcu8t64", "liburcu8"):
        v = _run(["dpkg-query", "-W", "-f=${Version}", pkg])
        if v:
            return v
    return _run(["pkg-config", "--modversion", "liburcu"]) or UNKNOWN


def clock_resolution_ns():
    """Resolution of CLOCK_MONOTONIC, the clock every latency is read
    from, in nanoseconds."""
    return time.clock_getres(time.CLOCK_MONOTONIC) * 1e9


_CPU_MODEL_KEYS = ("model name", "Model", "cpu model", "Processor", "cpu")


def cpu_model(cpuinfo="/proc/cpuinfo"):
    """The CPU's model name as /proc/cpuinfo gives it (x86's "model name",
    or what other architectures call it), else "unknown"."""
    try:
        with open(cpuinfo, errors="replace") as f:
            text = f.read()
    except OSError:
        return UNKNOWN
    for key in _CPU_MODEL_KEYS:
        m = re.search(rf"^{re.escape(key)}\s*:\s*(.+)$", text, re.MULTILINE)
        if m and m.group(1).strip():
            return m.group(1).strip()
    return UNKNOWN


def procfile_exists(name):
    """Whether /proc/PID/NAME is a file on this kernel (checked on our
    own PID: the mapper's has the same entries)."""
    return ("/" not in name and name not in ("", ".", "..")
            and os.path.isfile(f"/proc/self/{name}"))


def info():
    """(label, value) pairs, in the order `procvma info` prints them."""
    vma_lock, source = per_vma_lock()
    cpus = cpus_online()
    mmc = max_map_count()
    res = clock_resolution_ns()
    query, why = procmap_query()
    preempt, preempt_source = preempt_model()
    return [
        ("kernel release", kernel_release()),
        ("preemption", f"{preempt} (from {preempt_source})"),
        ("VM accelerator", vm_accel()),
        (PER_VMA_LOCK, f"{vma_lock} (from {source})" if source else vma_lock),
        ("CPUs online", f"{len(cpus)} ({format_cpulist(cpus)})"),
        ("vm.max_map_count", UNKNOWN if mmc is None else str(mmc)),
        ("PROCMAP_QUERY", "yes" if query else f"no ({why})" if why != UNKNOWN else UNKNOWN),
        ("liburcu", liburcu_version()),
        ("clock resolution", f"{res:g} ns (CLOCK_MONOTONIC)"),
        ("CPU model", cpu_model()),
        ("procvma", __version__),
    ]
