# SPDX-License-Identifier: GPL-2.0-or-later
"""What the driver does with what a sample reports: a failed sample stops
the run with the finished ones kept; a sample cut short is never kept."""

import io
import threading

import pytest

from procvma import commands, runner
from procvma.options import make_plan


class FakeCore:
    """Stands in for procvma.core: sample k reports outcomes[k-1]."""

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


def run_with(monkeypatch, plan, core, writer=None):
    monkeypatch.setattr(runner, "load_core", lambda: core)
    monkeypatch.setattr(runner, "pin_driver", lambda cpu: None)
    out = io.StringIO()
    points = [(commands.design_title(plan.sample, d), dict(plan.sample, lock=d))
              for d in plan.designs]
    status = commands.run_points(points, plan, writer=writer, out=out)
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
    err = capsys.readouterr().err
    assert err == ("run-proc-vs-map: error: --lock vma, sample 2: "
                   "vm.max_map_count 65530 exceeded\n")


def test_ctrl_c_stops_the_sample_and_discards_it(monkeypatch, plan):
    core = FakeCore([sample(0.1), "block"])
    w = ListWriter()
    timer = threading.Timer(0.3, lambda: __import__("_thread").interrupt_main())
    timer.start()
    status, out = run_with(monkeypatch, plan, core, w)
    timer.join()
    assert status == commands.EXIT_INTERRUPTED
    assert core.stopped.is_set()
    assert len(w.rows) == 1
    assert "    1     0.100     0.100     0.200       \n" in out
