# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma calibrate and procvma fidelity: the shape of what they print
and store, and the cost knobs they tune.  Short runs; no timing is
asserted except a spin the knob guarantees."""

import csv
import json
import math
import os
import re
from types import SimpleNamespace

import click
import pytest
from test_cli import run

from procvma._core import ffi, lib
from procvma.cli import options
from procvma.cli.fidelity import fidelity_cmd
from procvma.fidelity import fidelity
from procvma.results import stats
from procvma.run.plan import make_plan
from procvma.sim import calibration
from procvma.sim.simmm import SimMM

QUICK = ["--nsamples", "1", "--duration", "0.5"]


def test_knobs_default_to_the_calibrated_values_unless_given():
    cal = calibration.load()
    assert cal.source == "shipped"
    assert calibration.sim_knobs({}) == dict(
        op_cost_ns=cal.op_cost_ns, walk_cost_ns=cal.walk_cost_ns,
        text_cost_ns=cal.text_cost_ns, pass_cost_ns=cal.pass_cost_ns["cat"])
    assert calibration.sim_knobs({"scanner": "read"})["pass_cost_ns"] == \
        cal.pass_cost_ns["read"]
    got = calibration.sim_knobs({"op_cost_ns": 5, "walk_cost_ns": None})
    assert got["op_cost_ns"] == 5.0
    assert got["walk_cost_ns"] == cal.walk_cost_ns


def test_plan_records_the_knobs_and_where_they_came_from():
    sim = make_plan({"procfile": "smaps_rollup", "pass_cost_ns": 7.0})
    assert sim.sample["pass_cost_ns"] == 7.0
    assert sim.sample["op_cost_ns"] == calibration.load().op_cost_ns
    assert sim.sample["calibration_source"] == "shipped, --pass-cost-ns given"
    ker = make_plan({"backend": "kernel", "procfile": "maps"})
    assert all(ker.sample[k] == 0.0 for k in calibration.KNOBS)
    assert ker.sample["calibration_source"] == "-"
    with pytest.raises(click.UsageError, match="--walk-cost-ns"):
        make_plan({"backend": "kernel", "walk_cost_ns": 1.0})


MEASURED = calibration.Calibration(op_cost_ns=1234.5, walk_cost_ns=42.0, text_cost_ns=3.25,
                                   pass_cost_ns={"cat": 3000.0, "read": 6.5},
                                   measured="measured here")


def test_a_stored_calibration_is_what_later_loads_take(tmp_path, monkeypatch):
    path = tmp_path / "conf" / "calibration.json"
    monkeypatch.setenv("PROCVMA_CALIBRATION", str(path))
    assert calibration.load().source == "shipped"
    assert calibration.store(MEASURED) == str(path)
    got = calibration.load()
    assert got == calibration.Calibration(**dict(vars(MEASURED), source=str(path)))
    plan = make_plan({"procfile": "smaps_rollup", "scanner": "read"})
    assert plan.sample["op_cost_ns"] == 1234.5
    assert plan.sample["pass_cost_ns"] == 6.5
    assert plan.sample["calibration_source"] == str(path)


@pytest.mark.parametrize("text, message", [
    ("{", "not a calibration file"),
    ("[]", "not a calibration file"),
    ('{"op_cost_ns": 1, "walk_cost_ns": 1, "text_cost_ns": 1, "measured": ""}',
     "no 'pass_cost_ns'"),
    # A file a procvma before the text knob stored.
    ('{"op_cost_ns": 1, "walk_cost_ns": 1, "measured": "",'
     ' "pass_cost_ns": {"cat": 1, "read": 1}}', "run procvma calibrate --write again"),
    ('{"op_cost_ns": -1, "walk_cost_ns": 1, "text_cost_ns": 1, "measured": "",'
     ' "pass_cost_ns": {"cat": 1, "read": 1}}', "op_cost_ns: -1"),
    ('{"op_cost_ns": 1, "walk_cost_ns": 1, "text_cost_ns": 1, "measured": "",'
     ' "pass_cost_ns": {"cat": 1}}', "a value for each scanner"),
])
def test_an_unusable_calibration_file_is_one_line_naming_it(tmp_path, text, message):
    path = tmp_path / "calibration.json"
    path.write_text(text)
    r = run("run-proc-vs-map", *QUICK, env=dict(os.environ,
                                                PROCVMA_CALIBRATION=str(path)))
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith(f"run-proc-vs-map: error: {path}: ")
    assert message in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_walk_cost_is_spent_per_page_walked():
    # A lower bound the spin guarantees, not a measured speed.
    pages, cost = 4096, 500.0
    with SimMM(pages) as mm:
        lib.pv_mm_set_walk_cost_ns(mm._mm, cost)
        ns = lib.pv_calib_sim_pass_ns(mm._mm, lib.PV_PROC_SMAPS_ROLLUP,
                                      lib.PV_LOCK_VMA, 3)
    assert ns >= pages * cost


def test_text_cost_is_spent_per_byte_shown_under_the_lock():
    # smaps writes a record per VMA, the rollup one: the knob costs smaps
    # its bytes, at least, and each of its holds its share of them.
    pages, vma_pages, cost = 2048, 15, 200.0
    with SimMM(pages) as mm:
        for page in range(vma_pages, pages, vma_pages + 1):
            mm.munmap(page, 1)
        nbytes = len(mm.read("smaps", lock="mmap"))
        own = lib.pv_calib_sim_pass_ns(mm._mm, lib.PV_PROC_SMAPS, lib.PV_LOCK_MMAP, 3)
        lib.pv_mm_set_text_cost_ns(mm._mm, cost)
        held = ffi.new("struct pv_lock_stat *")
        lib.pv_lock_stat_attach(held)
        try:
            mm.read("smaps", lock="mmap")
        finally:
            lib.pv_lock_stat_attach(ffi.NULL)
        ns = lib.pv_calib_sim_pass_ns(mm._mm, lib.PV_PROC_SMAPS, lib.PV_LOCK_MMAP, 3)
    assert ns >= own + nbytes * cost * 0.95
    # Spent inside the mmap_lock holds, where the kernel formats, not between them.
    assert held.read_hold_ns >= nbytes * cost * 0.95


def test_spearman():
    assert fidelity.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert fidelity.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert fidelity.spearman([1, 2], [1, 2]) is None
    assert fidelity.spearman([1, 1, 1], [1, 2, 3]) is None


def test_grid_runs_the_no_reader_baseline_once():
    assert fidelity.grid_points([0, 2], [0, 1]) == [(None, 0), (0, 1), (2, 1)]


def test_fidelity_prints_both_pairs_side_by_side(tmp_path):
    out = tmp_path / "fid.csv"
    r = run("procvma", "fidelity", "--busyduration", "2", "--nbusytasks", "0,1",
            "--procfile", "smaps_rollup,maps", "--scanner", "cat",
            "--csv", str(out), *QUICK)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Simulator vs Linux ") and "--scanner cat" in lines[0]
    assert "mmap_lock" in lines[2] and "per-VMA" in lines[2]
    why = [i for i, line in enumerate(lines) if line.startswith("Why the mapper stalls")]
    rows = [line.split() for line in lines[:why[0]]
            if re.match(r"\s+(-|\d+)\s+\d+\s", line)]
    assert [row[:2] for row in rows] == [["-", "0"], ["2", "1"]]
    for row in rows:
        assert len(row) == 8    # point, then sim, kernel, ratio per pair
        for sim, ker, ratio in (row[2:5], row[5:8]):
            # The printed medians are rounded to 0.001 ms, the ratio to 0.01.
            s, k, q = float(sim), float(ker), float(ratio.rstrip("!~"))
            assert (s - 5e-4) / (k + 5e-4) - 0.005 <= q
            assert k <= 5e-4 or q <= (s + 5e-4) / (k - 5e-4) + 0.005
    assert ("at --busyduration 2 --nbusytasks 1: smaps_rollup (mmap_lock) "
            in r.stdout)
    # Then why: the mechanism's figures, a line per cell, sim / kernel.
    assert len(why) == 1 and "preempt " in lines[why[0]]
    heads = lines[why[0] + 2].split()
    assert heads == [h for h, _, _ in fidelity.MECHANISM]
    cells = [line for line in lines[why[0] + 3:] if re.match(r"\S.* bd ", line)]
    assert len(cells) == 4      # two points x two pairs
    for line in cells:
        # Every figure: the simulator's median / the kernel's, then a ratio.
        figures = re.findall(r"(\S+)/(\S+) (\S+)", line)
        assert len(figures) == len(fidelity.MECHANISM), line
        assert all(float(s) >= 0 for s, _, _ in figures if s != "-")

    with open(out) as f:
        got = [(d["backend"], d["lock"], d["procfile"], d["nbusytasks"])
               for d in csv.DictReader(f)]
    # The baseline once per backend, then each pair's sim and kernel run.
    assert got == [("sim", "mmap", "smaps_rollup", "0"),
                   ("kernel", "kernel", "smaps_rollup", "0"),
                   ("sim", "mmap", "smaps_rollup", "1"),
                   ("kernel", "kernel", "smaps_rollup", "1"),
                   ("sim", "vma", "maps", "1"),
                   ("kernel", "kernel", "maps", "1")]


def test_each_kernel_file_beside_the_design_that_reads_it_as_the_kernel_does():
    def pairs(locks, vma_procfile="maps"):
        return [(p.kernel_procfile, p.lock, p.sim_procfile)
                for p in fidelity.make_pairs(vma_procfile, locks)]

    # Linux 6.17 on, and the seed's --vma-procfile.
    assert pairs({"smaps_rollup": "mmap", "maps": "vma"}) == [
        ("smaps_rollup", "mmap", "smaps_rollup"), ("maps", "vma", "maps")]
    assert pairs({"smaps_rollup": "mmap", "maps": "vma"}, "smaps_rollup") == [
        ("smaps_rollup", "mmap", "smaps_rollup"), ("maps", "vma", "smaps_rollup")]
    # Before per-VMA maps, and with the seed patch merged.
    assert pairs({"smaps_rollup": "mmap", "maps": "mmap"}) == [
        ("smaps_rollup", "mmap", "smaps_rollup"), ("maps", "mmap", "maps")]
    assert pairs({"smaps_rollup": "vma", "maps": "vma"}) == [
        ("smaps_rollup", "vma", "smaps_rollup"), ("maps", "vma", "maps")]
    # smaps, read a record per VMA under mmap_lock through Linux 6.18.
    assert pairs({"smaps": "mmap"}) == [("smaps", "mmap", "smaps")]
    # Where tracing cannot ask the kernel, every file has its assumed lock.
    assert set(fidelity.ASSUMED_LOCKS) == set(fidelity.KERNEL_PROCFILES)


def test_fidelity_says_when_it_assumes_the_kernels_locks(monkeypatch):
    from procvma.host import locktrace

    monkeypatch.setattr(locktrace, "procfile_locks",
                        lambda files: dict.fromkeys(files, "unknown"))
    locks, note = fidelity.kernel_locks(["smaps_rollup", "maps"])
    assert locks == {"smaps_rollup": "mmap", "maps": "vma"}
    assert "assuming" in note
    # Linux 6.17 and 6.18 read numa_maps under mmap_lock, as smaps.
    locks, note = fidelity.kernel_locks(["numa_maps"])
    assert locks == {"numa_maps": "mmap"}
    assert "numa_maps under mmap_lock" in note
    monkeypatch.setattr(locktrace, "procfile_locks",
                        lambda files: dict.fromkeys(files, "mmap"))
    assert fidelity.kernel_locks(["smaps_rollup", "maps"]) == (
        {"smaps_rollup": "mmap", "maps": "mmap"}, None)


@pytest.mark.parametrize("args, message", [
    (["--nbusytasks", "x"], "'--nbusytasks'"),
    (["--busyduration", "-1"], "'--busyduration'"),
    (["--procfile", "status"], "'--procfile'"),
    (["--vma-procfile", "status"], "'--vma-procfile'"),
    (["--scanner", "dd"], "'--scanner'"),
])
def test_fidelity_bad_input_is_one_line_and_exit_2(args, message):
    r = run("procvma", "fidelity", *args, *QUICK)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr


def test_default_grid_is_three_by_three_points_for_both_scanners():
    defaults = {p.name: p.default for p in fidelity_cmd.params}
    assert fidelity.grid_points(options.IntList(0).convert(defaults["busyduration"], None, None),
                                options.IntList(0).convert(defaults["nbusytasks"], None, None)) \
        == [(bd, nt) for bd in (1, 2, 5) for nt in (1, 2, 3)]
    assert defaults["scanner"] == "cat,read" and defaults["procfile"] == "smaps_rollup"
    assert fidelity.BAND == pytest.approx((1 / 1.5, 1.5))


SMAPS_ROLLUP = fidelity.make_pairs("maps", {"smaps_rollup": "mmap", "maps": "vma"},
                                   ["smaps_rollup"])


def finished_runs(samples, pairs=SMAPS_ROLLUP):
    """by_key of runs whose samples are done: samples maps each point to
    (sim opavgs, kernel opavgs), the same for every pair."""
    by_key = {}
    for point, sides in samples.items():
        for pair in pairs:
            for side, values in zip(("sim", "kernel"), sides):
                run = fidelity.Run((point, pair.name, side),
                                   SimpleNamespace(sample={}), side)
                run.rows = [{"opavg_ms": v} for v in values]
                by_key[(point, pair.name, side)] = run
    return by_key


def test_check_names_every_cell_outside_the_band():
    name = SMAPS_ROLLUP[0].name
    sims = {(1, 1): 0.30, (2, 2): 1.0, (5, 3): 0.2}
    by_key = finished_runs({pt: ([v], [0.25]) for pt, v in sims.items()})
    bad = fidelity.outside(list(sims), SMAPS_ROLLUP, by_key, "opavg_ms")
    assert bad == [f"{name} bd 2 nt 2: 4.00"]      # 1.2x and 0.8x are within


def test_spread_is_largest_over_smallest_above_the_resolution():
    assert stats.spread([3.0, 0.5, None, 1.0]) == pytest.approx(6.0)
    assert stats.spread([2.0]) == 1.0
    assert math.isnan(stats.spread([]))
    # A smallest sample below the floor counts as the floor.
    assert stats.spread([0.0005, 0.015], floor=0.002) == pytest.approx(7.5)


# Per point, (sim, kernel) opavgs: at bd 2 nt 1 one regime each (9x apart
# at most); at bd 5 nt 3 two on both sides; at bd 5 nt 2 two on the
# kernel's only, the ratio of the medians within the band; at bd 1 nt 1
# 30x apart on the simulator, but the smallest is below the resolution.
REGIMES = {
    (1, 1): ([0.0005, 0.015], [0.014, 0.016]),
    (2, 1): ([0.1, 0.9, 0.2], [0.2, 0.25, 0.3]),
    (5, 3): ([0.019, 686.489, 3.072], [390.913, 2.017, 125.171]),
    (5, 2): ([1.0, 2.0, 1.5], [0.1, 1.3, 2.0]),
}


def test_a_cell_in_two_regimes_is_marked_and_its_samples_listed():
    points = list(REGIMES)
    text, _ = fidelity.format_table(points, SMAPS_ROLLUP, finished_runs(REGIMES),
                                    "opavg_ms", "header", regimes=True)
    lines = text.splitlines()
    rows = {(int(ln.split()[0]), int(ln.split()[1])): ln for ln in lines
            if re.match(r"\s+\d+\s+\d+\s", ln)}
    ratio = {pt: ln.split()[4] for pt, ln in rows.items()}
    assert ratio == {(1, 1): "0.52!", (2, 1): "0.80", (5, 3): "0.02!~", (5, 2): "1.15~"}
    # The marks keep the columns: every row as wide as the header.
    header = next(ln for ln in lines if "sim/kern" in ln)
    assert {len(ln) for ln in rows.values()} == {len(header)}
    assert any(ln.startswith("  ~ marks a cell") for ln in lines)
    name = SMAPS_ROLLUP[0].name
    listed = lines[lines.index("  the samples of each cell marked ~ (opavg_ms, sorted):") + 1:]
    assert listed == [
        f"    {name} bd 5 nt 3: sim 0.019 3.072 686.489 | kernel 2.017 125.171 390.913",
        f"    {name} bd 5 nt 2: sim 1.000 1.500 2.000 | kernel 0.100 1.300 2.000"]


def test_the_mechanism_tables_mark_no_regimes():
    text, _ = fidelity.format_table(list(REGIMES), SMAPS_ROLLUP,
                                    finished_runs(REGIMES), "opavg_ms", "header")
    assert "~" not in text


def test_check_says_which_cells_outside_the_band_fall_into_two_regimes():
    name = SMAPS_ROLLUP[0].name
    bad = fidelity.outside(list(REGIMES), SMAPS_ROLLUP, finished_runs(REGIMES),
                           "opavg_ms")
    # bd 5 nt 2 is in two regimes too, but within the band.
    assert bad == [f"{name} bd 1 nt 1: 0.52",
                   f"{name} bd 5 nt 3: 0.02 (spread: two regimes)"]


def test_quick_runs_one_short_sample_per_configuration_per_scanner(tmp_path):
    out = tmp_path / "quick.csv"
    r = run("procvma", "fidelity", "--quick", "--busyduration", "2",
            "--nbusytasks", "1", "--csv", str(out))
    assert r.returncode == 0, r.stderr
    headers = [ln for ln in r.stdout.splitlines() if ln.startswith("Simulator vs")]
    assert len(headers) == 2
    assert "--scanner cat: 1 sample(s) x 0.5 s" in headers[0]
    assert "--scanner read: 1 sample(s) x 0.5 s" in headers[1]
    with open(out) as f:
        got = [(d["backend"], d["scanner"], d["duration"]) for d in csv.DictReader(f)]
    assert got == [("sim", "cat", "0.5"), ("kernel", "cat", "0.5"),
                   ("sim", "read", "0.5"), ("kernel", "read", "0.5")]


CALIBRATE_QUICK = ["--nsamples", "1", "--duration", "0.3", "--mb", "8", "--repeat", "1"]


def package_files():
    pkg = os.path.dirname(calibration.__file__)
    return {name: os.stat(os.path.join(pkg, name)).st_mtime_ns
            for name in os.listdir(pkg)}


def printed_calibration(stdout):
    return json.loads(stdout[stdout.index("\n{") + 1:])


def test_calibrate_prints_every_knob_and_stores_nothing(tmp_path):
    before = package_files()
    path = tmp_path / "calibration.json"
    r = run("procvma", "calibrate", *CALIBRATE_QUICK,
            env=dict(os.environ, PROCVMA_CALIBRATION=str(path)))
    assert r.returncode == 0, r.stderr
    for name in ("mmap/munmap", "smaps_rollup walk", "smaps walk", "smaps text, per byte",
                 "maps, per VMA", "scanner pass: cat", "open+close"):
        assert name in r.stdout
    assert f"--write stores it in {path}" in r.stdout
    data = printed_calibration(r.stdout)
    assert data["op_cost_ns"] >= 0 and data["walk_cost_ns"] >= 0
    assert data["text_cost_ns"] >= 0
    # One pass cost per scanner: cat's forks processes, far dearer than
    # the in-process open+close.
    assert set(data["pass_cost_ns"]) == set(calibration.SCANNERS)
    assert data["pass_cost_ns"]["cat"] > 10 * data["pass_cost_ns"]["read"] > 0
    assert "procvma calibrate" in data["measured"]
    assert not path.exists()
    assert package_files() == before


def test_calibrate_write_stores_the_users_file_and_later_runs_use_it(tmp_path):
    before = package_files()
    path = tmp_path / "config" / "calibration.json"
    env = dict(os.environ, PROCVMA_CALIBRATION=str(path))
    r = run("procvma", "calibrate", *CALIBRATE_QUICK, "--write", env=env)
    assert r.returncode == 0, r.stderr
    assert f"calibration stored in {path}" in r.stdout
    stored = calibration.read(str(path))
    assert json.loads(path.read_text()) == printed_calibration(r.stdout)
    assert package_files() == before

    out = tmp_path / "run.csv"
    r = run("run-proc-vs-map", "--nsamples", "1", "--duration", "0.3",
            "--lock", "vma", "--scanner", "read", "--csv", str(out), env=env)
    assert r.returncode == 0, r.stderr
    with open(out) as f:
        row, = csv.DictReader(f)
    assert row["calibration_source"] == str(path)
    assert float(row["op_cost_ns"]) == stored.op_cost_ns
    assert float(row["walk_cost_ns"]) == stored.walk_cost_ns
    assert float(row["pass_cost_ns"]) == stored.pass_cost_ns["read"]


def test_calibrate_measures_only_the_scanners_named(tmp_path):
    r = run("procvma", "calibrate", *CALIBRATE_QUICK, "--scanner", "read",
            env=dict(os.environ, PROCVMA_CALIBRATION=str(tmp_path / "c.json")))
    assert r.returncode == 0, r.stderr
    assert "(kept)" in next(ln for ln in r.stdout.splitlines()
                              if ln.startswith("scanner pass: cat"))
    # cat's pass is not measured: the value in force stays.
    assert printed_calibration(r.stdout)["pass_cost_ns"]["cat"] == \
        calibration.load().pass_cost_ns["cat"]
