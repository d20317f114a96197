# SPDX-License-Identifier: GPL-2.0-or-later
"""The simulator's calibrated costs: what each knob is, and where its
values come from.

The model does the kernel's locking and bookkeeping step by step but not
everything the host kernel pays for around them.  Four knobs add that
work back, each as a clock-based spin where the kernel spends it:

op_cost_ns    per mmap()/munmap(), after the mmap write lock is released:
              syscall entry and exit, page allocation and zeroing, TLB
              flush, none of which keeps a /proc reader out.  Host: the
              mapper's median opavg with no readers (the kernel backend,
              --nbusytasks 0), minus the simulator's own opavg for the
              same op stream with the knobs at 0.
walk_cost_ns  per page a smaps, smaps_rollup or numa_maps page walk
              visits, under whatever lock the walker holds (one spin per
              VMA).  Host: the extra time /proc/self/smaps_rollup takes
              with a populated region of anonymous base pages than
              without it, per page, minus the simulator's per-page walk
              cost.  One knob for the three walks: per page, the host's
              numa_maps walk costs about what its smaps_rollup walk does
              (gather_stats() and smaps_pte_entry() each look up the folio
              and its mapcount; 0.6 to 1.0 times, measured on the
              reference machine), and procvma calibrate prints both.
text_cost_ns  per byte of text a /proc file's show writes (a maps,
              smaps or numa_maps record, the rollup), once per record,
              under the lock the show runs under: the kernel's
              seq_put_decimal_ull_width(), seq_put_hex_ll() and
              show_smap_vma_flags() cost it several nanoseconds a byte,
              the model's formatting half of one.  Host: what
              /proc/self/smaps takes beyond smaps_rollup (the same walk,
              a record per VMA instead of one) with the region in VMAs of
              15 pages, over the bytes it writes beyond it, minus the
              simulator's same figure.  procvma calibrate checks it on
              maps, whose records are a fifteenth as long.
pass_cost_ns  per scanner pass, outside any mm lock: what the host pays
              for a pass of the scanner the run names (--scanner), less
              the walk.  cat (the default, as the reference harness's
              scanpid.sh): a bash loop that forks and execs cat per
              pass, from one pass's fork to the next.  read: an
              in-process open() + read() to EOF + close(), with no
              spawn: open() and close() and the read() that returns EOF.
              query (maps only): open() and close() of maps around
              the PROCMAP_QUERY ioctls, so read's value; the queries
              themselves the model does step by step.
              The simulator's scanner has no such work of its own.

The values are data.  The package ships defaults measured on the
reference machine (calibration.json beside this module).  `procvma
calibrate` measures them on the machine it runs on and prints them; with
--write it stores them in the user's own file, calibration.json in the
user's config directory (platformdirs), or at $PROCVMA_CALIBRATION, and
from then on runs take the user's file instead of the shipped defaults.
Nothing is ever written into the package.

A run takes these values (pass_cost_ns: its scanner's) unless the user
gives --op-cost-ns, --walk-cost-ns, --text-cost-ns or --pass-cost-ns, and records in its
CSV the values it used and where they came from (calibration_source).
The kernel backend ignores them.
"""

import datetime
import json
import math
import os
from dataclasses import dataclass

from procvma import vocab

KNOBS = ("op_cost_ns", "walk_cost_ns", "text_cost_ns", "pass_cost_ns")
# The scanners (--scanner) whose pass costs are kept, the default first;
# the others pay one of theirs (vocab.pass_cost_scanner()).
SCANNERS = vocab.CALIBRATED_SCANNERS

# The user's calibration file, if set; else the user's config directory's.
ENV = "PROCVMA_CALIBRATION"
SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "calibration.json")
# calibration_source of the shipped defaults; a user's file is named by its path.
SHIPPED_SOURCE = "shipped"


class CalibrationError(ValueError):
    """A calibration file that cannot be used; the message names it."""


@dataclass(frozen=True)
class Calibration:
    op_cost_ns: float
    walk_cost_ns: float
    text_cost_ns: float
    pass_cost_ns: dict              # per scanner, over SCANNERS
    measured: str                   # when, where and how they were measured
    source: str = SHIPPED_SOURCE    # or the path of the user's file

    def defaults(self, scanner=None):
        """The knob values a simulated run with this scanner takes."""
        scanner = vocab.pass_cost_scanner(scanner or vocab.SCANNER.default)
        return {"op_cost_ns": self.op_cost_ns, "walk_cost_ns": self.walk_cost_ns,
                "text_cost_ns": self.text_cost_ns,
                "pass_cost_ns": self.pass_cost_ns[scanner]}

    def to_json(self):
        return json.dumps({
            "op_cost_ns": round(self.op_cost_ns, 1),
            "walk_cost_ns": round(self.walk_cost_ns, 1),
            "text_cost_ns": round(self.text_cost_ns, 2),
            "pass_cost_ns": {s: round(self.pass_cost_ns[s], 1) for s in SCANNERS},
            "measured": self.measured,
        }, indent=2) + "\n"


def user_path():
    """Where a user's calibration is stored and looked for."""
    if os.environ.get(ENV):
        return os.environ[ENV]
    import platformdirs
    return os.path.join(platformdirs.user_config_dir("procvma"), "calibration.json")


def load():
    """The calibration in force: the user's file if there is one, the
    shipped defaults otherwise.  CalibrationError for a file that is
    there but unusable."""
    path = user_path()
    if os.path.exists(path):
        return read(path, source=path)
    return read(SHIPPED, source=SHIPPED_SOURCE)


def _number(path, what, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) \
            or not math.isfinite(v) or v < 0:
        raise CalibrationError(f"{path}: {what}: {v!r} is not a number >= 0")
    return float(v)


def read(path, source=None):
    """The Calibration in path (a file as to_json writes it)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError as e:
        raise CalibrationError(f"{path}: cannot read: {e.strerror or e}")
    except ValueError as e:
        raise CalibrationError(f"{path}: not a calibration file: {e}")
    if not isinstance(data, dict):
        raise CalibrationError(f"{path}: not a calibration file: not a JSON object")
    for key in ("op_cost_ns", "walk_cost_ns", "text_cost_ns", "pass_cost_ns", "measured"):
        if key not in data:
            hint = ("; written before that knob existed: run procvma calibrate "
                    "--write again" if key == "text_cost_ns" else "")
            raise CalibrationError(f"{path}: no {key!r}{hint}")
    passes = data["pass_cost_ns"]
    if not isinstance(passes, dict) or any(s not in passes for s in SCANNERS):
        raise CalibrationError(f"{path}: pass_cost_ns: needs a value for each "
                               f"scanner ({', '.join(SCANNERS)})")
    return Calibration(
        op_cost_ns=_number(path, "op_cost_ns", data["op_cost_ns"]),
        walk_cost_ns=_number(path, "walk_cost_ns", data["walk_cost_ns"]),
        text_cost_ns=_number(path, "text_cost_ns", data["text_cost_ns"]),
        pass_cost_ns={s: _number(path, f"pass_cost_ns {s}", passes[s])
                      for s in SCANNERS},
        measured=str(data["measured"]),
        source=source or path)


def store(cal, path=None):
    """Write cal to path (user_path() by default), whole or not at all,
    and return the path.  OSError if it cannot be written."""
    path = path or user_path()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            f.write(cal.to_json())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def sim_costs(params):
    """The knob values a simulated sample runs with, params' own where
    given (not None) and the calibration's otherwise (the pass cost that
    of params' scanner), with calibration_source: where they came from."""
    given = [k for k in KNOBS if params.get(k) is not None]
    flags = ", ".join("--" + k.replace("_", "-") for k in given)
    if len(given) == len(KNOBS):
        return dict({k: float(params[k]) for k in KNOBS},
                    calibration_source=f"{flags} given")
    cal = load()
    costs = dict(cal.defaults(params.get("scanner")),
                 **{k: float(params[k]) for k in given})
    costs["calibration_source"] = cal.source + (f", {flags} given" if given else "")
    return costs


def sim_knobs(params):
    """The knob values alone of sim_costs(params)."""
    costs = sim_costs(params)
    return {k: costs[k] for k in KNOBS}


def measured_note(host, when=None):
    """One line saying where and how the values were measured."""
    when = when or datetime.date.today().isoformat()
    return (f"{when}, Linux {host['kernel_release']}, {host['cpu_model']}, "
            f"{host['ncpus']} CPUs, load average {host['load']:.2f}: "
            f"procvma calibrate {host['args']}")
