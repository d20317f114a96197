# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma info: what this machine is, as far as the results depend on it."""

import click

from procvma.cli import options
from procvma.cli.common import CONTEXT
from procvma.host import hostinfo, locktrace


@click.command("info", context_settings=CONTEXT)
@options.KERNEL_OPTION
def info_cmd(kernel):
    """What this machine is, as far as procvma's results depend on it:
    kernel release, whether the kernel has per-VMA locks
    (CONFIG_PER_VMA_LOCK, from /proc/config.gz or /boot/config-RELEASE),
    CPUs online, vm.max_map_count, the liburcu version, the clock's
    resolution and the CPU model.

    Then, one line per /proc/PID file, which lock this kernel reads it
    under: "mmap" (mmap_lock) or "vma" (per-VMA locks), found by tracing
    reads of a throw-away process's files; "unknown" without root and
    tracefs.

    With --kernel, the same facts of a QEMU guest of that kernel."""
    if kernel:
        from procvma.run import inguest
        result = inguest.boot_and_run(inguest.resolve(kernel), "procvma", ["info"],
                                      timeout=inguest.GUEST_OVERHEAD_S)
        raise SystemExit(result.returncode)
    pairs = hostinfo.info()
    width = max(len(label) for label, _ in pairs) + 1
    for label, value in pairs:
        click.echo(f"{label + ':':<{width}} {value}")
    for name, lock in locktrace.procfile_locks().items():
        click.echo(f"procfile {name}: {lock}")
