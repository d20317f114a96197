# SPDX-License-Identifier: GPL-2.0-or-later
"""Option checks and CPU layout: what runs where, decided before a run."""

import click
import pytest
from click.testing import CliRunner

from procvma.cli.options import DashDashCommand
from procvma.run.plan import make_plan, plan_layout, region_pages


def test_default_layout_is_the_reference_one_on_a_big_machine():
    layout, note = plan_layout(usable=range(8))
    assert (layout.cpumapper, layout.cpuscript, layout.cpubusytasks,
            layout.nbusycpus) == (0, 1, 2, 2)
    assert note is None


def test_defaults_shrink_on_two_cpus_and_say_so():
    layout, note = plan_layout(usable={0, 1})
    # Mapper and driver on CPU 0, the busy tasks on the last CPU.
    assert (layout.cpumapper, layout.cpuscript, layout.cpubusytasks,
            layout.nbusycpus) == (0, 0, 1, 1)
    assert "--nbusycpus 1" in note and "\n" not in note


def test_defaults_shrink_only_as_far_as_needed():
    layout, note = plan_layout(usable={0, 1, 2})
    assert (layout.cpubusytasks, layout.nbusycpus) == (1, 2)
    assert note


def test_explicit_cpu_that_does_not_exist_is_an_error_not_shrunk():
    with pytest.raises(click.UsageError, match=r"--cpumapper 5: no CPU 5"):
        plan_layout(cpumapper=5, usable={0, 1})
    with pytest.raises(click.UsageError, match=r"--cpubusytasks 9"):
        plan_layout(cpubusytasks=9, usable={0, 1})


def test_explicit_busy_cpu_count_must_fit():
    with pytest.raises(click.UsageError, match=r"--nbusycpus 3: only 2 CPUs"):
        plan_layout(nbusycpus=3, usable={0, 1})
    with pytest.raises(click.UsageError, match=r"--nbusycpus 2 needs busy CPUs 1-2"):
        plan_layout(cpubusytasks=1, nbusycpus=2, usable={0, 1})
    # An explicit count that fits slides to the top CPUs.
    layout, _ = plan_layout(nbusycpus=1, usable={0, 1})
    assert (layout.cpubusytasks, layout.nbusycpus) == (1, 1)


def test_gb_and_mb_are_exclusive_and_sized_in_pages():
    assert region_pages((), ()) == 128 * 256       # the reference's 128 MiB
    assert region_pages((), (4,)) == 1024
    with pytest.raises(click.UsageError, match="only one of --gb and --mb"):
        region_pages((1,), (128,))
    with pytest.raises(click.UsageError, match="only one of --gb and --mb"):
        region_pages((), (1, 2))


@pytest.mark.parametrize("params, message", [
    ({"procfile": "status"}, "--procfile status: the simulator has"),
    ({"backend": "kernel", "procfile": "no-such-file"}, "not a /proc/PID file"),
    ({"backend": "kernel", "procfile": "../self/maps"}, "not a /proc/PID file"),
    ({"backend": "kernel", "lock": "vma"}, "--lock is for the simulator"),
])
def test_bad_combinations_are_named(params, message):
    with pytest.raises(click.UsageError, match=message):
        make_plan(params, usable={0, 1})


def test_plan_for_both_designs_and_the_kernel():
    plan = make_plan({"procfile": "smaps_rollup", "seed": 7}, usable={0, 1})
    assert plan.designs == ["mmap", "vma"]
    assert plan.seed == 7 and plan.nsamples == 7
    assert plan.sample["nbusycpus"] == 1 and plan.sample["region_pages"] == 32768
    kplan = make_plan({"backend": "kernel", "procfile": "status"}, usable={0, 1})
    assert kplan.designs == ["kernel"]


def test_scanner_means_the_same_on_both_backends_and_defaults_to_cat():
    from procvma.sim import calibration
    for backend in ("sim", "kernel"):
        plan = make_plan({"backend": backend, "procfile": "smaps_rollup"},
                         usable={0, 1})
        assert plan.sample["scanner"] == "cat"
    # The simulated scanner pays its scanner's pass, never cat's for read.
    sim = {s: make_plan({"scanner": s}, usable={0, 1}).sample["pass_cost_ns"]
           for s in ("cat", "read")}
    assert sim == {s: calibration.load().pass_cost_ns[s] for s in sim}
    assert sim["read"] < sim["cat"] / 10
    # A pass cost the user gives wins over the scanner's.
    assert make_plan({"scanner": "read", "pass_cost_ns": 7.0},
                     usable={0, 1}).sample["pass_cost_ns"] == 7.0
    kernel = make_plan({"backend": "kernel", "scanner": "read"}, usable={0, 1})
    assert kernel.sample["scanner"] == "read" and kernel.sample["pass_cost_ns"] == 0


def test_options_after_double_dash_parse_like_options_before_it():
    @click.command(cls=DashDashCommand)
    @click.option("--nsamples", type=int)
    @click.option("--procfile")
    def cmd(nsamples, procfile):
        click.echo(f"{nsamples} {procfile}")

    runner = CliRunner()
    after = runner.invoke(cmd, ["--nsamples", "3", "--", "--procfile", "smaps"])
    before = runner.invoke(cmd, ["--procfile", "smaps", "--nsamples", "3"])
    assert after.output == before.output == "3 smaps\n"
