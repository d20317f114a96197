# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma growth: how the stall grows, from sweeps over size and holes."""

import re

import pandas as pd
from click.testing import CliRunner

from procvma.cli.main import main
from procvma.results import schema

GIB = 1 << 18       # pages


def sweep_rows(backend="sim", lock="mmap", sizes=(GIB // 8, GIB, 8 * GIB),
               holes=(100, 1000), holes_at=GIB, per_page_ms=1e-5, nsamples=3):
    """A size sweep and a holes sweep whose stall is exactly proportional
    to the pages per VMA: opavg = per_page_ms * pages / (holes + 1)."""
    rows = []
    points = [(p, 0) for p in sizes] + [(holes_at, h) for h in holes]
    for pages, nholes in points:
        for i in range(nsamples):
            avg = per_page_ms * pages / (nholes + 1) * (1 + 0.01 * i)
            row = dict.fromkeys(schema.COLUMNS, 0)
            row.update(backend=backend, lock=lock, procfile="smaps_rollup",
                       scanner="cat", scanner_command="-", sample=i + 1,
                       nbusycpus=1, nbusytasks=1,
                       busyduration=2, duration=6, region_pages=pages,
                       holes=nholes, seed=1 + i, nmaps=100, nunmaps=100,
                       opavg_ms=avg, opmax_ms=avg * 10, p50_ms=avg / 2,
                       p90_ms=avg, p99_ms=avg * 5, p999_ms=avg * 8,
                       walks=10, walk_avg_ms=6e-5 * (pages - nholes),
                       walk_max_ms=1, vmas=nholes + 1,
                       kernel_release="6.18.0", cpu_model="Test CPU",
                       procvma_version="0.1.0",
                       timestamp="2026-01-01T00:00:00+00:00")
            rows.append(row)
    return rows


def write(path, *row_lists):
    pd.DataFrame([r for rows in row_lists for r in rows],
                 columns=schema.COLUMNS).to_csv(path, index=False)
    return str(path)


def growth(*args):
    return CliRunner().invoke(main, ["growth", *map(str, args)])


def test_report_fits_the_exponent_and_the_walk_per_page(tmp_path):
    csv = write(tmp_path / "g.csv", sweep_rows(lock="mmap"),
                sweep_rows(lock="vma", per_page_ms=1e-6),
                sweep_rows(backend="kernel", lock="kernel", sizes=(GIB // 8, GIB, 2 * GIB)))
    r = growth(csv)
    assert r.exit_code == 0, r.output
    # Linear in the region by construction: k = 1.00 on every line.
    fits = re.findall(r"opavg ~ size\^([\d.]+), walk ~ size\^([\d.]+)", r.output)
    assert fits == [("1.00", "1.00")] * 3
    assert "simulator, mmap_lock" in r.output and "simulator, per-VMA lock" in r.output
    assert "Linux 6.18.0 (this machine)" in r.output
    # One row per point: 3 sizes and 2 hole counts per line; 60 ns a page.
    rows = [line for line in r.output.splitlines() if re.search(r" 60\.0 ", line)]
    assert len(rows) == 3 * 5
    assert re.search(r"simulator, mmap_lock\s+1 GiB\s+1000\s+3\s+0\.003", r.output)


def test_figure(tmp_path):
    from matplotlib.image import imread
    csv = write(tmp_path / "g.csv", sweep_rows(lock="mmap"), sweep_rows(lock="vma"))
    out = tmp_path / "g.png"
    r = growth(csv, "-o", out)
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = imread(out).shape[:2]
    assert width > height > 500


def test_bad_input_is_one_line(tmp_path):
    r = growth(tmp_path / "missing.csv")
    assert r.exit_code == 2 and r.output.count("\n") == 1
    csv = write(tmp_path / "g.csv", sweep_rows())
    r = growth(csv, "-o", tmp_path / "g.txt")
    assert r.exit_code == 2 and r.output.count("\n") == 1


def test_two_kernels_are_two_lines_never_one_median(tmp_path):
    old = [dict(r, kernel_release="6.1.0", hostname="box") for r in
           sweep_rows(backend="kernel", lock="kernel", per_page_ms=1e-5)]
    new = [dict(r, kernel_release="6.18.0", hostname="box") for r in
           sweep_rows(backend="kernel", lock="kernel", per_page_ms=3e-5)]
    r = growth(write(tmp_path / "two.csv", old, new))
    assert r.exit_code == 0, r.output
    # Each kernel's own median of its 3 samples at 128 MiB (32768 pages,
    # 1e-5 and 3e-5 ms a page), on a line of its own.
    rows = [ln.split("  ") for ln in r.output.splitlines() if "128 MiB" in ln]
    assert [(cells[0], "0.331" in ln, "0.993" in ln) for cells, ln in
            zip(rows, [" ".join(c) for c in rows])] == [
        ("host box, Linux 6.1.0, Test CPU", True, False),
        ("host box, Linux 6.18.0, Test CPU", False, True)]
