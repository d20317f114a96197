# SPDX-License-Identifier: GPL-2.0-or-later
"""Results files: every column written, every row on disk as soon as its
sample ends and whole, rows never destroyed, and one-line errors for files
that cannot be used."""

import csv
import errno
import os

import click
import pytest

from procvma import __version__
from procvma.host.hostinfo import cpu_model
from procvma.results import schema
from procvma.results.csvio import ResultsError, ResultsWriter, WriteError, read_results


def sample_row(k, **over):
    row = {c: 0 for c in schema.CONFIG_COLUMNS + schema.FIGURE_COLUMNS}
    row.update(backend="sim", lock="vma", procfile="smaps_rollup", sample=k,
               nbusycpus=1, nbusytasks=1, busyduration=2, duration=1.0,
               region_pages=32768, seed=41 + k, scanner="-",
               opavg_ms=0.007 * k, opmax_ms=2.5, hang=0, loadavg1=0.5,
               procs_running=1, others_running=0,
               trace_engine="sim")
    row.update(over)
    return row


def write_rows(path, rows):
    w = ResultsWriter.open(str(path))
    for r in rows:
        w.write(r)
    w.close()


def test_each_row_is_on_disk_before_the_next_sample(tmp_path):
    path = tmp_path / "out.csv"
    w = ResultsWriter.open(str(path))
    w.write(sample_row(1))
    # Not closed: a Ctrl-C or a crash of a later sample must not lose it.
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1
    assert list(rows[0]) == schema.COLUMNS
    assert rows[0]["procvma_version"] == __version__
    assert rows[0]["cpu_model"] == cpu_model() != ""
    assert rows[0]["timestamp"].endswith("+00:00")
    w.close()


def test_an_existing_results_file_is_appended_to(tmp_path):
    path = tmp_path / "out.csv"
    write_rows(path, [sample_row(1), sample_row(2)])
    w = ResultsWriter.open(str(path), command="run-proc-vs-map --csv x")
    # Opening it (as a run does before its first sample) keeps every row.
    assert len(read_results(path)) == 2
    w.write(sample_row(1, lock="mmap"))
    w.close()
    df = read_results(path)
    assert list(df["lock"]) == ["vma", "vma", "mmap"]
    assert list(df["command"]) == ["", "", "run-proc-vs-map --csv x"]
    assert path.read_text().count("backend,") == 1    # one header


@pytest.mark.parametrize("content, why", [
    ("name,size\nfoo,1\n", "column 'name' is not ours"),
    ("", None),
    ("not a csv at all", "column 'not a csv at all' is not ours"),
])
def test_a_file_of_other_columns_is_refused_and_kept(tmp_path, content, why):
    path = tmp_path / "other.csv"
    path.write_text(content)
    if why is None:     # an empty file is simply started
        ResultsWriter.open(str(path)).close()
        assert path.read_text().startswith("backend,lock,")
        return
    with pytest.raises(click.UsageError) as e:
        ResultsWriter.open(str(path))
    assert e.value.exit_code == 2
    assert why in e.value.format_message()
    assert path.read_text() == content


def test_a_file_whose_last_row_is_cut_is_refused(tmp_path):
    path = tmp_path / "cut.csv"
    write_rows(path, [sample_row(1)])
    path.write_text(path.read_text() + "sim,vma,smaps")
    with pytest.raises(click.UsageError, match="last row is cut short"):
        ResultsWriter.open(str(path))


def test_a_write_error_leaves_no_half_row(tmp_path, monkeypatch):
    path = tmp_path / "full.csv"
    w = ResultsWriter.open(str(path))
    w.write(sample_row(1))
    real_write = os.write

    def half_then_full(fd, data):
        if fd == w.fd:
            real_write(fd, bytes(data[:len(data) // 2]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(WriteError) as e:
        w.write(sample_row(2))
    monkeypatch.undo()
    w.close()
    assert str(e.value) == (f"--csv {path}: cannot write: No space left on "
                            "device; the rows before this one are intact "
                            "(1 from this run)")
    assert list(read_results(path)["sample"]) == [1]


def test_round_trip_gives_numbers(tmp_path):
    path = tmp_path / "out.csv"
    write_rows(path, [sample_row(1), sample_row(2, hang=1)])
    df = read_results([path])
    assert list(df["sample"]) == [1, 2]
    assert df["opavg_ms"].sum() == pytest.approx(0.021)
    assert list(df["hang"]) == [0, 1]
    assert set(df["source"]) == {str(path)}


def test_writer_refuses_an_unwritable_path(tmp_path):
    with pytest.raises(click.UsageError, match="is a directory"):
        ResultsWriter.open(str(tmp_path))
    with pytest.raises(click.UsageError, match="cannot write"):
        ResultsWriter.open(str(tmp_path / "no" / "such" / "dir.csv"))


def test_reading_several_files_concatenates_them(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_rows(a, [sample_row(1)])
    write_rows(b, [sample_row(1, lock="mmap"), sample_row(2, lock="mmap")])
    df = read_results([a, b])
    assert list(df["lock"]) == ["vma", "mmap", "mmap"]


def test_older_files_without_the_optional_columns_still_read(tmp_path):
    path = tmp_path / "old.csv"
    cols = schema.REQUIRED_COLUMNS
    with open(path, "w") as f:
        f.write(",".join(cols) + "\n")
        row = dict(sample_row(1), kernel_release="6.18", cpu_model="x",
                   procvma_version="0.1.0", timestamp="t")
        f.write(",".join(str(row[c]) for c in cols) + "\n")
    df = read_results(path)
    assert len(df) == 1 and "retries" in df.columns
    # No --label then: the run is unnamed, as a run without it writes.
    assert list(df["label"]) == ["-"]


def test_the_label_is_in_every_row(tmp_path):
    path = tmp_path / "l.csv"
    w = ResultsWriter.open(str(path), command="c", label="v6.19 + fix")
    w.write(sample_row(1))
    w.write(sample_row(2))
    w.close()
    assert list(read_results(path)["label"]) == ["v6.19 + fix"] * 2
    write_rows(tmp_path / "none.csv", [sample_row(1)])
    assert list(read_results(tmp_path / "none.csv")["label"]) == ["-"]


@pytest.mark.parametrize("label, message", [
    ("", "the name is empty"), ("a\nb", "control characters"),
    ("x" * 65, "at most 64 characters"), ("-", "give a name")])
def test_a_label_that_cannot_name_a_run_is_refused(label, message):
    from procvma.run.plan import check_label
    with pytest.raises(click.UsageError) as e:
        check_label(label)
    assert message in e.value.format_message()
    assert check_label(" build 2 ") == "build 2"


def _error(paths):
    with pytest.raises(ResultsError) as e:
        read_results(paths)
    assert e.value.exit_code == 2
    msg = e.value.format_message()
    assert "\n" not in msg
    return msg


def test_bad_files_get_one_line_naming_file_and_column(tmp_path):
    missing = tmp_path / "missing.csv"
    assert _error([missing]) == f"{missing}: no such file"

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert str(empty) in _error([empty])

    nocol = tmp_path / "nocol.csv"
    write_rows(nocol, [sample_row(1)])
    text = nocol.read_text().replace("opmax_ms", "opmaxx", 1)
    nocol.write_text(text)
    assert _error([nocol]) == f"{nocol}: missing column 'opmax_ms'"

    bad = tmp_path / "bad.csv"
    write_rows(bad, [sample_row(1), sample_row(2, opavg_ms="fast")])
    assert _error([bad]) == (f"{bad}: column 'opavg_ms': non-numeric value "
                             "'fast' in row 2")

    blank = tmp_path / "blank.csv"
    write_rows(blank, [sample_row(1, walks="")])
    assert "column 'walks'" in _error([blank])
