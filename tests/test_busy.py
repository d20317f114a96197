# SPDX-License-Identifier: GPL-2.0-or-later
"""The busy check counts no task of the run's own: at a sample's start a
task of the previous sample may still be on its way out (a thread after
pthread_join(), the last cat of a shell loop), and only tasks that are
not the run's count as another task's load."""

import os
import shlex
import subprocess
import sys
import time

import pytest

from procvma.host import hostinfo
from procvma.results import machines
from procvma.run import runner

SPIN = [sys.executable, "-c", "while True: pass"]


def wait_running(pid, timeout=10):
    """Until task pid is in state R (a spinner is, once it spins)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = hostinfo._stat_fields(f"/proc/{pid}/stat")
        if got and got[0][0] == "R":
            return
        time.sleep(0.01)
    pytest.fail(f"task {pid} never ran")


@pytest.fixture
def spinners():
    """(run, own, foreign): a process standing for the run, a spinner it
    started (a task of the run's still running), and a spinner of
    someone else's."""
    run = subprocess.Popen(["sh", "-c", f"{shlex.join(SPIN)} & echo $!; wait"],
                           stdout=subprocess.PIPE, text=True)
    own = int(run.stdout.readline())
    foreign = subprocess.Popen(SPIN)
    try:
        wait_running(own)
        wait_running(foreign.pid)
        yield run.pid, own, foreign.pid
    finally:
        for pid in (own, foreign.pid):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        foreign.wait()
        run.wait()


def test_a_runnable_task_of_the_run_is_not_counted_a_foreign_one_is(spinners):
    run, own, foreign = spinners
    mine, others = ([tid for tid, _ in tasks]
                    for tasks in hostinfo.runnable_tasks(run))
    assert foreign in others and foreign not in mine
    assert own in mine and own not in others
    # Nor is the looking thread, nor any thread of this process, when
    # this process is the run: both spinners descend from it.
    mine, others = ([tid for tid, _ in tasks]
                    for tasks in hostinfo.runnable_tasks(os.getpid()))
    assert {os.getpid(), own, foreign} <= set(mine)
    assert not {os.getpid(), own, foreign} & set(others)


def test_a_sample_start_counts_the_fewest_others_of_a_few_looks(monkeypatch):
    monkeypatch.setattr(runner, "RUNNABLE_LOOK_GAP_S", 0)
    me = [(os.getpid(), "procvma")]
    # Four tasks runnable by /proc/stat: this thread, one of the run's
    # own on its way out, and a foreign one, which every look finds, with
    # a kernel thread passing at one.
    monkeypatch.setattr(hostinfo, "procs_running", lambda: 4)
    exiting = me + [(6, "pv_bench_run")]
    looks = iter([(exiting, [(7, "cc1"), (8, "kworker/0:1")]),
                  (exiting, [(7, "cc1")]), (exiting, [(7, "cc1"), (9, "x")]),
                  (exiting, [(7, "cc1")]), (exiting, [(7, "cc1")])])
    monkeypatch.setattr(hostinfo, "runnable_tasks", lambda pid: next(looks))
    load = runner._machine_load()
    assert load["procs_running"] == 4
    # Two at every look by the count (4 less the run's 2), one by /proc:
    # a task /proc does not show (another PID namespace's) still counts.
    assert load["others_running"] == 2

    # Runnable tasks, all the run's own: the first look settles it.
    calls = []
    monkeypatch.setattr(hostinfo, "procs_running", lambda: 2)
    monkeypatch.setattr(hostinfo, "runnable_tasks", lambda pid: calls.append(
        pid) or (me + [(6, "cat")], []))
    assert runner._machine_load()["others_running"] == 0
    assert calls == [os.getpid()]

    # An idle machine: this thread alone is runnable, and no task's
    # state is read at all.
    monkeypatch.setattr(hostinfo, "procs_running", lambda: 1)
    monkeypatch.setattr(hostinfo, "runnable_tasks",
                        lambda pid: pytest.fail("read every task's state"))
    assert runner._machine_load()["others_running"] == 0


def test_busy_is_judged_by_the_others_not_by_procs_running():
    params = {"cpumapper": 0, "cpubusytasks": 1, "nbusycpus": 1}
    # /proc/stat saw the run's own tasks at every start: not busy.
    own = [{"procs_running": 3, "others_running": 0, "loadavg1": 0.1}] * 5
    assert machines.machine_was_busy(own, params, [0, 1]) is None
    busy = [{"procs_running": 3, "others_running": 1, "loadavg1": 1.1}] * 5
    said = machines.machine_was_busy(busy, params, [0, 1])
    assert said.startswith("the machine was busy: at the start of 5 of 5 "
                           "samples, 1 other task(s) were runnable")
