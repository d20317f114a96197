# SPDX-License-Identifier: GPL-2.0-or-later
"""The mmap_lock figures: from the simulator's own locks."""

import os

import pytest

# ---- the simulator ---------------------------------------------------------

def sim_rows(lock, procfile, duration=1.0, **extra):
    from procvma import runner
    params = dict(backend="sim", lock=lock, procfile=procfile, cpumapper=0,
                  cpuscript=0, cpubusytasks=os.cpu_count() - 1, nbusycpus=1,
                  nbusytasks=1, busyduration=2, duration=duration,
                  region_pages=32768, **extra)
    return runner.run_samples(params, 1, 1)


@pytest.mark.parametrize("procfile", ["smaps_rollup", "maps"])
def test_sim_figures_count_what_the_walkers_did(procfile):
    (mm,) = sim_rows("mmap", procfile)
    (vma,) = sim_rows("vma", procfile)
    if procfile == "smaps_rollup":
        # One lock per walk, and one more per drop-and-retake.
        assert mm["reader_mmap_locks"] == mm["walks"] + mm["drops"]
    else:
        # One lock per read() chunk: more than one per walk of 4 KiB chunks.
        assert mm["reader_mmap_locks"] > mm["walks"] > 0
    # The per-VMA design takes mmap_lock only to fall back.
    assert vma["reader_mmap_locks"] == vma["fallbacks"]
    for row in (mm, vma):
        # A hold lies within one walk; a wait within the mapper's time.
        assert row["reader_hold_max_ms"] <= row["walk_max_ms"]
        assert 0 <= row["reader_hold_avg_ms"] <= row["reader_hold_max_ms"]
        assert row["mapper_wait_max_ms"] <= row["mapper_wait_ms"] <= 1000 * row["duration"]
    assert mm["mapper_wait_ms"] > 0 and mm["reader_hold_avg_ms"] > 0


def test_sim_mapper_waits_far_longer_under_the_mmap_design():
    # The same op stream in one run; the acceptance figure is 10x, the
    # test leaves room for a loaded machine.
    (mm,) = sim_rows("mmap", "smaps_rollup", op_cost_ns=0)
    (vma,) = sim_rows("vma", "smaps_rollup", op_cost_ns=0)
    assert mm["mapper_wait_ms"] > 3 * vma["mapper_wait_ms"]
