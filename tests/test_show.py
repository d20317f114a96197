# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma show: the simulated /proc as a user sees it."""

import re
import subprocess
import sys

import pytest


def show(*args):
    return subprocess.run([sys.executable, "-c", "from procvma.cli import main; main()",
                           "show", *args],
                          capture_output=True, text=True)


def procvma(*args):
    from click.testing import CliRunner
    from procvma.cli import main
    return CliRunner().invoke(main, list(args))


def test_rollup_rss_counts_the_holes():
    for lock in ("mmap", "vma"):
        r = procvma("show", "smaps_rollup", "--mb", "128", "--holes", "1000",
                    "--seed", "7", "--lock", lock)
        assert r.exit_code == 0, r.output
        assert re.search(r"(?m)^Rss:\s+127072 kB$", r.output)


def test_same_text_in_both_designs():
    outs = {procvma("show", "smaps", "--mb", "4", "--holes", "50", "--lock", lock).output
            for lock in ("mmap", "vma")}
    assert len(outs) == 1


def test_maps_is_sorted_and_merged():
    r = procvma("show", "maps", "--mb", "1", "--holes", "3", "--seed", "2")
    ranges = [tuple(int(x, 16) for x in line.split()[0].split("-"))
              for line in r.output.splitlines()]
    assert 1 <= len(ranges) <= 4
    assert sum(e - s for s, e in ranges) == (256 - 3) * 4096
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))


@pytest.mark.parametrize("args, what", [
    (["numa_maps"], "numa_maps"),
    (["maps", "--holes", "300", "--mb", "1"], "--holes"),
    (["maps", "--lock", "rcu"], "rcu"),
])
def test_bad_input_is_one_line(args, what):
    r = show(*args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and what in r.stderr
    assert "Traceback" not in r.stderr
