# SPDX-License-Identifier: GPL-2.0-or-later
"""cffi builder for procvma._core: the simulated kernel and the harness
under csrc/, whose source lists live in csrc/sources.mk alone."""

import os
import re
import shlex
import subprocess

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# setuptools wants sources relative to setup.py, which is where it runs us.
CSRC = "csrc"

# The API headers, in the order cffi must read them: the ground floor's
# constants and records first, which the others' declarations use.
API_HEADERS = ["kernel/uapi.h", "kernel/api.h", "harness/api.h",
               "torture/api.h"]

_ASSIGN = re.compile(r"^([A-Z_]+)\s*:=\s*(.*)$")


def read_sources(path=os.path.join(ROOT, CSRC, "sources.mk")):
    """{"KERNEL_SRCS": ["kernel/rwsem.c", ...], ...}: the "NAME := files"
    lines of csrc/sources.mk, which make reads too."""
    lists = {}
    with open(path) as f:
        for line in f:
            m = _ASSIGN.match(line.strip())
            if m:
                lists[m.group(1)] = m.group(2).split()
    return lists


def pkg_config(*args):
    out = subprocess.run(["pkg-config", *args], check=True,
                         capture_output=True, text=True).stdout
    return shlex.split(out)


# An API header's include guard, the only preprocessor conditional in it,
# and its includes of the headers before it in API_HEADERS.
_GUARD = re.compile(r"^#(ifndef|define|endif)\b.*\bPROCVMA_\w*API_H\b.*$"
                    r"|^#include \"[\w/]*api\.h\"$", re.M)


def _cdef_text():
    # The API headers are kept cdef-parseable (cffi skips their comments)
    # but for their include guards and includes, which cffi's parser does
    # not take: it reads each header itself, in order.
    text = []
    for name in API_HEADERS:
        with open(os.path.join(ROOT, CSRC, name)) as f:
            text.append(_GUARD.sub("", f.read()))
    return "\n".join(text)


_lists = read_sources()
ffibuilder = FFI()
ffibuilder.cdef(_cdef_text())

_extra = shlex.split(os.environ.get("PROCVMA_CFLAGS", ""))
ffibuilder.set_source(
    "procvma._core",
    '#include "procvma.h"',
    sources=[os.path.join(CSRC, s)
             for s in (_lists["KERNEL_SRCS"] + _lists["HARNESS_SRCS"]
                       + _lists["TORTURE_SRCS"])],
    include_dirs=[CSRC],
    extra_compile_args=["-std=gnu11", "-O2", "-Wall", "-Wextra",
                        "-Wno-unused-parameter", "-pthread"]
    + pkg_config("--cflags", "liburcu-memb", "liburcu-cds") + _extra,
    extra_link_args=["-pthread"]
    + pkg_config("--libs", "liburcu-memb", "liburcu-cds")
    + shlex.split(os.environ.get("PROCVMA_LDFLAGS", "")),
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
