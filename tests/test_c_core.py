# SPDX-License-Identifier: GPL-2.0-or-later
"""The C-level tests under tests/c, built against csrc/ and run as they are."""

import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CDIR = os.path.join(HERE, "c")
# A C test's exit status when this machine lacks what it tests, as a kernel
# selftest's; its line starting with SKIP says what.
KSFT_SKIP = 4


@pytest.fixture(scope="module")
def built():
    subprocess.run(["make", "-s", "-C", CDIR, "all"], check=True)
    return os.path.join(CDIR, "build")


@pytest.mark.parametrize("name", sorted(f[:-2] for f in os.listdir(CDIR)
                                        if f.startswith("test_") and f.endswith(".c")))
def test_c(built, name):
    r = subprocess.run([os.path.join(built, name)], capture_output=True,
                       text=True, timeout=120)
    if r.returncode == KSFT_SKIP:
        pytest.skip(next((line[len("SKIP"):].lstrip(" :")
                          for line in r.stdout.splitlines()
                          if line.startswith("SKIP")), "no reason given"))
    assert r.returncode == 0, r.stdout + r.stderr
