# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma plot: a figure a reader can use, or a one-line error."""

import pandas as pd
import pytest
from conftest import invoke

from procvma.cli.plot import plot_cmd
from procvma.results import schema


def results(path, backend="sim", locks=("mmap", "vma"),
            procfile="smaps_rollup", nsamples=5, slow=1.0):
    """A small results file: the mmap_lock design about 20x slower on
    average than the per-VMA one, tails to match."""
    base = {"mmap": 0.17, "vma": 0.0085, "kernel": 0.17}
    rows = []
    for lock in locks:
        for i in range(nsamples):
            avg = base[lock] * (1 + 0.03 * i) * slow
            row = dict.fromkeys(schema.COLUMNS, 0)
            row.update(backend=backend, lock=lock, procfile=procfile,
                       sample=i + 1, nbusycpus=1, nbusytasks=1,
                       busyduration=2, duration=5, region_pages=32768,
                       seed=i, scanner="-", scanner_command="-",
                       nmaps=120000, nunmaps=120000,
                       opavg_ms=avg, opmax_ms=avg * 40 + i,
                       p50_ms=avg / 3, p90_ms=avg, p99_ms=avg * 6,
                       p999_ms=avg * 25, kernel_release="6.18.0",
                       cpu_model="Test CPU", procvma_version="0.1.0",
                       timestamp="2025-01-01T00:00:00+00:00")
            rows.append(row)
    pd.DataFrame(rows, columns=schema.COLUMNS).to_csv(path, index=False)
    return str(path)


def plot(*args):
    return invoke(plot_cmd, *args)


def one_line_error(result):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_png(tmp_path):
    from matplotlib.image import imread

    out = tmp_path / "fig.png"
    result = plot(results(tmp_path / "a.csv"), "-o", out)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # Three panels with lines, not an empty canvas: tens of kB at least.
    assert 20_000 < len(data) < 5_000_000
    height, width = imread(out).shape[:2]
    assert width >= 1200 and 400 <= height < width


def test_svg_names_backend_design_procfile_and_scanner(tmp_path):
    out = tmp_path / "fig.svg"
    result = plot(results(tmp_path / "a.csv"), "-o", out)
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert 10_000 < len(svg) < 5_000_000
    # An old file's "-" scanner with no pass cost reads as the in-process one.
    assert "simulator --lock mmap (median opavg 0.180 ms, 5 samples)" in svg
    assert "simulator --lock vma (median opavg 0.009 ms, 5 samples)" in svg
    # What every line shares is said once.
    assert "--scanner read; 1 busy CPU" in svg
    for text in ("opmax", "opavg", "(ms)", "p99.9"):
        assert text in svg


def test_svg_is_reproducible(tmp_path):
    csv = results(tmp_path / "a.csv")
    plot(csv, "-o", tmp_path / "1.svg")
    plot(csv, "-o", tmp_path / "2.svg")
    assert (tmp_path / "1.svg").read_bytes() == \
        (tmp_path / "2.svg").read_bytes()


def test_pdf(tmp_path):
    out = tmp_path / "fig.pdf"
    result = plot(results(tmp_path / "a.csv"), "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:5] == b"%PDF-"


def test_several_files_overlay(tmp_path):
    before = results(tmp_path / "before.csv")
    after = results(tmp_path / "after.csv", slow=2.0)
    kernel = results(tmp_path / "kernel.csv", backend="kernel",
                     locks=("kernel",), procfile="maps")
    out = tmp_path / "fig.svg"
    result = plot(before, after, kernel, "-o", out)
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    # Each line says which file it came from, and the kernel's names its
    # release in place of a design.
    for name in ("before.csv", "after.csv", "kernel.csv"):
        assert name in svg
    assert "Linux 6.18.0 · maps" in svg
    # The simulator's cost knobs are no part of a kernel line.
    assert "op cost" not in svg
    assert "/proc/PID/{maps,smaps_rollup}" in svg


@pytest.mark.parametrize("name", ["fig.jpg", "fig", "fig.png.txt"])
def test_unknown_format(tmp_path, name):
    out = tmp_path / name
    line = one_line_error(plot(results(tmp_path / "a.csv"), "-o", out))
    assert "format" in line
    assert not out.exists()


def test_unwritable_output(tmp_path):
    out = tmp_path / "no" / "such" / "dir" / "fig.png"
    line = one_line_error(plot(results(tmp_path / "a.csv"), "-o", out))
    assert str(out) in line and "does not exist" in line
    out = tmp_path / "fig.png"
    out.mkdir()
    line = one_line_error(plot(results(tmp_path / "a.csv"), "-o", out))
    assert str(out) in line and "is a directory" in line


@pytest.mark.parametrize("kind", ["missing column", "non-numeric"])
def test_malformed_csv(tmp_path, kind):
    path = results(tmp_path / "a.csv")
    df = pd.read_csv(path)
    if kind == "missing column":
        df = df.drop(columns=["p99_ms"])
    else:
        df["p99_ms"] = df["p99_ms"].astype(object)
        df.loc[2, "p99_ms"] = "n/a"
    df.to_csv(path, index=False)
    out = tmp_path / "fig.png"
    line = one_line_error(plot(path, "-o", out))
    assert path in line and "p99_ms" in line
    assert not out.exists()


def test_missing_csv(tmp_path):
    missing = str(tmp_path / "missing.csv")
    line = one_line_error(plot(missing, "-o", tmp_path / "fig.png"))
    assert missing in line


def test_every_configuration_column_has_a_legend_wording():
    from procvma.results import plot, schema
    named = {"backend", "lock", "procfile", "scanner", "scanner_command"}
    assert set(plot.PARAM_LABELS) | named == set(schema.CONFIG_KEY)


def test_hung_samples_are_marked(tmp_path):
    path = tmp_path / "h.csv"
    results(path)
    df = pd.read_csv(path)
    df.loc[[0, 3], "hang"] = 1      # two mmap_lock samples hung
    df.to_csv(path, index=False)
    out = tmp_path / "fig.svg"
    result = plot(path, "-o", out)
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert "5 samples, 2 hung)" in svg
    assert "hung sample (still running 5 s past its end" in svg
    # Without hung samples, neither the count nor the marker's legend.
    clean = tmp_path / "clean.svg"
    plot(results(tmp_path / "c.csv"), "-o", clean)
    assert " hung" not in clean.read_text()


def colours_and_edges(png):
    """The figure's pixels: whether any of its outermost rows and columns
    is not background (something touches the edge)."""
    from matplotlib.image import imread
    img = imread(png)[:, :, :3]
    edges = [img[0], img[-1], img[:, 0], img[:, -1]]
    return any((e < 0.99).any() for e in edges)


def test_four_files_four_colours_nothing_at_the_edges(tmp_path):
    from procvma.results.csvio import read_results
    from procvma.results.plot import load_series, styles_for
    paths = []
    for i, (release, label) in enumerate([("6.18.0", "-"), ("6.18.0", "a"),
                                          ("6.19.0", "b"), ("6.19.0", "c")]):
        p = results(tmp_path / f"run{i}.csv", backend="kernel",
                    locks=("kernel",), slow=1 + 0.3 * i)
        df = pd.read_csv(p)
        df["kernel_release"], df["label"] = release, label
        df.to_csv(p, index=False)
        paths.append(p)
    series = load_series([(p, read_results([p])) for p in paths])
    assert len({tuple(st["color"]) for st in styles_for(series)}) == 4
    out = tmp_path / "four.png"
    result = plot(*paths, "-o", out)
    assert result.exit_code == 0, result.output
    assert not colours_and_edges(out)
    svg = tmp_path / "four.svg"
    plot(*paths, "-o", svg)
    text = svg.read_text()
    # The legend says what differs: the kernel and the label.
    for name in ("Linux 6.18.0 (median", "Linux 6.18.0 · a (median",
                 "Linux 6.19.0 · b (median", "Linux 6.19.0 · c (median"):
        assert name in text
    assert "run0.csv" not in text


def test_many_lines_get_a_summary_with_nothing_at_the_edges(tmp_path):
    frames = []
    for bd in range(1, 6):
        p = results(tmp_path / f"g{bd}.csv", slow=bd)
        df = pd.read_csv(p)
        df["busyduration"] = bd
        frames.append(df)
    path = tmp_path / "grid.csv"
    pd.concat(frames).to_csv(path, index=False)
    out = tmp_path / "grid.png"
    result = plot(path, "-o", out)
    assert result.exit_code == 0, result.output
    assert not colours_and_edges(out)
    svg = tmp_path / "grid.svg"
    plot(path, "-o", svg)
    text = svg.read_text()
    assert "(10 configurations)" in text
    assert "Mean call: median and range (opavg)" in text


def test_metric_and_scale(tmp_path):
    csv = results(tmp_path / "a.csv")
    out = tmp_path / "m.svg"
    result = plot(csv, "-o", out, "--metric", "p99", "--linear")
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "p99 per sample, sorted" in text
    assert "Mean call per sample" not in text
    from procvma.cli.main import main
    bad = invoke(main, "plot", csv, "-o", out, "--metric", "bogus")
    assert "Invalid value for '--metric': 'bogus': one of opavg" in \
        one_line_error(bad)


def test_every_panel_has_one_scale(tmp_path):
    import re
    csv = results(tmp_path / "a.csv")   # opavg spans 20x, opmax 1000x
    out = tmp_path / "a.svg"
    plot(csv, "-o", out)
    auto = out.read_text()
    plot(csv, "-o", out, "--log")
    assert out.read_text() == auto
    plot(csv, "-o", out, "--linear")
    linear = out.read_text()
    assert linear != auto
    # Linear axes start at 0; log axes have no 0 tick.
    tick = re.compile(r">0\.000<|>0<")
    assert tick.search(linear) and not tick.search(auto)
