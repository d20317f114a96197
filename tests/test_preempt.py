# SPDX-License-Identifier: GPL-2.0-or-later
"""The simulator's preemption model: read from the host by default, chosen
with --preempt, named in the table title and in every CSV row, and the
holder split it measures."""

import math

import pytest
from test_cli import read_csv, run

from procvma.host import hostinfo

SHORT = ["--nsamples", "1", "--duration", "0.5", "--busyduration", "2",
         "--procfile", "smaps_rollup", "--lock", "mmap", "--seed", "1"]


def test_debugfs_names_the_model_in_parentheses(tmp_path):
    f = tmp_path / "preempt"
    f.write_text("none voluntary (full) lazy\n")
    assert hostinfo._preempt_debugfs(str(f)) == "full"
    f.write_text("(none) voluntary full lazy\n")
    assert hostinfo._preempt_debugfs(str(f)) == "none"
    assert hostinfo._preempt_debugfs(str(tmp_path / "absent")) is None


def test_the_kernel_configuration_and_command_line_say_the_model():
    dynamic_none = ["CONFIG_PREEMPT_NONE=y", "# CONFIG_PREEMPT_VOLUNTARY is not set",
                    "# CONFIG_PREEMPT is not set", "CONFIG_PREEMPT_DYNAMIC=y"]
    assert hostinfo._preempt_config(dynamic_none) == "none"
    # preempt= chooses only where the kernel is built to let it.
    assert hostinfo._preempt_config(dynamic_none, "ro preempt=full quiet") == "full"
    static = ["CONFIG_PREEMPT_VOLUNTARY=y", "# CONFIG_PREEMPT_DYNAMIC is not set"]
    assert hostinfo._preempt_config(static, "preempt=full") == "voluntary"
    assert hostinfo._preempt_config([]) is None


def test_uname_tells_only_a_static_model():
    assert hostinfo._preempt_uname("#1 SMP PREEMPT Tue") == "full"
    assert hostinfo._preempt_uname("#1 SMP PREEMPT_DYNAMIC @0") is None
    assert hostinfo._preempt_uname("#1 SMP Debian 6.1.0") == "voluntary"


def test_the_host_model_has_a_source():
    model, source = hostinfo.preempt_model()
    assert model in hostinfo.PREEMPT_MODELS
    assert source


@pytest.mark.parametrize("preempt", ["none", "full"])
def test_preempt_is_in_the_title_and_every_row(tmp_path, preempt):
    out = tmp_path / "p.csv"
    r = run("run-proc-vs-map", *SHORT, "--preempt", preempt, "--csv", str(out))
    assert r.returncode == 0, r.stderr
    assert f"Simulated kernel (preempt {preempt})" in r.stdout
    rows = read_csv(out)
    assert [row["preempt"] for row in rows] == [preempt]
    row = rows[0]
    assert row["trace_engine"] == "sim"
    # The split adds up to the readers' total hold time.
    parts = sum(float(row[c]) for c in ("reader_hold_running_ms",
                                        "reader_hold_preempted_ms",
                                        "reader_hold_sleeping_ms"))
    total = float(row["reader_hold_avg_ms"]) * float(row["reader_mmap_locks"])
    assert math.isclose(parts, total, rel_tol=1e-6, abs_tol=1e-6)
    assert min(float(row[c]) for c in ("reader_hold_running_ms",
                                       "reader_hold_preempted_ms",
                                       "reader_hold_sleeping_ms")) >= 0
    # A sample on a loaded machine may hold no whole pass (no_pass).
    if int(row["walks"]):
        assert float(row["reader_cpu_per_pass_ms"]) > 0
    assert int(row["mapper_wakeups"]) <= int(row["mapper_sleeps"])
    # A wake-up's latency to running is part of one wait for the write lock.
    wake = float(row["mapper_wake_to_run_ms"])
    if int(row["mapper_wakeups"]):
        assert 0 < wake <= float(row["mapper_wait_max_ms"])
    else:
        assert math.isnan(wake)


def test_the_default_is_the_hosts(tmp_path):
    out = tmp_path / "p.csv"
    r = run("run-proc-vs-map", *SHORT, "--csv", str(out))
    assert r.returncode == 0, r.stderr
    assert read_csv(out)[0]["preempt"] == hostinfo.preempt_model()[0]


@pytest.mark.parametrize("args, message", [
    (["--preempt", "sometimes"], "'--preempt'"),
    (["--backend", "kernel", "--preempt", "full"], "--preempt is for the simulator"),
])
def test_bad_preempt_is_one_line_and_exit_2(args, message):
    r = run("run-proc-vs-map", *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
