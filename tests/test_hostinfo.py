# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma info and the host facts behind it."""

import os
import re

import pytest
from click.testing import CliRunner

from procvma.host import hostinfo


@pytest.mark.parametrize("text,cpus", [
    ("0\n", [0]),
    ("0-1\n", [0, 1]),
    ("0-3,8,10-11", [0, 1, 2, 3, 8, 10, 11]),
])
def test_cpulist_round_trip(text, cpus):
    assert hostinfo.parse_cpulist(text) == cpus
    assert hostinfo.format_cpulist(cpus) == text.strip()


CONFIG = """\
CONFIG_MMU=y
# CONFIG_PER_VMA_LOCK_STATS is not set
CONFIG_LOCALVERSION="-test"
CONFIG_PER_VMA_LOCK=y
# CONFIG_DEBUG_VM is not set
""".splitlines()


def test_kconfig_option():
    assert hostinfo.kconfig_option("CONFIG_PER_VMA_LOCK", CONFIG) == "y"
    # A longer name sharing the prefix is another option.
    assert hostinfo.kconfig_option("CONFIG_PER_VMA_LOCK_STATS", CONFIG) == "n"
    assert hostinfo.kconfig_option("CONFIG_DEBUG_VM", CONFIG) == "n"
    assert hostinfo.kconfig_option("CONFIG_ABSENT", CONFIG) == "n"
    assert hostinfo.kconfig_option("CONFIG_LOCALVERSION", CONFIG) == "-test"


def test_per_vma_lock_without_config_is_unknown(monkeypatch):
    monkeypatch.setattr(hostinfo, "_config_lines", lambda release=None: (None, None))
    assert hostinfo.per_vma_lock() == ("unknown", None)


def test_per_vma_lock_from_boot_config(tmp_path, monkeypatch):
    cfg = tmp_path / "config"
    cfg.write_text("# CONFIG_PER_VMA_LOCK is not set\n")
    monkeypatch.setattr(hostinfo, "_config_lines",
                        lambda release=None: (str(cfg), cfg.read_text().splitlines()))
    assert hostinfo.per_vma_lock() == ("n", str(cfg))


def test_per_vma_lock_on_this_host():
    value, source = hostinfo.per_vma_lock()
    assert value in ("y", "n", "unknown")
    assert (source is None) == (value == "unknown")


def osrelease():
    """The running kernel's release as the kernel itself states it in
    procfs: a source hostinfo does not read (it asks uname(2))."""
    with open("/proc/sys/kernel/osrelease") as f:
        return f.read().strip()


def test_host_facts_have_sane_types():
    assert hostinfo.kernel_release() == osrelease()
    cpus = hostinfo.cpus_online()
    assert cpus and all(isinstance(c, int) and c >= 0 for c in cpus)
    assert set(os.sched_getaffinity(0)) <= set(cpus)
    mmc = hostinfo.max_map_count()
    assert mmc is None or mmc > 0
    assert 0 < hostinfo.clock_resolution_ns() < 1e7
    assert isinstance(hostinfo.liburcu_version(), str)
    assert hostinfo.cpu_model()


@pytest.mark.parametrize("cpuinfo,model", [
    ("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n",
     "AMD EPYC 7B13"),
    ("processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n", "unknown"),
    ("processor\t: 0\nmodel name\t: ARMv8 Processor rev 1 (v8l)\n",
     "ARMv8 Processor rev 1 (v8l)"),
])
def test_cpu_model(tmp_path, cpuinfo, model):
    f = tmp_path / "cpuinfo"
    f.write_text(cpuinfo)
    assert hostinfo.cpu_model(str(f)) == model


def test_procfile_exists():
    # Files every Linux with an MMU has, and one that came with 4.14.
    assert hostinfo.procfile_exists("maps")
    assert hostinfo.procfile_exists("status")
    major, minor = map(int, re.match(r"(\d+)\.(\d+)", osrelease()).groups())
    if (major, minor) >= (4, 14):
        assert hostinfo.procfile_exists("smaps_rollup")
    assert not hostinfo.procfile_exists("no-such-file")
    assert not hostinfo.procfile_exists("task")  # a directory
    assert not hostinfo.procfile_exists("../self/maps")


LABELS = ["kernel release", "CONFIG_PER_VMA_LOCK", "CPUs online",
          "vm.max_map_count", "liburcu", "clock resolution", "CPU model"]


def test_procvma_info_prints_each_line():
    from procvma.cli import main as cli
    r = CliRunner().invoke(cli.main, ["info"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    for label in LABELS:
        assert any(line.startswith(label + ":") for line in lines), label
    release = next(line for line in lines if line.startswith("kernel release:"))
    assert release.split(":", 1)[1].strip() == osrelease()
    cpus = next(line for line in lines if line.startswith("CPUs online:"))
    assert cpus.split()[2] == str(len(hostinfo.cpus_online()))
