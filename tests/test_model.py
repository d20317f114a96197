# SPDX-License-Identifier: GPL-2.0-or-later
"""Model-based test: random sequences of map, unmap and replace on a small
region, applied both to the C core and to a pure-Python model of an
address space (the set of populated pages).  After every step the
simulated maps (in both designs) lists exactly the model's VMAs, and
smaps and smaps_rollup count exactly its pages; an op that would exceed
vm.max_map_count fails with ENOMEM and leaves the mm as it was."""

import errno
import re

from hypothesis import given, settings, strategies as st

from procvma.sim.simmm import PAGE_SIZE, SimError, SimMM


class Model:
    """Anonymous private mappings that were never forked: every mapped page
    is populated (MAP_POPULATE), and touching VMAs always merge, so the
    VMAs are exactly the maximal runs of populated pages."""

    def __init__(self, pages, populated):
        self.pages = pages
        self.populated = set(range(pages)) if populated else set()

    def vmas(self, populated=None):
        pages = sorted(self.populated if populated is None else populated)
        runs = []
        for p in pages:
            if runs and runs[-1][1] == p:
                runs[-1][1] = p + 1
            else:
                runs.append([p, p + 1])
        return [tuple(r) for r in runs]

    def after(self, op, page, npages):
        span = set(range(page, page + npages))
        return self.populated - span if op == "munmap" else self.populated | span


def kb(pages):
    return pages * PAGE_SIZE // 1024


def rss_fields(text):
    return [int(v) for v in re.findall(r"(?m)^Rss:\s+(\d+) kB$", text)]


def check_agrees(mm, model):
    want = model.vmas()
    for lock in ("mmap", "vma"):
        assert mm.vmas(lock) == want, lock
        smaps = mm.read("smaps", lock)
        assert rss_fields(smaps) == [kb(e - s) for s, e in want], lock
        assert rss_fields(mm.read("smaps_rollup", lock)) == [kb(len(model.populated))]
    assert mm.map_count == len(want)


ops = st.tuples(st.sampled_from(["mmap", "munmap", "munmap", "replace"]),
                st.integers(0, 31), st.integers(1, 4))


@settings(max_examples=200, deadline=None)
@given(pages=st.integers(16, 32), populated=st.booleans(),
       max_map_count=st.sampled_from([None, 1, 2, 3, 4]),
       steps=st.lists(ops, min_size=4, max_size=30))
def test_core_agrees_with_model(pages, populated, max_map_count, steps):
    model = Model(pages, populated)
    with SimMM(pages, populate=populated, max_map_count=max_map_count) as mm:
        check_agrees(mm, model)
        for op, page, npages in steps:
            if op == "replace":
                # MAP_FIXED over what is mapped: re-map in place, starting
                # at a populated page, which may reach past its VMA.
                if not model.populated:
                    continue
                page = sorted(model.populated)[page % len(model.populated)]
            page %= pages
            npages = min(npages, pages - page)
            after = model.after(op, page, npages)
            limit = max_map_count if max_map_count is not None else 65530
            try:
                (mm.munmap if op == "munmap" else mm.mmap)(page, npages)
            except SimError as e:
                assert e.errno == errno.ENOMEM
                # ENOMEM exactly when the result would have too many VMAs.
                assert len(model.vmas(after)) > limit, (op, page, npages)
            else:
                assert len(model.vmas(after)) <= limit, (op, page, npages)
                model.populated = after
            check_agrees(mm, model)
