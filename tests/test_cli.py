# SPDX-License-Identifier: GPL-2.0-or-later
"""run-proc-vs-map and procvma as a user runs them: as processes."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from procvma.results import schema
from procvma.results.table import format_samples

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER_LINE = "#Busy    Median   Minimum   Maximum #Hangs"
SHORT = ["--nsamples", "2", "--duration", "1", "--busyduration", "2",
         "--procfile", "smaps_rollup"]


def command(name):
    """The installed console script, or the same entry point by hand."""
    exe = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(exe):
        return [exe]
    func = {"run-proc-vs-map": "run_proc_vs_map", "procvma": "main"}[name]
    return [sys.executable, "-c", f"from procvma.cli.main import {func}; {func}()"]


def run(name, *args, **kw):
    return subprocess.run(command(name) + list(args), capture_output=True,
                          text=True, timeout=kw.pop("timeout", 120), **kw)


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("args, message", [
    (["--cpumapper", "4096"], "--cpumapper 4096: no CPU 4096"),
    (["--", "--cpubusytasks", "4096", "--nbusycpus", "1"], "--cpubusytasks 4096"),
    (["--gb", "1", "--", "--mb", "128"], "only one of --gb and --mb"),
    (["--procfile", "status"], "--procfile status"),
    (["--nsamples", "many"], "'--nsamples'"),
    (["--", "--duration", "-1"], "'--duration'"),
    (["--csv", "/no/such/dir/out.csv"], "--csv /no/such/dir/out.csv"),
    (["--csv", "/proc/version"], "--csv /proc/version"),
    (["--backend", "kernel", "--lock", "vma"], "--lock"),
    (["--bogus"], "--bogus"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    r = run("run-proc-vs-map", *args)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("run-proc-vs-map: error: ")
    assert message in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert r.stdout == ""


def test_short_run_prints_both_designs_and_writes_every_sample(tmp_path):
    out = tmp_path / "out.csv"
    r = run("run-proc-vs-map", *SHORT, "--seed", "5", "--csv", str(out))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Running run-proc-vs-map " + " ".join(
        SHORT + ["--seed", "5", "--csv", str(out)])
    assert lines.count(HEADER_LINE) == 2
    titles = [l for l in lines if l.startswith("Simulated kernel")]
    assert len(titles) == 2
    assert "--lock mmap" in titles[0] and "--lock vma" in titles[1]
    assert lines.index(titles[0]) < lines.index(titles[1])

    rows = read_csv(out)
    assert len(rows) == 4
    assert all(list(r) == schema.COLUMNS for r in rows)
    # The designs alternate, sample by sample, each round one op stream;
    # the timestamps show the order.
    assert [r["lock"] for r in rows] == ["mmap", "vma", "mmap", "vma"]
    assert [r["seed"] for r in rows] == ["5", "5", "6", "6"]
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    assert all(r[c] != "" for r in rows for c in schema.COLUMNS)
    assert all(int(r["nmaps"]) + int(r["nunmaps"]) > 0 for r in rows)
    # The printed tables are the CSV's samples, reduced the reference's way.
    for lock in ("mmap", "vma"):
        samples = [{"opavg_ms": float(r["opavg_ms"]),
                    "opmax_ms": float(r["opmax_ms"]), "hang": int(r["hang"])}
                   for r in rows if r["lock"] == lock]
        nbusy = int(rows[0]["nbusycpus"])
        assert format_samples(nbusy, samples) in r.stdout


def test_wrapper_takes_the_seeds_command_line():
    r = subprocess.run(
        [os.path.join(REPO, "scripts", "run-proc-vs-map.sh"), "--nsamples", "2",
         "--rawdata", "--lock", "vma", "--", "--busyduration", "2", "--procfile",
         "smaps_rollup", "--duration", "1"],
        capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Running ") and "run-proc-vs-map.sh --nsamples 2" in lines[0]
    assert HEADER_LINE not in lines
    # Title, blank line, one "median opavg opmax" line per sample, blank.
    assert lines[2] == "" and lines[-1] == ""
    data = lines[3:-1]
    assert len(data) == 2
    assert all(len(l) == 29 and len(l.split()) == 3 for l in data)
    assert len({l.split()[0] for l in data}) == 1


@pytest.mark.parametrize("sig, status, line", [
    (signal.SIGINT, 130, "interrupted: "),
    (signal.SIGTERM, 143, "interrupted by SIGTERM: "),
    (signal.SIGHUP, 129, "interrupted by SIGHUP: ")])
def test_ctrl_c_sigterm_and_sighup_keep_finished_samples(tmp_path, sig,
                                                          status, line):
    out = tmp_path / "out.csv"
    p = subprocess.Popen(
        command("run-proc-vs-map") + ["--nsamples", "20", "--duration", "1",
                                      "--busyduration", "2", "--lock", "vma",
                                      "--procfile", "smaps_rollup", "--csv", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and len(read_csv(out)) >= 1:
            break
        time.sleep(0.05)
    time.sleep(0.3)     # well inside the next sample
    p.send_signal(sig)
    stdout, stderr = p.communicate(timeout=30)
    assert p.returncode == status, stderr
    assert "Traceback" not in stderr
    assert line in stderr
    rows = read_csv(out)
    assert 1 <= len(rows) < 20
    samples = [{"opavg_ms": float(r["opavg_ms"]), "opmax_ms": float(r["opmax_ms"]),
                "hang": int(r["hang"])} for r in rows]
    # The table is printed, and it is the table of exactly the kept samples.
    assert format_samples(int(rows[0]["nbusycpus"]), samples) in stdout


def test_csv_is_appended_to_and_a_foreign_file_is_left_alone(tmp_path):
    out = tmp_path / "out.csv"
    args = ["--lock", "vma", "--nsamples", "1", "--duration", "0.2", "--mb",
            "4", "--quiet", "--csv", str(out)]
    for _ in range(2):
        r = run("run-proc-vs-map", *args)
        assert r.returncode == 0, r.stderr
        # --quiet: notes and warnings, but no progress lines.
        assert not [ln for ln in r.stderr.splitlines() if ln.startswith("[")]
    rows = read_csv(out)
    assert len(rows) == 2
    assert rows[0]["command"] == "run-proc-vs-map " + " ".join(args)
    foreign = tmp_path / "notes.csv"
    foreign.write_text("name,size\nfoo,1\n")
    r = run("run-proc-vs-map", *args[:-1], str(foreign))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and str(foreign) in r.stderr
    assert foreign.read_text() == "name,size\nfoo,1\n"


def test_samples_too_short_for_a_pass_are_flagged(tmp_path):
    out = tmp_path / "out.csv"
    r = run("run-proc-vs-map", "--duration", "0.0001", "--nsamples", "2",
            "--lock", "vma", "--mb", "4", "--procfile", "smaps_rollup",
            "--csv", str(out))
    assert r.returncode == 0, r.stderr
    assert ("warning: [1/1 vma] 2 of 2 sample(s) in which no scanner "
            "completed a pass of /proc/PID/smaps_rollup") in r.stderr
    assert [(row["walks"], row["no_pass"]) for row in read_csv(out)] == \
        [("0", "1"), ("0", "1")]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 8 KiB tmpfs: room for a dozen rows (root only)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs",
                        str(mnt)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_a_full_disk_is_one_line_and_keeps_every_row_written(tiny_disk):
    out = tiny_disk / "out.csv"
    r = run("run-proc-vs-map", "--nsamples", "20", "--duration", "0.05",
            "--mb", "4", "--lock", "vma", "--quiet", "--csv", str(out))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    err = [ln for ln in r.stderr.splitlines() if "error" in ln]
    assert len(err) == 1, r.stderr
    assert err[0].startswith(f"run-proc-vs-map: error: --csv {out}: cannot "
                             "write: No space left on device; the rows "
                             "before this one are intact (")
    rows = read_csv(out)
    assert 1 <= len(rows) < 20
    assert out.read_text().endswith("\n")
    assert all(list(row) == schema.COLUMNS and None not in row.values()
               for row in rows)
    # The table has every finished sample: those written and the one that
    # found the disk full.
    assert r.stdout.count("\n    0.") == 0
    data = r.stdout.split(HEADER_LINE)[1].splitlines()
    assert data[1].startswith("    1 ")


def test_sweep_runs_one_table_per_point_into_one_csv(tmp_path):
    out = tmp_path / "sweep.csv"
    r = run("procvma", "sweep", "--busyduration", "0,2", "--lock", "vma",
            "--procfile", "maps", "--nsamples", "1", "--duration", "0.5",
            "--csv", str(out))
    assert r.returncode == 0, r.stderr
    titles = [l for l in r.stdout.splitlines() if l.startswith("Point ")]
    assert len(titles) == 2
    assert "--busyduration 0" in titles[0] and "--busyduration 2" in titles[1]
    assert r.stdout.count(HEADER_LINE) == 2
    assert [row["busyduration"] for row in read_csv(out)] == ["0", "2"]


def test_missing_subcommand_module_is_one_line():
    # A subcommand whose module cannot be imported: the group still lists
    # it, and running it is one line, not a traceback.  None in
    # sys.modules makes the import fail.
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c",
                        "import sys; sys.argv[0] = 'procvma'; "
                        "sys.modules['procvma.cli.torture'] = None; "
                        "from procvma.cli.main import main; main()", "torture"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1
    assert r.stderr.startswith("procvma torture: error: 'torture' is not available")
    assert r.stderr.count("\n") == 1
    r = subprocess.run([sys.executable, "-c",
                        "import sys; sys.argv[0] = 'procvma'; "
                        "sys.modules['procvma.cli.torture'] = None; "
                        "from procvma.cli.main import main; main()", "--help"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and "torture" in r.stdout


@pytest.mark.parametrize("args", [
    ("run-proc-vs-map", "--lock", "speculate", "--procfile", "smaps"),
    ("run-proc-vs-map", "--lock", "mmap,speculate", "--procfile", "smaps_rollup"),
    ("run-proc-vs-map", "--lock", "speculate", "--scanner", "query"),
    ("procvma", "sweep", "--lock", "vma,speculate", "--procfile", "maps,numa_maps"),
    ("procvma", "torture", "--lock", "speculate", "--procfile", "smaps"),
])
def test_a_design_that_cannot_read_the_file_is_refused_before_anything_runs(args):
    # The speculative reader walks the tree under RCU alone: the page-table
    # walk of smaps and friends is not safe there, nor is PROCMAP_QUERY's.
    r = run(*args, "--duration", "0.2")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "speculate" in r.stderr
    assert r.stdout == ""
