# SPDX-License-Identifier: GPL-2.0-or-later
"""The reference repeater's summary, byte for byte.

run-proc-vs-map.sh collects each sample's "opmax: X ms opavg: Y ms" line
(printed by its mapper with %.3f) and reduces them per #Busy value:
median of opavg (an even count takes the mean of the two middle values),
minimum of opavg, maximum of opmax, and "*N" when N samples hung.  With
--rawdata it prints, per #Busy value, a blank line and then one line per
sample: the median, the sorted opavg column and the sorted opmax column.
Either form ends with a blank line.
"""

from procvma.results.fmt import is_number
from procvma.results.stats import median

HEADER = (
    "",
    "          Average mmap()/munmap()",
    "           latency (milliseconds)",
    "         --------------------------",
    "#Busy    Median   Minimum   Maximum #Hangs",
)


def as_printed(ms):
    """A value as the reference's reducer saw it: the mapper prints it with
    %.3f, so medians of even counts average the rounded values."""
    return float("%.3f" % ms)


def format_table(groups, rawdata=False):
    """groups: {nbusy: [(opavg_ms, opmax_ms, hung), ...]}.  Returns the
    text the reference prints, newline-terminated."""
    lines = [] if rawdata else list(HEADER)
    for nbusy in sorted(groups):
        samples = groups[nbusy]
        if not samples:
            continue
        avg = sorted(as_printed(s[0]) for s in samples)
        mx = sorted(as_printed(s[1]) for s in samples)
        hangs = sum(1 for s in samples if s[2])
        med = median(avg)
        if rawdata:
            lines.append("")
            lines.extend("%9.3f %9.3f %9.3f" % (med, a, m) for a, m in zip(avg, mx))
        else:
            lines.append("%5d %9.3f %9.3f %9.3f %6s"
                         % (nbusy, med, avg[0], mx[-1], f"*{hangs}" if hangs else ""))
    lines.append("")
    return "\n".join(lines) + "\n"


def format_samples(nbusy, samples, rawdata=False):
    """One table from sample dicts (CSV names: opavg_ms, opmax_ms, hang)."""
    return format_table({nbusy: [(s["opavg_ms"], s["opmax_ms"], s["hang"])
                                 for s in samples]}, rawdata)


LOCK_HEADER = (
    "mmap_lock      mapper's write-lock waits     scanners' read holds",
    "sample          total    per op       max      count       avg       max",
)


def mapper_wait_per_op(sample):
    """The mapper's mean wait for the write lock per mmap()/munmap(), ms:
    the part of opavg that is queueing for mmap_lock."""
    ops = sample["nmaps"] + sample["nunmaps"]
    return sample["mapper_wait_ms"] / ops if ops else float("nan")


def _ms(value, width=9):
    return f"{value:{width}.3f}" if value == value else " " * (width - 1) + "-"


def format_locks(samples):
    """Each sample's lock figures (schema.LOCK_COLUMNS; NaN where not
    known), in ms, with the mapper's mean wait per mmap()/munmap(), and
    their medians.  Newline-terminated, ending with a blank line."""
    lines = list(LOCK_HEADER)

    def line(label, s):
        per_op = mapper_wait_per_op(s)
        locks = s["reader_mmap_locks"]
        count = f"{locks:10.0f}" if locks == locks else " " * 9 + "-"
        return (f"{label:<6} {_ms(s['mapper_wait_ms'], 13)} {_ms(per_op)} "
                f"{_ms(s['mapper_wait_max_ms'])} {count} "
                f"{_ms(s['reader_hold_avg_ms'])} {_ms(s['reader_hold_max_ms'])}")

    for s in samples:
        lines.append(line(str(s["sample"]), s))
    if len(samples) > 1:
        keys = ("nmaps", "nunmaps", "mapper_wait_ms", "mapper_wait_max_ms",
                "reader_mmap_locks", "reader_hold_avg_ms", "reader_hold_max_ms")
        lines.append(line("median", {k: median(s[k] for s in samples) for k in keys}))
    lines.append("")
    if any(is_number(s.get("reader_hold_running_ms")) for s in samples):
        lines += format_holders(samples)
    return "\n".join(lines) + "\n"


HOLDER_HEADER = (
    "read holds     total ms, and where it went       the mapper waiting           "
    "readers'",
    "sample       avg*count   running preempted  asleep   sleeps  wakeups  to run  "
    "cpu/pass",
)
HOLDER_KEYS = ("reader_hold_avg_ms", "reader_mmap_locks", "reader_hold_running_ms",
               "reader_hold_preempted_ms", "reader_hold_sleeping_ms",
               "mapper_sleeps", "mapper_wakeups", "mapper_wake_to_run_ms",
               "reader_cpu_per_pass_ms")



def hold_total_ms(s):
    """The readers' total read-hold time of a sample, from its mean hold
    and its count: a figure of its own, which the three parts
    (running, preempted, asleep) should add up to."""
    return s["reader_hold_avg_ms"] * s["reader_mmap_locks"]


def format_holders(samples):
    """The holder's side of each sample (schema.HOLDER_COLUMNS), lines
    ending with a blank one: '-' where a figure is not known."""
    def count(v):
        return f"{v:8.0f}" if is_number(v) else " " * 7 + "-"

    def line(label, s):
        return (f"{label:<6} {_ms(s['total'], 13)} "
                f"{_ms(s.get('reader_hold_running_ms', float('nan')))} "
                f"{_ms(s.get('reader_hold_preempted_ms', float('nan')))} "
                f"{_ms(s.get('reader_hold_sleeping_ms', float('nan')), 7)} "
                f"{count(s.get('mapper_sleeps', float('nan')))} "
                f"{count(s.get('mapper_wakeups', float('nan')))} "
                f"{_ms(s.get('mapper_wake_to_run_ms', float('nan')), 7)} "
                f"{_ms(s.get('reader_cpu_per_pass_ms', float('nan')))}")

    rows = [dict(s, total=hold_total_ms(s)) for s in samples]
    lines = list(HOLDER_HEADER)
    for s in rows:
        lines.append(line(str(s["sample"]), s))
    if len(rows) > 1:
        lines.append(line("median", {k: median(s.get(k, float("nan")) for s in rows)
                                     for k in HOLDER_KEYS + ("total",)}))
    lines.append("")
    return lines
