# SPDX-License-Identifier: GPL-2.0-or-later
"""Every test, and every command a test runs, sees the shipped calibration,
not a calibration the person running the tests stored for themselves.
Helpers more than one test file uses live here too."""

import os
import signal

import pytest
from click.testing import CliRunner


def invoke(cmd, *args):
    """Run a click command in this process, each argument as its text."""
    result = CliRunner().invoke(cmd, [str(a) for a in args])
    # Exit statuses come from the command, never from an escaped exception.
    assert result.exception is None or isinstance(result.exception,
                                                  SystemExit), result.output
    return result


@pytest.fixture(autouse=True, scope="session")
def sigint_delivered():
    """The Ctrl-C tests need SIGINT to arrive.  A test run started in the
    background by a non-interactive shell (`make test &` in a script)
    begins with SIGINT ignored, which Python and every command it starts
    would keep; handled here, it reaches this process as KeyboardInterrupt,
    and exec gives the commands the tests start its default action."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


@pytest.fixture(autouse=True, scope="session")
def shipped_calibration(tmp_path_factory):
    path = tmp_path_factory.mktemp("calibration") / "none.json"
    old = os.environ.get("PROCVMA_CALIBRATION")
    os.environ["PROCVMA_CALIBRATION"] = str(path)
    yield
    if old is None:
        del os.environ["PROCVMA_CALIBRATION"]
    else:
        os.environ["PROCVMA_CALIBRATION"] = old


@pytest.fixture(autouse=True)
def cpu_affinity():
    """A run pins this process to --cpuscript, as the reference pins its
    driver; each test starts with the CPUs the session started with, so
    that one test's run does not shrink the next one's layout."""
    cpus = os.sched_getaffinity(0)
    yield
    os.sched_setaffinity(0, cpus)


@pytest.fixture
def holes():
    """A simulated 10-page region with two single-page holes:

        0123456789
        ***-**-***
    """
    from procvma.sim.simmm import SimMM

    with SimMM(10) as mm:
        mm.munmap(3)
        mm.munmap(6)
        yield mm
