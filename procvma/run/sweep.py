# SPDX-License-Identifier: GPL-2.0-or-later
"""procvma sweep: the reference's run-latency.sh, which reruns the
repeater over several --busyduration values, generalised to a grid over
procfile, region size, holes, busyduration, nbusytasks, nbusycpus and
locking design.  One table per grid point, one CSV for the whole grid.
The points run in rounds, sample k of every point in turn (A B A B ...,
rounds.run_each), so that all of them see the same minutes of a
machine whose speed drifts; --nsamples auto stops when every point's
two designs (or lone design) have decided."""




# The grid's axes, outermost first; the design varies fastest so that a
# point's "before" and "after" tables sit next to each other.
AXES = ["procfile", "gb", "mb", "holes", "busyduration", "nbusytasks",
        "nbusycpus", "lock"]

def point_label(point):
    return " ".join(f"--{k} {point[k]}" for k in AXES if point.get(k) is not None)
