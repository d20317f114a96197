# SPDX-License-Identifier: GPL-2.0-or-later
"""Build glue: the cffi extension (procvma._core) and the kernel backend's
mapper executable, which must be a process of its own so that its address
space is as small as the reference harness's mapper."""

import importlib.util
import os
import subprocess

from setuptools import setup
from setuptools.command.build_ext import build_ext


def _read_sources():
    """csrc/sources.mk's lists, through the cffi builder's reader (loaded by
    path: building must not import the package it builds)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "procvma", "_build_core.py")
    spec = importlib.util.spec_from_file_location("_procvma_build_core", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.read_sources()


class BuildExtWithMapper(build_ext):
    """Also link csrc/kmapper/ into procvma/procvma-kmapper, next to the
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
               "-I", os.path.join(here, "csrc"), "-o", tmp]
        cmd += [os.path.join(here, "csrc", s)
                for s in _read_sources()["KMAPPER_SRCS"]]
        self.announce(" ".join(cmd), level=2)
        subprocess.run(cmd, check=True)
        os.replace(tmp, exe)


setup(
    cffi_modules=["procvma/_build_core.py:ffibuilder"],
    cmdclass={"build_ext": BuildExtWithMapper},
)
