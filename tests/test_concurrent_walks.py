# SPDX-License-Identifier: GPL-2.0-or-later
"""A writer churning the VMA tree while readers walk it in both designs,
through the text of maps and smaps or through PROCMAP_QUERY as a
symbolizer does: every walk must keep Documentation/filesystems/proc.rst's first
guarantee, addresses never going backwards: each VMA inside the region
and ending above the one before.  (A VMA that grew back across where the
walk stood is shown again, grown, so it may start below the previous
end, as on the kernel.)"""

import random
import re
import threading
import time

import pytest

from procvma.sim.simmm import SimMM, rcu_thread_exit

PAGES = 2048
LINE = re.compile(r"(?m)^([0-9a-f]+)-([0-9a-f]+) ")


def check_walk(mm, text):
    end_of_region = mm.addr(mm.pages)
    prev_end = mm.start
    n = 0
    for m in LINE.finditer(text):
        start, end = int(m.group(1), 16), int(m.group(2), 16)
        assert mm.start <= start < end <= end_of_region, text[:m.end()][-300:]
        assert end > prev_end, text[:m.end()][-300:]
        prev_end = end
        n += 1
    return n


def query_walk(mm, lock, stats):
    """A symbolizer's walk (PROCMAP_QUERY, covering or next, from 0 on),
    as the maps lines of the VMAs it was given."""
    lines, addr = [], 0
    while (vma := mm.query(addr, lock, stats=stats)) is not None:
        assert vma["vma_end"] > addr
        lines.append(f"{vma['vma_start']:x}-{vma['vma_end']:x} rw-p\n")
        addr = vma["vma_end"]
    return "".join(lines)


@pytest.mark.parametrize("procfile", ["maps", "smaps", "query"])
def test_walks_stay_consistent_under_churn(procfile):
    mm = SimMM(PAGES)
    stop = threading.Event()
    errors = []
    walks = {"mmap": 0, "vma": 0}
    stats = {}

    def writer():
        rng = random.Random(1)
        try:
            while not stop.is_set():
                page = rng.randrange(PAGES - 4)
                n = rng.choice((1, 1, 1, 2, 3))
                (mm.mmap if rng.random() < 0.5 else mm.munmap)(page, n)
        except Exception as e:  # surfaced by the assertion below
            errors.append(e)
        finally:
            rcu_thread_exit()

    def reader(lock):
        try:
            while not stop.is_set():
                check_walk(mm, query_walk(mm, lock, stats) if procfile == "query"
                           else mm.read(procfile, lock, stats))
                walks[lock] += 1
        except Exception as e:
            errors.append(e)
        finally:
            rcu_thread_exit()

    threads = [threading.Thread(target=writer)]
    threads += [threading.Thread(target=reader, args=(lock,)) for lock in walks]
    for t in threads:
        t.start()
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join()
    mm.close()
    assert not errors, errors[0]
    assert walks["mmap"] > 0 and walks["vma"] > 0
