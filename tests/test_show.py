# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma show: the simulated /proc as a user sees it."""

import re
import subprocess
import sys

import pytest


def show(*args):
    return subprocess.run([sys.executable, "-c", "from procvma.cli.main import main; main()",
                           "show", *args],
                          capture_output=True, text=True)


def procvma(*args):
    from click.testing import CliRunner

    from procvma.cli.main import main
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


def test_speculate_shows_the_same_maps():
    outs = {procvma("show", "maps", "--mb", "4", "--holes", "50", "--lock", lock).output
            for lock in ("mmap", "vma", "speculate")}
    assert len(outs) == 1


def test_maps_is_sorted_and_merged():
    r = procvma("show", "maps", "--mb", "1", "--holes", "3", "--seed", "2")
    ranges = [tuple(int(x, 16) for x in line.split()[0].split("-"))
              for line in r.output.splitlines()]
    assert 1 <= len(ranges) <= 4
    assert sum(e - s for s, e in ranges) == (256 - 3) * 4096
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))


def test_numa_maps_is_a_line_per_vma_in_the_kernels_format():
    for lock in ("mmap", "vma"):
        r = procvma("show", "numa_maps", "--mb", "16", "--holes", "3", "--lock", lock)
        assert r.exit_code == 0, r.output
        lines = r.output.splitlines()
        assert len(lines) == 4
        pages = []
        for line in lines:
            m = re.fullmatch(r"([0-9a-f]{12}) default anon=(\d+) dirty=\2 active=0 "
                             r"N0=\2 kernelpagesize_kB=4", line)
            assert m, line
            pages.append(int(m.group(2)))
        assert sum(pages) == 16 * 256 - 3


@pytest.mark.parametrize("args, what", [
    (["status"], "status"),
    (["maps", "--holes", "300", "--mb", "1"], "--holes"),
    (["maps", "--lock", "rcu"], "rcu"),
    (["smaps", "--query", "0x7f2a40000000"], "maps"),
    (["maps", "--query", "nowhere"], "nowhere"),
    (["maps", "--next"], "--query"),
    (["smaps", "--lock", "speculate"], "not RCU-safe"),
    (["maps", "--lock", "speculate", "--query", "0x7f2a40000000"], "PROCMAP_QUERY"),
])
def test_bad_input_is_one_line(args, what):
    r = show(*args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and what in r.stderr
    assert "Traceback" not in r.stderr


def maps_ranges(text):
    return [tuple(int(x, 16) for x in line.split()[0].split("-"))
            for line in text.splitlines()]


def test_holes_are_spread_evenly_one_vma_more_than_holes():
    r = procvma("show", "maps", "--mb", "128", "--holes", "5000", "--seed", "3")
    assert r.exit_code == 0, r.output
    ranges = maps_ranges(r.output)
    assert len(ranges) == 5001
    # Every hole is one page, and no stretch between two is far longer
    # than the region's 32768 pages shared among 5000 holes.
    assert all(b[0] - a[1] == 4096 for a, b in zip(ranges, ranges[1:]))
    assert max(e - s for s, e in ranges) <= 2 * (32768 // 5000) * 4096


def test_query_answers_as_maps_would():
    maps = procvma("show", "maps", "--mb", "1", "--holes", "3").output
    ranges = maps_ranges(maps)
    lines = [line.rstrip() for line in maps.splitlines()]
    first_hole = ranges[0][1]
    inside, past_end = hex(ranges[1][0] + 4096), hex(ranges[-1][1])
    for lock in ("mmap", "vma"):
        def query(*args):
            r = procvma("show", "maps", "--mb", "1", "--holes", "3", "--lock", lock,
                        *args)
            assert r.exit_code == 0, r.output
            return r.output.splitlines()

        assert query("--query", inside, "--query", str(first_hole),
                     "--query", past_end) == [
            f"{inside} -> {lines[1]}",
            f"{first_hole:#x} -> ENOENT",
            f"{past_end} -> ENOENT",
        ]
        # What a symbolizer asks: the VMA covering, or else the next one.
        assert query("--next", "--query", hex(first_hole), "--query", inside,
                     "--query", past_end) == [
            f"{first_hole:#x} -> {lines[1]}",
            f"{inside} -> {lines[1]}",
            f"{past_end} -> ENOENT",
        ]


def test_256_gib_fits_in_under_1_gib_with_an_exact_rss():
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    r = show("smaps_rollup", "--mb", "262144")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert r.returncode == 0, r.stderr
    assert re.search(r"(?m)^Rss:\s+268435456 kB$", r.stdout)
    assert re.search(r"(?m)^Pss:\s+268435456 kB$", r.stdout)
    # ru_maxrss of children is the largest any child reached.
    assert before < (1 << 20) and peak_kib < (1 << 20)


def test_a_region_that_cannot_fit_is_refused_at_once():
    import time
    t0 = time.monotonic()
    r = show("smaps_rollup", "--mb", str(1 << 30))     # 1 PiB
    assert time.monotonic() - t0 < 5
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "--mb 1073741824" in r.stderr


def test_memavailable_not_memtotal_decides(monkeypatch):
    from procvma.host import hostinfo
    monkeypatch.setattr(hostinfo, "mem_available", lambda: 64 << 20)
    r = procvma("show", "smaps_rollup", "--mb", "65536")
    assert r.exit_code == 2
    assert "MemAvailable" in r.output and "64.0 MiB" in r.output
    assert r.output.count("\n") == 1
