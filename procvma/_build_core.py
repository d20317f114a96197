# SPDX-License-Identifier: GPL-2.0-or-later
"""cffi builder for procvma._core: the C core under csrc/."""

import os
import shlex
import subprocess

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# setuptools wants sources relative to setup.py, which is where it runs us.
CSRC = "csrc"

# The C core's translation units; the kernel mapper (kmapper.c) is an
# executable of its own and is built by setup.py.
SOURCES = [
    "rwsem.c",
    "mmap_lock.c",
    "vma_tree.c",
    "mm.c",
    "task_mmu.c",
    "torture.c",
    "hist.c",
    "bench_sim.c",
    "bench_kernel.c",
    "bench_common.c",
    "calib.c",
]


def _pkg_config(*args):
    out = subprocess.run(["pkg-config", *args], check=True,
                         capture_output=True, text=True).stdout
    return shlex.split(out)


def _cdef_text():
    # api.h is kept cdef-parseable (cffi skips its comments), so it is read as is.
    with open(os.path.join(ROOT, CSRC, "api.h")) as f:
        return f.read()


ffibuilder = FFI()
ffibuilder.cdef(_cdef_text())

_extra = shlex.split(os.environ.get("PROCVMA_CFLAGS", ""))
ffibuilder.set_source(
    "procvma._core",
    '#include "procvma.h"',
    sources=[os.path.join(CSRC, s) for s in SOURCES],
    include_dirs=[CSRC],
    extra_compile_args=["-std=gnu11", "-O2", "-Wall", "-Wextra",
                        "-Wno-unused-parameter", "-pthread"]
    + _pkg_config("--cflags", "liburcu-memb", "liburcu-cds") + _extra,
    extra_link_args=["-pthread"]
    + _pkg_config("--libs", "liburcu-memb", "liburcu-cds")
    + shlex.split(os.environ.get("PROCVMA_LDFLAGS", "")),
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
