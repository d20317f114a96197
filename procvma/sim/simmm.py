# SPDX-License-Identifier: GPL-2.0-or-later
"""A simulated address space you can poke at from Python: the C core's
mm_struct behind a small class, for `procvma show`, the tests and the
model-based checks."""

import errno
import os
import random
import threading

from procvma import vocab
from procvma._core import ffi, lib

PAGE_SIZE = lib.PV_PAGE_SIZE
MAX_REGION_PAGES = lib.PV_MM_MAX_REGION_PAGES
LOCKS = vocab.LOCK.constants(lib)
PROCFILES = vocab.PROCFILE.constants(lib)
INJECT = vocab.INJECT.constants(lib)
PREEMPT = vocab.PREEMPT.constants(lib)

_rcu = threading.local()


def _register_rcu():
    """liburcu wants every thread that reads or frees under RCU registered
    once; a thread other than the main one must call rcu_thread_exit()
    before it ends."""
    if not getattr(_rcu, "registered", False):
        lib.pv_rcu_register_thread()
        _rcu.registered = True


def rcu_thread_exit():
    if getattr(_rcu, "registered", False):
        lib.pv_rcu_unregister_thread()
        _rcu.registered = False


def footprint(pages):
    """Host bytes a simulated mm of `pages` pages takes fully populated."""
    return lib.pv_mm_footprint(pages, 0)


def _add_stats(stats, st):
    """Add a struct pv_walk_stats into the dict stats (if not None)."""
    if stats is not None:
        for name, _ in ffi.typeof("struct pv_walk_stats").fields:
            stats[name] = stats.get(name, 0) + getattr(st, name)


class SimError(OSError):
    pass


class SimMM:
    """An mm with one region of `pages` pages at a fixed base address.

    Page numbers are region-relative (0 .. pages-1)."""

    def __init__(self, pages, populate=True, max_map_count=None):
        _register_rcu()
        self._mm = lib.pv_mm_create(pages, 1 if populate else 0)
        if self._mm == ffi.NULL:
            raise MemoryError(f"cannot build a simulated mm of {pages} pages")
        if max_map_count is not None:
            lib.pv_mm_set_max_map_count(self._mm, max_map_count)
        self.pages = pages
        self.start = lib.pv_mm_region_start(self._mm)
        self._read_hint = 1 << 16

    def close(self):
        if self._mm is not None and self._mm != ffi.NULL:
            lib.pv_mm_destroy(self._mm)
        self._mm = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    @property
    def map_count(self):
        return lib.pv_mm_map_count(self._mm)

    def addr(self, page):
        return self.start + page * PAGE_SIZE

    @staticmethod
    def _check(rc, what):
        if rc < 0:
            raise SimError(-rc, f"{what}: {os.strerror(-rc)}")
        return rc

    def mmap(self, page, npages=1):
        """mmap(MAP_FIXED|MAP_POPULATE) of npages at region page `page`."""
        _register_rcu()
        return self._check(lib.pv_mmap_fixed_populate(self._mm, page, npages),
                           f"mmap({page}, {npages})")

    def munmap(self, page, npages=1):
        _register_rcu()
        return self._check(lib.pv_munmap(self._mm, page, npages),
                           f"munmap({page}, {npages})")

    def set_page(self, page, mapcount=1, dirty=True, referenced=True):
        self._check(lib.pv_page_set_state(self._mm, page, mapcount,
                                          int(dirty), int(referenced)),
                    f"page {page}")

    def set_active(self, page, active=True):
        """Move a page to the active LRU list (or back to the inactive
        one, where a freshly populated page starts)."""
        self._check(lib.pv_page_set_active(self._mm, page, int(active)),
                    f"page {page}")

    def swap_out(self, page):
        self._check(lib.pv_page_swap_out(self._mm, page), f"swap out {page}")

    def inject(self, *faults):
        bits = 0
        for f in faults:
            bits |= INJECT[f]
        lib.pv_mm_set_inject(self._mm, bits)

    def read(self, procfile, lock=vocab.LOCK.vma, stats=None):
        """The whole text of /proc/PID/<procfile>, read as the kernel
        serves it under the given locking design."""
        _register_rcu()
        size = self._read_hint
        while True:
            buf = ffi.new("char[]", size)	# per call: readers may be threads
            st = ffi.new("struct pv_walk_stats *")
            n = lib.pv_proc_read_all(self._mm, PROCFILES[procfile], LOCKS[lock],
                                     buf, size, st)
            self._check(n, f"read {procfile}")
            if n < size:
                break
            size = n + n // 4 + 1
        self._read_hint = size
        _add_stats(stats, st)
        return ffi.unpack(buf, n).decode()

    def query(self, addr, lock=vocab.LOCK.vma, next_vma=True, stats=None):
        """One PROCMAP_QUERY ioctl on the simulated /proc/PID/maps: the VMA
        covering addr (or, with next_vma, the first one above it) as a
        dict of struct procmap_query's out fields, or None (ENOENT)."""
        _register_rcu()
        q = ffi.new("struct pv_procmap_query *")
        q.size = ffi.sizeof("struct pv_procmap_query")
        q.query_addr = addr
        q.query_flags = lib.PV_PROCMAP_QUERY_COVERING_OR_NEXT_VMA if next_vma else 0
        st = ffi.new("struct pv_walk_stats *")
        rc = lib.pv_procmap_query(self._mm, LOCKS[lock], q, st)
        _add_stats(stats, st)
        if rc == -errno.ENOENT:
            return None
        self._check(rc, f"PROCMAP_QUERY {addr:#x}")
        return {name: getattr(q, name) for name, _ in
                ffi.typeof("struct pv_procmap_query").fields}

    def vmas(self, lock=vocab.LOCK.vma):
        """[(start_page, end_page), ...] from the simulated maps."""
        out = []
        for line in self.read("maps", lock).splitlines():
            lo, hi = line.split()[0].split("-")
            out.append(((int(lo, 16) - self.start) // PAGE_SIZE,
                        (int(hi, 16) - self.start) // PAGE_SIZE))
        return out


def with_holes(pages, holes, seed):
    """A populated region of `pages` pages with `holes` distinct random
    single pages unmapped, neighbours allowed (the walker tests' layout)."""
    if holes > pages:
        raise ValueError(f"{holes} holes do not fit in {pages} pages")
    mm = SimMM(pages)
    for page in random.Random(seed).sample(range(pages), holes):
        mm.munmap(page)
    return mm


def spread_holes(pages, holes, seed):
    """The pages --holes unmaps at the start of a run (harness/opgen.h):
    one in each of `holes` equal buckets, never touching another or an
    end of the region, so holes+1 VMAs.  ValueError when they do not fit."""
    out = ffi.new("unsigned long[]", max(holes, 1))
    if lib.pv_bench_holes(seed, pages, holes, out) < 0:
        raise ValueError(f"{holes} holes do not fit in {pages} pages (at most "
                         f"{pages // lib.PV_HOLES_MIN_PAGES_EACH}: each needs "
                         f"{lib.PV_HOLES_MIN_PAGES_EACH} pages of its own)")
    return list(out)[:holes]


def with_spread_holes(pages, holes, seed):
    """A populated region of `pages` pages with the benchmark's starting
    holes (spread_holes) unmapped: `procvma show`'s layout."""
    holes = spread_holes(pages, holes, seed)
    mm = SimMM(pages)
    for page in holes:
        mm.munmap(page)
    return mm


__all__ = ["SimMM", "SimError", "with_holes", "with_spread_holes", "spread_holes", "rcu_thread_exit", "PAGE_SIZE"]
