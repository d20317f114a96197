# SPDX-License-Identifier: GPL-2.0-or-later
"""Results files: one row per sample, the columns of procvma/results/schema.py.

Measured samples are never lost.  The writer appends to a file that holds
rows of the same columns (and refuses, before anything runs, a file that
holds anything else), writes each row whole as its sample finishes, and on
a write error takes back the part of the row that got out, so that an
interrupted or failed run leaves a valid file of the samples it finished.
The reader checks what compare, gate and plot rely on and says in one line
what is wrong with a file.
"""

import csv
import io
import os
from datetime import datetime, timezone

import click

from procvma import __version__
from procvma.host import hostinfo
from procvma.results import machines, schema


def host_metadata():
    return {
        "format": schema.FORMAT,
        "hostname": hostinfo.hostname(),
        "kernel_release": hostinfo.kernel_release(),
        "cpu_model": hostinfo.cpu_model(),
        "procvma_version": __version__,
        "cpus_online": hostinfo.format_cpulist(hostinfo.cpus_online()),
        "vm_accel": hostinfo.vm_accel(),
    }


# What a row without --label (or a file from before the column) says.
NO_LABEL = schema.IMPLIED_HOST["label"]


class WriteError(Exception):
    """A row could not be written; the rows before it are intact."""


def _csv_line(fields):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return out.getvalue().encode()


class ResultsWriter:
    """Appends rows to a results file, each row whole or not at all."""

    def __init__(self, path, fd, command="", label=None):
        self.path = path
        self.fd = fd
        self.host = dict(host_metadata(), command=command,
                         label=label or NO_LABEL)
        self.rows = 0

    @classmethod
    def open(cls, path, command="", label=None):
        """A writer for path, or a click.UsageError (exit 2) naming why
        not: a directory, a path we cannot write, or a file holding
        anything but results of these columns.  An existing results file
        is appended to."""
        if os.path.isdir(path):
            raise click.UsageError(f"--csv {path}: is a directory")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
        except OSError as e:
            raise click.UsageError(f"--csv {path}: cannot write: "
                                   f"{e.strerror or e}")
        try:
            writer = cls(path, fd, command, label)
            writer._check_or_start()
        except OSError as e:
            os.close(fd)
            raise click.UsageError(f"--csv {path}: cannot use: "
                                   f"{e.strerror or e}")
        except BaseException:
            os.close(fd)
            raise
        return writer

    def _check_or_start(self):
        with open(self.fd, "rb", closefd=False) as f:
            f.seek(0)
            head = f.readline()
            end = os.lseek(self.fd, 0, os.SEEK_END)
            if end:
                os.lseek(self.fd, end - 1, os.SEEK_SET)
                last = os.read(self.fd, 1)
        if not end:
            try:
                self._append(_csv_line(schema.COLUMNS))
            except OSError as e:
                raise click.UsageError(f"--csv {self.path}: cannot write: "
                                       f"{e.strerror or e}")
            return
        columns = next(csv.reader([head.decode(errors="replace")]), [])
        if columns != schema.COLUMNS:
            extra = [c for c in columns if c not in schema.COLUMNS]
            lacks = [c for c in schema.COLUMNS if c not in columns]
            why = (f"column {extra[0]!r} is not ours" if extra else
                   f"it lacks column {lacks[0]!r}" if lacks else
                   "its columns are in another order")
            raise click.UsageError(
                f"--csv {self.path}: not a results file of this version's "
                f"columns ({why}); it is kept as it is: give another path")
        if last != b"\n":
            raise click.UsageError(f"--csv {self.path}: its last row is cut "
                                   f"short; it is kept as it is: give "
                                   f"another path")
        self._warn_other_machine()

    def _warn_other_machine(self):
        """One line on stderr when the file's rows came from other
        machines than this one: appending is allowed (the readers keep
        machines apart), but should not go unnoticed."""
        with open(self.fd, "r", closefd=False, newline="",
                  errors="replace") as f:
            f.seek(0)
            found = list(dict.fromkeys(machines.of_row(r)
                                       for r in csv.DictReader(f)))
        said = machines.append_warning(self.path, found,
                                       machines.of_row(self.host))
        if said:
            ctx = click.get_current_context(silent=True)
            prog = ctx.command_path if ctx else "procvma"
            click.echo(f"{prog}: warning: {said}", err=True)

    def _append(self, data):
        """Write data at the end, whole: on an error, cut the file back to
        where it ended, so no half row stays behind."""
        end = os.lseek(self.fd, 0, os.SEEK_END)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError:
            try:
                os.ftruncate(self.fd, end)
            except OSError:
                pass    # the error already raised says what is wrong
            raise

    def write(self, row):
        full = dict(row, **self.host)
        full["timestamp"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self._write_full(full)

    def write_measured_elsewhere(self, row):
        """A row another machine measured and wrote whole (a guest's, under
        --kernel): its host columns are that machine's, kept as they are."""
        self._write_full(row)

    def _write_full(self, full):
        missing = [c for c in schema.COLUMNS if c not in full]
        if missing:
            raise ValueError(f"results row lacks {', '.join(missing)}")
        try:
            self._append(_csv_line(full[c] for c in schema.COLUMNS))
        except OSError as e:
            raise WriteError(
                f"--csv {self.path}: cannot write: {e.strerror or e}; the "
                f"rows before this one are intact ({self.rows} from this "
                f"run)") from None
        self.rows += 1

    def close(self):
        os.close(self.fd)


class ResultsError(click.ClickException):
    """A results file that cannot be used: a usage error (exit 2)."""
    exit_code = 2


def _read_one(path):
    import pandas as pd

    if not os.path.exists(path):
        raise ResultsError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ResultsError(f"{path}: is a directory")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ResultsError(f"{path}: empty file, not a procvma results CSV")
    except (OSError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}")
    except pd.errors.ParserError as e:
        raise ResultsError(f"{path}: not a CSV file: {str(e).strip().splitlines()[0]}")
    missing = [c for c in schema.REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ResultsError(f"{path}: missing column {missing[0]!r}"
                           + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    if df.empty:
        raise ResultsError(f"{path}: no samples")
    absent = [c for c in schema.OPTIONAL_COLUMNS if c not in df.columns]
    for col in absent:
        df[col] = "nan" if col in schema.NUMERIC_COLUMNS else ""
    for col, implied in schema.IMPLIED_HOST.items():
        df.loc[df[col].str.strip().isin(["", "nan"]), col] = str(implied)
    for col in schema.NUMERIC_COLUMNS:
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() & ~df[col].str.strip().str.lower().isin(["nan"])
        if col in schema.REQUIRED_COLUMNS:
            bad |= df[col].str.strip() == ""
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise ResultsError(f"{path}: column {col!r}: non-numeric value "
                               f"{df[col].iloc[i]!r} in row {i + 1}")
        df[col] = num
    newer = df["format"] > schema.FORMAT
    if newer.any():
        raise ResultsError(f"{path}: written by a newer procvma (format "
                           f"{df['format'][newer].iloc[0]:g}; this one reads "
                           f"formats up to {schema.FORMAT}): upgrade procvma")
    _imply_config(df, absent)
    if "others_running" in absent:
        # Written before the run told its own tasks from the others: the
        # one task it knew to be its own was the thread reading the count.
        df["others_running"] = df["procs_running"] - 1
    df["source"] = path
    return df


def _imply_config(df, absent):
    """Fill configuration columns an older file lacks (@absent), and
    scanners it left unnamed, with what that run implied
    (schema.implied_config), so that its rows group with the rows of the
    same experiment and with no other."""
    rows = df.to_dict("records")
    for col in absent:
        if col in schema.CONFIG_KEY:
            implied = [schema.implied_config(col, r["backend"], r) for r in rows]
            if any(v is not None for v in implied):
                df[col] = [df[col].iloc[i] if v is None else v
                           for i, v in enumerate(implied)]
    unnamed = df["scanner"].isin(["", "-"])
    if unnamed.any():
        df.loc[unnamed, "scanner"] = [
            schema.implied_scanner(b, c) for b, c in
            zip(df.loc[unnamed, "backend"], df.loc[unnamed, "pass_cost_ns"])]


def read_results(paths):
    """Read one or more results CSVs into one DataFrame (numeric columns as
    numbers, plus a "source" column naming the file of each row).  Raises
    ResultsError, a click exception with a one-line message and exit
    status 2, for a missing, unreadable or malformed file."""
    import pandas as pd

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ResultsError("no results file given")
    frames = [_read_one(p) for p in paths]
    return pd.concat(frames, ignore_index=True)
