# SPDX-License-Identifier: GPL-2.0-or-later
"""Build glue: the cffi extension (procvma._core) and the kernel backend's
mapper executable, which must be a process of its own so that its address
space is as small as the reference harness's mapper."""

import os
import subprocess

from setuptools import setup
from setuptools.command.build_ext import build_ext


class BuildExtWithMapper(build_ext):
    """Also link csrc/kmapper.c into procvma/procvma-kmapper, next to the
    extension, so editable and wheel installs find it in the same place."""

    def run(self):
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        dest = os.path.dirname(self.get_ext_fullpath("procvma._core"))
        os.makedirs(dest, exist_ok=True)
        exe = os.path.join(dest, "procvma-kmapper")
        cc = os.environ.get("CC", "cc")
        # Link to a temporary name and rename, so that a benchmark running
        # meanwhile keeps executing the complete old binary.
        tmp = exe + ".tmp"
        cmd = [cc, "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror",
               "-o", tmp,
               os.path.join(here, "csrc", "kmapper.c"),
               os.path.join(here, "csrc", "hist.c")]
        self.announce(" ".join(cmd), level=2)
        subprocess.run(cmd, check=True)
        os.replace(tmp, exe)


setup(
    cffi_modules=["procvma/_build_core.py:ffibuilder"],
    cmdclass={"build_ext": BuildExtWithMapper},
)
