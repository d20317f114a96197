# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma info: what this machine is, as far as the results depend on it."""

import re

import click

from procvma.cli import options
from procvma.cli.common import CONTEXT, echo_json, json_option
from procvma.host import hostinfo, locktrace


def json_key(label: str) -> str:
    """A line's label as a JSON key: "CPU model" -> "cpu_model"."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


@click.command("info", context_settings=CONTEXT)
@options.KERNEL_OPTION
@json_option
def info_cmd(kernel, as_json):
    """What this machine is, as far as procvma's results depend on it:
    kernel release, whether the kernel has per-VMA locks
    (CONFIG_PER_VMA_LOCK, from /proc/config.gz or /boot/config-RELEASE),
    CPUs online, vm.max_map_count, the liburcu version, the clock's
    resolution and the CPU model.

    Then, one line per /proc/PID file, which lock this kernel reads it
    under: "mmap" (mmap_lock) or "vma" (per-VMA locks), found by tracing
    reads of a throw-away process's files; "unknown" without root and
    tracefs.  --json: the same as one JSON object, each line's label as
    a key (CPU model: cpu_model), the files' locks under procfile_locks.

    With --kernel, the same facts of a QEMU guest of that kernel."""
    if kernel:
        from procvma.run import inguest
        result = inguest.boot_and_run(inguest.resolve(kernel), "procvma",
                                      ["info", "--json"] if as_json else ["info"],
                                      timeout=inguest.GUEST_OVERHEAD_S)
        raise SystemExit(result.returncode)
    pairs = hostinfo.info()
    locks = locktrace.procfile_locks()
    if as_json:
        echo_json(dict({json_key(label): value for label, value in pairs},
                       procfile_locks=dict(locks)))
        return
    width = max(len(label) for label, _ in pairs) + 1
    for label, value in pairs:
        click.echo(f"{label + ':':<{width}} {value}")
    for name, lock in locks.items():
        click.echo(f"procfile {name}: {lock}")
