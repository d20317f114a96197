# SPDX-License-Identifier: GPL-2.0-or-later
"""The reference repeater's summary and --rawdata output, byte for byte."""

import random

from procvma.results.table import as_printed, format_samples, format_table, median

HEADER = ("\n"
          "          Average mmap()/munmap()\n"
          "           latency (milliseconds)\n"
          "         --------------------------\n"
          "#Busy    Median   Minimum   Maximum #Hangs\n")

# The seed's baseline: per-sample opavg and opmax, each column as printed
# there (sorted on its own), median opavg 0.174.
SEED_OPAVG = [0.161, 0.164, 0.165, 0.166, 0.167, 0.168, 0.169, 0.172, 0.174,
              0.174, 0.175, 0.177, 0.179, 0.183, 0.184, 0.185, 0.185, 0.198,
              0.214, 0.251]
SEED_OPMAX = [2.553, 2.663, 2.664, 2.679, 2.691, 2.704, 2.729, 2.741, 2.745,
              2.755, 2.790, 2.809, 3.096, 3.144, 3.158, 3.175, 4.568, 4.821,
              5.143, 5.220]


def test_summary_row_matches_reference_layout():
    samples = [(0.17, 5.22, False), (0.161, 3.0, False), (0.2, 1.0, False)]
    assert format_table({2: samples}) == (
        HEADER + "    2     0.170     0.161     5.220       \n\n")


def test_hangs_are_starred_and_counted():
    samples = [(0.5, 9000.0, True), (0.4, 12020.7, True), (0.3, 1.0, False)]
    assert format_table({1000: samples}) == (
        HEADER + " 1000     0.400     0.300 12020.700     *2\n\n")


def test_rows_come_in_busy_order():
    out = format_table({2: [(0.2, 2.0, False)], 0: [(0.1, 1.0, False)]})
    rows = out.splitlines()[5:7]
    assert [r.split()[0] for r in rows] == ["0", "2"]


def test_even_count_median_averages_the_values_the_reference_saw():
    # The reference reduces the mapper's %.3f output: 0.124 and 0.125
    # average to 0.1245, which prints as 0.124; unrounded inputs would
    # average to 0.1249 and print 0.125.
    out = format_table({1: [(0.1244, 1.0, False), (0.1254, 1.0, False)]})
    assert out.splitlines()[5] == "    1     0.124     0.124     1.000       "
    assert median([1.0, 4.0, 2.0, 3.0]) == 2.5
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert as_printed(0.0004) == 0.0


def test_rawdata_reproduces_the_seed_table():
    # Pair the seed's columns up at random, as real samples would be: the
    # output sorts each column on its own.
    rng = random.Random(1)
    opmax = SEED_OPMAX[:]
    rng.shuffle(opmax)
    samples = [{"opavg_ms": a, "opmax_ms": m, "hang": 0}
               for a, m in zip(reversed(SEED_OPAVG), opmax)]
    expected = "\n" + "".join("    0.174 %9.3f %9.3f\n" % (a, m)
                              for a, m in zip(SEED_OPAVG, SEED_OPMAX)) + "\n"
    assert format_samples(2, samples, rawdata=True) == expected
    assert expected.splitlines()[1] == "    0.174     0.161     2.553"


def test_empty_tables_print_what_the_reference_prints():
    assert format_table({2: []}) == HEADER + "\n"
    assert format_table({2: []}, rawdata=True) == "\n"


def test_locks_prints_the_holders_side_only_where_it_is_known():
    from procvma.results import table
    nan = float("nan")
    base = dict(sample=1, nmaps=10, nunmaps=10, mapper_wait_ms=1.0,
                mapper_wait_max_ms=0.5, reader_mmap_locks=100,
                reader_hold_avg_ms=0.02, reader_hold_max_ms=9.0)
    known = dict(base, reader_hold_running_ms=0.6, reader_hold_preempted_ms=1.3,
                 reader_hold_sleeping_ms=0.1, mapper_sleeps=3, mapper_wakeups=4,
                 mapper_wake_to_run_ms=0.012, reader_cpu_per_pass_ms=0.25)
    text = table.format_locks([known])
    lines = text.splitlines()
    assert lines[4:7] == list(table.HOLDER_HEADER) + [
        "1              2.000     0.600     1.300   0.100        3        4   0.012     0.250"]
    unknown = dict(base, **dict.fromkeys(("reader_hold_running_ms",
                                          "reader_hold_preempted_ms",
                                          "reader_hold_sleeping_ms", "mapper_sleeps",
                                          "mapper_wakeups", "mapper_wake_to_run_ms",
                                          "reader_cpu_per_pass_ms"), nan))
    assert "where it went" not in table.format_locks([unknown])
