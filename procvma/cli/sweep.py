# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma sweep: the benchmark over a grid of options, one table per point."""

import itertools
from dataclasses import replace

import click

from procvma import vocab
from procvma.cli import options
from procvma.cli.common import CONTEXT, command_line
from procvma.run import runner
from procvma.run.plan import (
    AUTO, check_backend_options, design_baseline, make_plan, stop_requirements
)
from procvma.run.rounds import design_title, run_points
from procvma.run.sweep import AXES, point_label

_OPTS = options.SAMPLE_OPTS
LIST_OPTIONS = {
    "busyduration": _OPTS["busyduration"].many("1,2,5,10"),
    "nbusytasks": _OPTS["nbusytasks"].many("1"),
    "nbusycpus": _OPTS["nbusycpus"].many(default_help=_OPTS["nbusycpus"].default_help),
    "gb": _OPTS["gb"].many(),
    "mb": _OPTS["mb"].many(default_help=_OPTS["mb"].default_help),
    "holes": _OPTS["holes"].many("0"),
    "procfile": _OPTS["procfile"].many(
        "smaps_rollup", note=" smaps_rollup by default, where run-proc-vs-map "
        "reads maps as the reference does: a sweep asks how the stall grows, "
        "and smaps_rollup's walk of every page is where it grows most."),
    "lock": _OPTS["lock"].many(default_help=",".join(
        vocab.LOCK.expand(vocab.LOCK.default))),
}


@click.command("sweep", cls=options.DashDashCommand, context_settings=CONTEXT)
@options.apply_options(LIST_OPTIONS)
@options.apply_options(options.RUN_OPTIONS, options.SAMPLE_OPTIONS,
                       skip=set(LIST_OPTIONS))
def sweep_cmd(**p):
    """Run the benchmark over a grid: every combination of the
    comma-separated lists given to --procfile, --gb or --mb, --holes,
    --busyduration, --nbusytasks, --nbusycpus and --lock, one table per
    point (titled with the point), all samples in one --csv file.  Every
    point is checked (the region fits in memory, the holes in the region)
    before the first one runs.

    \b
    How the stall grows with the address space, say:
      procvma sweep --procfile smaps_rollup --busyduration 2 --mb 128,1024,8192
      procvma sweep --procfile smaps_rollup --busyduration 2 --holes 0,1000,10000
    """
    backend = p.get("backend") or vocab.BACKEND.default
    check_backend_options(backend, p["lock"])
    if p["gb"] and p["mb"]:
        raise click.UsageError("give region sizes with --gb or with --mb, not both")
    locks = p["lock"] or (vocab.LOCK.expand(vocab.LOCK.default)
                          if backend == vocab.BACKEND.sim else [None])
    # Each point runs one design; --baseline pairs them across points.
    baseline = design_baseline(locks, p.pop("baseline")) \
        if backend == vocab.BACKEND.sim else None
    texts = p.pop("requirements")
    if texts and p.get("nsamples") != AUTO:
        raise click.UsageError("--require is for --nsamples auto")
    requirements = stop_requirements(texts, locks)
    grid = {
        "procfile": p["procfile"],
        "gb": p["gb"] or [None],
        "mb": p["mb"] or [None],
        "holes": p["holes"],
        "busyduration": p["busyduration"],
        "nbusytasks": p["nbusytasks"],
        "nbusycpus": p["nbusycpus"] or [None],
        "lock": locks,
    }
    # Validate every point before the first one runs.
    points, notes, seed, plan = [], [], None, None
    combos = list(itertools.product(*(grid[a] for a in AXES)))
    for n, values in enumerate(combos, 1):
        point = dict(zip(AXES, values))
        q = dict(p, **point, seed=p["seed"] if seed is None else seed)
        # make_plan takes --gb/--mb as run-proc-vs-map gives them: tuples.
        q.update({k: () if point[k] is None else (point[k],) for k in ("gb", "mb")})
        plan = replace(make_plan(q), baseline=baseline,
                       requirements=requirements)
        seed = plan.seed
        notes += [x for x in plan.notes if x not in notes]
        design = plan.designs[0]
        params = dict(plan.sample, lock=design)
        label = point_label(dict(point, nbusycpus=params["nbusycpus"], lock=point["lock"]))
        title = f"Point {n}/{len(combos)}: {label} -- {design_title(params, design)}"
        points.append((title, params))
    runner.check_ready(plan.backend)
    trace, writer = plan.open_outputs(command_line())
    for note in notes:
        click.echo(f"procvma sweep: {note}", err=True)
    return run_points(points, plan, writer, prog="procvma sweep", trace=trace)
