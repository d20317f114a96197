# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma sweep: the reference's run-latency.sh, which reruns the
repeater over several --busyduration values, generalised to a grid over
procfile, region size, holes, busyduration, nbusytasks, nbusycpus and
locking design.  One table per grid point, one CSV for the whole grid.
The points run in rounds, sample k of every point in turn (A B A B ...,
commands.run_each), so that all of them see the same minutes of a
machine whose speed drifts; --nsamples auto stops when every point's
two designs (or lone design) have decided."""

import itertools

import click

from procvma import options, runner, vocab
from procvma.commands import CONTEXT, command_line, design_title, run_points

# The grid's axes, outermost first; the design varies fastest so that a
# point's "before" and "after" tables sit next to each other.
AXES = ["procfile", "gb", "mb", "holes", "busyduration", "nbusytasks",
        "nbusycpus", "lock"]

_OPTS = options.SAMPLE_OPTS
LIST_OPTIONS = {
    "busyduration": _OPTS["busyduration"].many("1,2,5,10"),
    "nbusytasks": _OPTS["nbusytasks"].many("1"),
    "nbusycpus": _OPTS["nbusycpus"].many(default_help=_OPTS["nbusycpus"].default_help),
    "gb": _OPTS["gb"].many(),
    "mb": _OPTS["mb"].many(default_help=_OPTS["mb"].default_help),
    "holes": _OPTS["holes"].many("0"),
    "procfile": _OPTS["procfile"].many("smaps_rollup"),
    "lock": _OPTS["lock"].many(choices=vocab.LOCK, default_help=",".join(vocab.LOCK)),
}


def point_label(point):
    return " ".join(f"--{k} {point[k]}" for k in AXES if point.get(k) is not None)


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
    options.check_backend_options(backend, p["lock"])
    if p["gb"] and p["mb"]:
        raise click.UsageError("give region sizes with --gb or with --mb, not both")
    locks = p["lock"] or (list(vocab.LOCK) if backend == vocab.BACKEND.sim else [None])
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
        plan = options.make_plan(q)
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
