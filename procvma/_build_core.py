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
API_HEADERS = ["kernel/uapi.h", "kernel/sched_api.h", "kernel/api.h", "harness/api.h",
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


# The BPF lock trace (harness/ktrace.c) is built in where its tools are:
# clang for the BPF object, bpftool for vmlinux.h (from the running
# kernel's BTF) and the skeleton, libbpf to load it.  Both generated
# headers go to the build directory, never into the source tree.
BPF_BUILD = os.path.join(ROOT, "build", "bpf")
BTF = "/sys/kernel/btf/vmlinux"


def bpf_missing():
    """Why the BPF engine cannot be built here, or None."""
    import shutil
    for tool in ("clang", "bpftool"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            return f"no {tool}"
    if subprocess.run(["pkg-config", "--exists", "libbpf"]).returncode:
        return "no libbpf (pkg-config libbpf)"
    if not os.path.exists(BTF):
        return f"no kernel BTF ({BTF})"
    return None


def _tool(name):
    import shutil
    return shutil.which(name) or f"/usr/sbin/{name}"


# clang's -D__TARGET_ARCH_* for this machine (bpf_tracing.h's register
# layouts), by uname -m.
BPF_ARCH = {"x86_64": "x86", "aarch64": "arm64", "ppc64le": "powerpc",
            "s390x": "s390", "riscv64": "riscv", "loongarch64": "loongarch"}


def build_bpf(sources):
    """Compile the BPF programs and generate their skeleton into BPF_BUILD;
    returns the include directory."""
    os.makedirs(BPF_BUILD, exist_ok=True)
    vmlinux = os.path.join(BPF_BUILD, "vmlinux.h")
    with open(vmlinux + ".tmp", "w") as f:
        subprocess.run([_tool("bpftool"), "btf", "dump", "file", BTF, "format", "c"],
                       check=True, stdout=f)
    os.replace(vmlinux + ".tmp", vmlinux)
    for src in sources:
        name = os.path.basename(src).split(".")[0]
        obj = os.path.join(BPF_BUILD, f"{name}.bpf.o")
        subprocess.run([_tool("clang"), "-g", "-O2", "-target", "bpf",
                        f"-D__TARGET_ARCH_{BPF_ARCH.get(os.uname().machine, 'x86')}",
                        "-Wall", "-Werror",
                        "-I", BPF_BUILD, "-c", os.path.join(ROOT, CSRC, src),
                        "-o", obj], check=True)
        skel = os.path.join(BPF_BUILD, f"{name}.skel.h")
        with open(skel + ".tmp", "w") as f:
            subprocess.run([_tool("bpftool"), "gen", "skeleton", obj,
                            "name", f"pv_{name}"], check=True, stdout=f)
        os.replace(skel + ".tmp", skel)
    return BPF_BUILD


_lists = read_sources()
_bpf_flags, _bpf_libs, _bpf_dirs = [], [], []
_why_no_bpf = os.environ.get("PROCVMA_NO_BPF") and "PROCVMA_NO_BPF is set" or bpf_missing()
if _why_no_bpf is None:
    _bpf_dirs = [build_bpf(_lists["BPF_SRCS"])]
    _bpf_flags = ["-DPV_HAVE_BPF"] + pkg_config("--cflags", "libbpf")
    _bpf_libs = pkg_config("--libs", "libbpf")
else:
    print(f"procvma: building without the BPF lock trace: {_why_no_bpf}")

ffibuilder = FFI()
ffibuilder.cdef(_cdef_text())

_extra = shlex.split(os.environ.get("PROCVMA_CFLAGS", ""))
ffibuilder.set_source(
    "procvma._core",
    '#include "procvma.h"',
    sources=[os.path.join(CSRC, s)
             for s in (_lists["KERNEL_SRCS"] + _lists["HARNESS_SRCS"]
                       + _lists["TORTURE_SRCS"])],
    include_dirs=[CSRC] + _bpf_dirs,
    extra_compile_args=["-std=gnu11", "-O2", "-Wall", "-Wextra",
                        "-Wno-unused-parameter", "-pthread"]
    + pkg_config("--cflags", "liburcu-memb", "liburcu-cds") + _bpf_flags + _extra,
    extra_link_args=["-pthread"]
    + pkg_config("--libs", "liburcu-memb", "liburcu-cds") + _bpf_libs
    + shlex.split(os.environ.get("PROCVMA_LDFLAGS", "")),
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
