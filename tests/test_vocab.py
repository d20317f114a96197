# SPDX-License-Identifier: GPL-2.0-or-later
"""The vocabulary (procvma/vocab.py) and the C core name the same things:
every word's C constant exists, and every constant of a closed set in the
C headers has its word (test_walkers checks the procfiles' names)."""

import ast
import errno
import os
import re

import pytest

from procvma import vocab
from procvma._core import ffi, lib

CSRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "csrc")
HEADERS = ["kernel/uapi.h", "kernel/api.h", "harness/api.h"]
# Each set's constants in the C headers, by prefix.
PREFIXES = {"BACKEND": "PV_BACKEND_", "LOCK": "PV_LOCK_", "PROCFILE": "PV_PROC_",
            "SCANNER": "PV_SCANNER_", "PREEMPT": "PV_PREEMPT_", "INJECT": "PV_INJECT_"}


def header_constants(prefix):
    names = set()
    for h in HEADERS:
        with open(os.path.join(CSRC, h)) as f:
            names |= set(re.findall(rf"^#define ({prefix}\w+)\s", f.read(), re.M))
    return names - {"PV_INJECT_NONE"}


@pytest.mark.parametrize("name", sorted(PREFIXES))
def test_each_sets_words_and_the_c_constants_agree(name):
    words = getattr(vocab, name)
    consts = {w.const for w in words}
    assert consts == header_constants(PREFIXES[name])
    values = [getattr(lib, c) for c in consts]
    assert len(set(values)) == len(values)


@pytest.mark.parametrize("name", ["LOCK", "PROCFILE", "SCANNER", "BACKEND", "PREEMPT"])
def test_numbered_sets_count_from_zero_in_the_vocabularys_order(name):
    # torture's bit masks (1 << PV_PROC_*) and the C tables indexed by
    # them rely on it.
    words = getattr(vocab, name)
    assert sorted(getattr(lib, w.const) for w in words) == list(range(len(words)))
    if name in ("LOCK", "PROCFILE", "PREEMPT"):
        assert [getattr(lib, w.const) for w in words] == list(range(len(words)))


def test_each_design_reads_what_the_c_core_says_it_reads():
    for w in vocab.LOCK:
        lock = getattr(lib, w.const)
        assert ffi.string(lib.pv_lock_name(lock)).decode() == w
        assert lib.pv_lock_lookup(w.encode()) == lock
        for pf in vocab.PROCFILE:
            rc = lib.pv_lock_check(lock, getattr(lib, pf.const))
            assert rc in (0, -errno.EOPNOTSUPP)
            try:
                vocab.check_lock_procfile(w, pf)
                assert rc == 0, (w, pf)
            except ValueError as e:
                assert rc == -errno.EOPNOTSUPP, (w, pf)
                assert str(e).startswith(f"--lock {w} reads ") and "\n" not in str(e)
        assert (lib.pv_lock_check_query(lock) == 0) == w.query
    assert lib.pv_lock_name(lib.PV_NR_LOCKS) == ffi.NULL
    assert len(vocab.LOCK) == lib.PV_NR_LOCKS


def test_defaults_are_words_of_their_set():
    for v in vocab.VOCABULARIES:
        assert v.default is None or v.default in v.choices(), v.option
        assert v.default is not None or v.default_from or v is vocab.INJECT, v.option


def test_a_word_carries_its_constraints():
    assert vocab.check_scanner_procfile("read", "smaps") is None
    with pytest.raises(ValueError, match="--procfile maps"):
        vocab.check_scanner_procfile("query", "smaps_rollup")
    assert vocab.pass_cost_scanner("query") == "read"
    assert vocab.CALIBRATED_SCANNERS[0] == vocab.SCANNER.default
    assert vocab.LOCK.expand("both") == ["mmap", "vma"]
    with pytest.raises(ValueError, match="--scanner nope: not one of cat, read, query"):
        vocab.SCANNER.check("nope")


def test_each_scanner_word_is_spelled_once_in_the_package():
    pkg = os.path.dirname(vocab.__file__)
    spelled = {w: [] for w in vocab.SCANNER}
    for name in sorted(os.listdir(pkg)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(pkg, name)) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in spelled:
                spelled[node.value].append(f"{name}:{node.lineno}")
    assert {w: len(where) for w, where in spelled.items()} == dict.fromkeys(spelled, 1), spelled
