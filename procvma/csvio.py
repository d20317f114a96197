# SPDX-License-Identifier: GPL-2.0-or-later
"""Results files: one row per sample, the columns of procvma/schema.py.

The writer flushes every row as its sample finishes, so an interrupted or
failed run leaves a valid file of the samples it finished.  The reader
checks what compare, gate and plot rely on and says in one line what is
wrong with a file.
"""

import csv
import os
from datetime import datetime, timezone

import click

from procvma import __version__, hostinfo, schema


def host_metadata():
    return {
        "kernel_release": hostinfo.kernel_release(),
        "cpu_model": hostinfo.cpu_model(),
        "procvma_version": __version__,
    }


class ResultsWriter:
    """Writes rows to an already-open file (opened at option-check time so
    an unwritable path fails before the run)."""

    def __init__(self, f):
        self.f = f
        self.host = host_metadata()
        self.writer = csv.DictWriter(f, fieldnames=schema.COLUMNS,
                                     extrasaction="ignore", lineterminator="\n")
        self.writer.writeheader()
        self.f.flush()

    @classmethod
    def open(cls, path):
        """A writer for path, or a click.UsageError naming why not."""
        if os.path.isdir(path):
            raise click.UsageError(f"--csv {path}: is a directory")
        f = None
        try:
            f = open(path, "w", newline="")
            return cls(f)
        except OSError as e:
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass    # the same error again, on the buffered header
            raise click.UsageError(f"--csv {path}: cannot write: "
                                   f"{e.strerror or e}")

    def write(self, row):
        full = dict(row, **self.host)
        full["timestamp"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        missing = [c for c in schema.COLUMNS if c not in full]
        if missing:
            raise ValueError(f"results row lacks {', '.join(missing)}")
        self.writer.writerow(full)
        self.f.flush()

    def close(self):
        self.f.close()


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
    for col in schema.OPTIONAL_COLUMNS:
        if col not in df.columns:
            df[col] = "nan" if col in schema.NUMERIC_COLUMNS else ""
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
    df["source"] = path
    return df


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
