# SPDX-License-Identifier: GPL-2.0-or-later
"""The benchmark half of the cffi binding: a sample's parameters as a dict
in, what it measured as a dict out.

Keys of the parameter dict are the CSV's names for the same things
(procvma/results/schema.py); this module alone knows the C struct's field names.
"""

import os

from procvma import vocab
from procvma._core import ffi, lib
from procvma.host import hostinfo
from procvma.sim import calibration
from procvma.sim.simmm import LOCKS, PREEMPT

BACKENDS = vocab.BACKEND.constants(lib)
SCANNERS = vocab.SCANNER.constants(lib)

# The reference kills the busy tasks of a sample still running this long
# after its expected end.
HANG_TIMEOUT_S = 5.0

# Built by setup.py next to the extension (procvma/, one folder up).
KMAPPER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "procvma-kmapper")


def _set_str(field, text):
    raw = text.encode()
    if len(raw) >= len(field):
        raise ValueError(f"{text!r} is too long ({len(field) - 1} bytes at most)")
    field[0:len(raw) + 1] = raw + b"\0"


def make_config(params, trace_marker_fd=None, ktrace=None):
    """struct pv_bench_config from a parameter dict; with trace_marker_fd
    (kernel backend), the sample marks its start and end there; with
    ktrace (a pv_ktrace_open() handle), it tells the BPF trace."""
    cfg = ffi.new("struct pv_bench_config *")
    backend = params.get("backend", vocab.BACKEND.default)
    cfg.backend = BACKENDS[backend]
    cfg.scanner = SCANNERS[params.get("scanner") or vocab.SCANNER.default]
    if params.get("scanner") == vocab.SCANNER.custom:
        _set_str(cfg.scanner_command, params["scanner_command"])
    if backend == vocab.BACKEND.sim:
        cfg.lock = LOCKS[params["lock"]]
        cfg.preempt = PREEMPT[params.get("preempt") or hostinfo.preempt_model()[0]]
    else:
        _set_str(cfg.mapper_path, KMAPPER)
        if trace_marker_fd is not None:
            cfg.trace = 1
            cfg.trace_marker_fd = trace_marker_fd
        if ktrace is not None:
            cfg.ktrace = ktrace
    _set_str(cfg.procfile, params["procfile"])
    cfg.cpumapper = params["cpumapper"]
    cfg.cpuscript = params["cpuscript"]
    cfg.cpubusytasks = params["cpubusytasks"]
    cfg.nbusycpus = params["nbusycpus"]
    cfg.nbusytasks = params["nbusytasks"]
    cfg.busyduration_ms = params["busyduration"]
    cfg.duration_s = params["duration"]
    cfg.hang_timeout_s = params.get("hang_timeout", HANG_TIMEOUT_S)
    cfg.region_pages = params["region_pages"]
    cfg.holes = params.get("holes", 0)
    cfg.seed = params["seed"]
    cfg.max_map_count = params.get("max_map_count", 0)
    if backend == vocab.BACKEND.sim:
        # The calibrated host costs, unless the caller gave its own.
        knobs = calibration.sim_knobs(params)
        cfg.op_cost_ns = knobs["op_cost_ns"]
        cfg.walk_cost_ns = knobs["walk_cost_ns"]
        cfg.text_cost_ns = knobs["text_cost_ns"]
        cfg.pass_cost_ns = knobs["pass_cost_ns"]
    return cfg


def sample_to_dict(out):
    """Every field of a struct pv_sample, by its C name."""
    d = {}
    for name, _ in ffi.typeof("struct pv_sample").fields:
        if name == "errmsg":
            d[name] = ffi.string(out.errmsg).decode(errors="replace")
        else:
            d[name] = getattr(out, name)
    return d


def bench_run(params, trace_marker_fd=None, ktrace=None):
    """Run one sample; blocks for about params["duration"] seconds.  The
    GIL is released inside (cffi does that for every C call), so another
    thread may call bench_stop() meanwhile."""
    cfg = make_config(params, trace_marker_fd, ktrace)
    out = ffi.new("struct pv_sample *")
    rc = lib.pv_bench_run(cfg, out)
    d = sample_to_dict(out)
    if rc < 0 and not d["err"]:
        d["err"] = -rc
    return d


def bench_stop():
    lib.pv_bench_stop()


def bench_reset_stop():
    lib.pv_bench_reset_stop()
