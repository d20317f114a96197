# SPDX-License-Identifier: GPL-2.0-or-later
"""What the driver does with what a sample reports: a failed sample stops
the run with the finished ones kept; a sample cut short is never kept."""

import io
import threading

import click
import pytest

from procvma.cli import common
from procvma.results import machines, schema
from procvma.run import rounds, runner
from procvma.run.plan import make_plan


class FakeCore:
    """Stands in for procvma.run.core: sample k reports outcomes[k-1]."""

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.stopped = threading.Event()
        self.seeds = []

    def bench_reset_stop(self):
        self.stopped.clear()

    def bench_stop(self):
        self.stopped.set()

    def bench_run(self, params):
        self.seeds.append(params["seed"])
        what = self.outcomes.pop(0)
        if what == "block":
            # Like pv_bench_run(): returns, cut short, once stopped.
            self.stopped.wait(10)
            return dict(sample(0.5), interrupted=1)
        return what


def sample(opavg, err=0, errmsg=""):
    return {"nmaps": 10, "nunmaps": 10, "opavg_ms": opavg, "opmax_ms": 2 * opavg,
            "hang": 0, "walks": 5, "interrupted": 0, "err": err,
            "errmsg": errmsg}


@pytest.fixture
def plan():
    return make_plan({"procfile": "smaps_rollup", "nsamples": 3, "seed": 10,
                      "lock": "vma", "cpumapper": 0, "cpuscript": 0,
                      "cpubusytasks": 0, "nbusycpus": 1}, usable={0})


def run_with(monkeypatch, plan, core, writer=None, load=None):
    monkeypatch.setattr(runner, "load_core", lambda: core)
    monkeypatch.setattr(runner, "pin_driver", lambda cpu: None)
    # An idle machine unless the test says otherwise: the real one's load
    # would decide whether a warning is printed.
    loads = iter(load or [])
    monkeypatch.setattr(runner, "_machine_load", lambda: next(
        loads, {"loadavg1": 0.1, "procs_running": 1, "others_running": 0}))
    out = io.StringIO()
    points = [(rounds.design_title(plan.sample, d), dict(plan.sample, lock=d))
              for d in plan.designs]
    status = rounds.run_points(points, plan, writer=writer, out=out)
    return status, out.getvalue()


class ListWriter:
    def __init__(self):
        self.rows = []

    def write(self, row):
        self.rows.append(row)

    def close(self):
        pass


def test_samples_get_consecutive_seeds_and_all_reach_the_csv(monkeypatch, plan):
    core = FakeCore([sample(0.1), sample(0.3), sample(0.2)])
    w = ListWriter()
    status, out = run_with(monkeypatch, plan, core, w)
    assert status == 0
    assert core.seeds == [10, 11, 12]
    assert [r["sample"] for r in w.rows] == [1, 2, 3]
    assert "    1     0.200     0.100     0.600       \n" in out


def test_a_failed_sample_ends_the_run_keeping_the_finished_ones(
        monkeypatch, plan, capsys):
    core = FakeCore([sample(0.1), sample(0, err=12, errmsg="vm.max_map_count 65530 exceeded")])
    w = ListWriter()
    status, out = run_with(monkeypatch, plan, core, w)
    assert status == 1
    assert len(w.rows) == 1
    assert "    1     0.100     0.100     0.200       \n" in out
    err = capsys.readouterr().err.splitlines()
    # Off a terminal: one progress line for the table, then the error.
    assert err[0].startswith("[1/1 vma] 1 sample in 0s: median opavg 0.100 ms")
    assert err[1:] == ["run-proc-vs-map: error: --lock vma, sample 2: "
                       "vm.max_map_count 65530 exceeded"]


def test_ctrl_c_stops_the_sample_and_discards_it(monkeypatch, plan):
    core = FakeCore([sample(0.1), "block"])
    w = ListWriter()
    timer = threading.Timer(0.3, lambda: __import__("_thread").interrupt_main())
    timer.start()
    status, out = run_with(monkeypatch, plan, core, w)
    timer.join()
    assert status == common.EXIT_INTERRUPTED
    assert core.stopped.is_set()
    assert len(w.rows) == 1
    assert "    1     0.100     0.100     0.200       \n" in out


def test_a_full_disk_keeps_the_rows_written_and_prints_the_table(
        monkeypatch, plan, tmp_path, capsys):
    import errno
    import os

    from procvma.results.csvio import ResultsWriter, read_results

    path = tmp_path / "out.csv"
    w = ResultsWriter.open(str(path))
    real_write, calls = os.write, []

    def fill_up(fd, data):
        if fd == w.fd:
            calls.append(1)
            if len(calls) == 2:     # row 1 fits, row 2 finds the disk full
                real_write(fd, bytes(data[:10]))
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", fill_up)
    full = [dict(dict.fromkeys(schema.FIGURE_COLUMNS, 0), **sample(v))
            for v in (0.1, 0.3, 0.2)]
    core = FakeCore(full)
    status, out = run_with(monkeypatch, plan, core, w)
    monkeypatch.setattr(os, "write", real_write)
    assert status == 1
    assert len(core.seeds) == 2         # the run stopped there
    # Both finished samples are in the table; the CSV has the first, whole.
    assert "    1     0.200     0.100     0.600       \n" in out
    assert list(read_results(path)["opavg_ms"]) == [0.1]
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (f"run-proc-vs-map: error: --csv {path}: cannot write: "
                       "No space left on device; the rows before this one "
                       "are intact (1 from this run)")


@pytest.mark.parametrize("signame, status", [("SIGTERM", 143),
                                             ("SIGHUP", 129)])
def test_sigterm_and_sighup_stop_the_run_as_ctrl_c_does(
        monkeypatch, plan, capsys, signame, status):
    import os
    import signal

    core = FakeCore([sample(0.1), "block"])
    w = ListWriter()
    sig = getattr(signal, signame)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), sig))
    timer.start()
    got, out = run_with(monkeypatch, plan, core, w)
    timer.join()
    assert got == status
    assert core.stopped.is_set()
    assert len(w.rows) == 1
    assert "    1     0.100     0.100     0.200       \n" in out
    assert (f"interrupted by {signame}: 1 finished sample(s) of this table "
            "kept") in capsys.readouterr().err
    # The handlers are the caller's again.
    assert signal.getsignal(sig) in (signal.SIG_DFL, signal.SIG_IGN)


def test_samples_with_no_scanner_pass_are_counted(monkeypatch, plan, capsys):
    core = FakeCore([dict(sample(0.1), walks=0), sample(0.3),
                     dict(sample(0.2), walks=0)])
    w = ListWriter()
    status, _ = run_with(monkeypatch, plan, core, w)
    assert status == 0
    assert [r["no_pass"] for r in w.rows] == [1, 0, 1]
    err = capsys.readouterr().err
    assert ("run-proc-vs-map: warning: [1/1 vma] 2 of 3 sample(s) in which "
            "no scanner completed a pass of /proc/PID/smaps_rollup") in err


def test_a_busy_machine_is_warned_about_once(monkeypatch, capsys):
    plan = make_plan({"procfile": "smaps_rollup", "nsamples": 4, "seed": 1,
                      "cpumapper": 0, "cpuscript": 0, "cpubusytasks": 1,
                      "nbusycpus": 1}, usable={0, 1})
    assert plan.designs == ["mmap", "vma"]
    monkeypatch.setattr(machines.hostinfo, "cpus_online", lambda: [0, 1])
    idle = {"loadavg1": 0.2, "procs_running": 1, "others_running": 0}
    busy = {"loadavg1": 2.5, "procs_running": 3, "others_running": 2}
    core = FakeCore([sample(0.1)] * 8)
    # 2 of 8 samples started with two other runnable tasks, and the run
    # uses both CPUs: busy.
    status, _ = run_with(monkeypatch, plan, core, load=[busy, idle, idle,
                                                        idle, busy] + [idle] * 3)
    err = capsys.readouterr().err
    assert status == 0
    assert err.count("warning: the machine was busy") == 1
    assert ("at the start of 2 of 8 samples, 2 other task(s) were runnable, "
            "with 0 CPU(s) to spare besides the run's 2 (1-min load average "
            "up to 2.50)") in err
    # One sample in eight is a passing kernel thread, not a busy machine.
    core = FakeCore([sample(0.1)] * 8)
    run_with(monkeypatch, plan, core, load=[busy] + [idle] * 7)
    assert "busy" not in capsys.readouterr().err


def test_progress_per_sample_on_a_terminal_per_table_elsewhere(capsys):
    row = dict(sample(0.25), sample=1)
    tty = rounds.Progress(4, tty=True)
    tty.sample("[1/2 mmap]", row, 2, rounds.opavg_opmax)
    tty.table("[1/2 mmap]", [row], rounds.opavg_opmax)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("[1/2 mmap] sample 1/2: opavg 0.250 ms, "
                             "opmax 0.500 ms; ETA ")
    log = rounds.Progress(4, tty=False)
    log.sample("[1/2 mmap]", row, 2, rounds.opavg_opmax)
    log.table("[1/2 mmap]", [row, row], rounds.opavg_opmax)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("[1/2 mmap] 2 samples in ")
    assert err[0].endswith(": median opavg 0.250 ms, opmax 0.500 ms")
    for quiet in (rounds.Progress(4, quiet=True, tty=True),
                  rounds.Progress(4, quiet=True, tty=False)):
        quiet.sample("[1/2 mmap]", row, 2, rounds.opavg_opmax)
        quiet.table("[1/2 mmap]", [row], rounds.opavg_opmax)
    assert capsys.readouterr().err == ""


def both_plan(**over):
    return make_plan(dict({"procfile": "smaps_rollup", "nsamples": 3,
                           "seed": 10, "cpumapper": 0, "cpuscript": 0,
                           "cpubusytasks": 0, "nbusycpus": 1}, **over),
                     usable={0})


class DesignCore(FakeCore):
    """Each design's samples from its own list, whatever the order asked."""

    def __init__(self, by_lock):
        super().__init__([])
        self.by_lock = {k: list(v) for k, v in by_lock.items()}
        self.locks = []

    def bench_run(self, params):
        self.seeds.append(params["seed"])
        self.locks.append(params["lock"])
        what = self.by_lock[params["lock"]].pop(0)
        if what == "block":
            self.stopped.wait(10)
            return dict(sample(0.5), interrupted=1)
        return what


def test_both_designs_alternate_sample_by_sample_with_one_seed_a_round(
        monkeypatch):
    core = DesignCore({"mmap": [sample(v) for v in (0.2, 0.4, 0.3)],
                       "vma": [sample(v) for v in (0.01, 0.03, 0.02)]})
    w = ListWriter()
    status, out = run_with(monkeypatch, both_plan(), core, w)
    assert status == 0
    assert core.locks == ["mmap", "vma"] * 3
    assert core.seeds == [10, 10, 11, 11, 12, 12]
    assert [(r["lock"], r["sample"]) for r in w.rows] == [
        ("mmap", 1), ("vma", 1), ("mmap", 2), ("vma", 2), ("mmap", 3),
        ("vma", 3)]
    # Printed grouped by design, as before: the mmap table, then vma's.
    mmap = out.index("    1     0.300     0.200     0.800       \n")
    vma = out.index("    1     0.020     0.010     0.060       \n")
    assert out.index("before: --lock mmap") < mmap < \
        out.index("after: --lock vma") < vma


def test_ctrl_c_mid_round_keeps_every_design_s_finished_samples(
        monkeypatch, capsys):
    core = DesignCore({"mmap": [sample(0.2), sample(0.4)],
                       "vma": [sample(0.01), "block"]})
    w = ListWriter()
    timer = threading.Timer(0.3, lambda: __import__("_thread").interrupt_main())
    timer.start()
    status, out = run_with(monkeypatch, both_plan(), core, w)
    timer.join()
    assert status == common.EXIT_INTERRUPTED
    assert [r["lock"] for r in w.rows] == ["mmap", "vma", "mmap"]
    assert "    1     0.300     0.200     0.800       \n" in out
    assert "    1     0.010     0.010     0.020       \n" in out
    assert ("interrupted: 3 finished sample(s) of these 2 tables kept"
            in capsys.readouterr().err)


def auto_lines(err):
    return [ln for ln in err.splitlines() if "--nsamples auto:" in ln]


def test_auto_stops_once_the_designs_ratio_is_decided(monkeypatch, capsys):
    # vma 10x faster, within +-5% from round to round: decided as soon as
    # the confidence sequence bounds the median (10 rounds).
    spread = [1 + 0.01 * ((7 * i) % 11 - 5) for i in range(40)]
    core = DesignCore({"mmap": [sample(0.2 * s) for s in spread],
                       "vma": [sample(0.02) for _ in spread]})
    w = ListWriter()
    status, out = run_with(monkeypatch, both_plan(nsamples="auto"), core, w)
    assert status == 0
    n = len(w.rows) // 2
    assert 8 <= n < 40 and [r["lock"] for r in w.rows] == ["mmap", "vma"] * n
    lines = auto_lines(capsys.readouterr().err)
    assert len(lines) == 1
    assert lines[0].startswith(f"run-proc-vs-map: --nsamples auto: stopped "
                               f"after {n} rounds ({2 * n} samples, ")
    assert ("decided: --lock vma faster: mmap/vma median opavg "
            "ratio 10.0x, 95% confidence sequence 9.") in lines[0]
    assert lines[0].endswith("(narrower than +-10%)")


def test_auto_stops_at_max_samples_when_the_samples_cannot_decide(
        monkeypatch, capsys):
    import random

    rng = random.Random(3)
    noisy = [sample(rng.uniform(0.05, 0.5)) for _ in range(12)]
    core = DesignCore({"mmap": noisy})
    plan = both_plan(nsamples="auto", max_samples=12, lock="mmap")
    w = ListWriter()
    status, _ = run_with(monkeypatch, plan, core, w)
    assert status == 0 and len(w.rows) == 12
    lines = auto_lines(capsys.readouterr().err)
    assert lines[0].startswith("run-proc-vs-map: --nsamples auto: reached "
                               "--max-samples 12 (12 samples, ")
    assert "wider than +-10%" in lines[0]


def test_auto_on_one_design_stops_when_its_median_is_precise(
        monkeypatch, capsys):
    values = [0.2 * (1 + 0.01 * ((3 * i) % 7 - 3)) for i in range(40)]
    core = DesignCore({"vma": [sample(v) for v in values]})
    w = ListWriter()
    status, _ = run_with(monkeypatch, both_plan(nsamples="auto", lock="vma"),
                         core, w)
    assert status == 0 and len(w.rows) < 40
    line = auto_lines(capsys.readouterr().err)[0]
    assert "decided: median opavg 0.200 ms (95% confidence sequence" in line


@pytest.mark.parametrize("args, message", [
    ({"max_samples": 5}, "--max-samples is for --nsamples auto"),
    ({"precision": 0.2}, "--precision is for --nsamples auto")])
def test_auto_options_need_auto(args, message):
    import click

    with pytest.raises(click.UsageError, match=message):
        both_plan(**args)


def test_auto_pairs_each_configuration_s_two_designs_as_a_sweep_runs_them():
    from procvma.run.autostop import groups_of

    plan = both_plan()
    points = [rounds.Point(dict(plan.sample, busyduration=bd, lock=lock),
                             f"[{i}/5 {lock}]", "")
              for i, (bd, lock) in enumerate(
                  [(2, "mmap"), (2, "vma"), (5, "mmap"), (5, "vma"),
                   (10, "vma")], 1)]
    groups = groups_of(points, "mmap")
    assert [[p.tag for p in g] for g in groups] == [
        ["[1/5 mmap]", "[2/5 vma]"], ["[3/5 mmap]", "[4/5 vma]"],
        ["[5/5 vma]"]]


@pytest.mark.parametrize("ratio, rounds, verdict", [
    (40.0, 10, "holds"),        # every round clears 10: the fewest rounds
    (2.0, 10, "fails"),         # every round falls short
    (10.0, 16, "undecided"),    # on the bound: the cap
])
def test_auto_with_require_stops_when_the_bound_is_decided(
        monkeypatch, capsys, ratio, rounds, verdict):
    spread = [1 + 0.01 * ((7 * i) % 11 - 5) for i in range(40)]
    core = DesignCore({"mmap": [sample(0.02 * ratio * s) for s in spread],
                       "vma": [sample(0.02) for _ in spread]})
    w = ListWriter()
    plan = both_plan(nsamples="auto", max_samples=16,
                     requirements=("mmap/vma>=10",))
    status, out = run_with(monkeypatch, plan, core, w)
    assert status == 0
    assert len(w.rows) == 2 * rounds
    (line,) = auto_lines(capsys.readouterr().err)
    assert f"mmap/vma>=10 {verdict}: median opavg ratio" in line


def test_require_is_for_auto_and_names_measured_designs():
    with pytest.raises(click.UsageError, match="--require is for --nsamples auto"):
        both_plan(requirements=("mmap/vma>=10",))
    with pytest.raises(click.UsageError, match="not among the designs"):
        both_plan(nsamples="auto", lock="mmap", requirements=("mmap/vma>=10",))
    with pytest.raises(click.UsageError, match="bad --require"):
        both_plan(nsamples="auto", requirements=("mmap/vma=10",))
