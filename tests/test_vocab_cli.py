# SPDX-License-Identifier: GPL-2.0-or-later
"""Every word of every closed vocabulary, typed on the command line of
every command that takes it, is accepted.

A word the vocabulary lists but a command refuses (as `--lock both` once
was, when the option's words became typed) fails here.  The commands
that take a vocabulary's option are found by looking at them, so a new
command, or a new option on an old one, cannot go untested: TAKES must
say how each is tried.

run-proc-vs-map, sweep and torture run for real (short runs); the
others are parsed and planned as their run would be (make_plan), which
is where the words are checked, without running the kernel backend.
"""

import importlib
import re
import subprocess

import click
import pytest

from procvma import vocab
from procvma.cli.main import main, run_proc_vs_map
from procvma.run.plan import make_plan

from test_cli import command

SHORT = ["--nsamples", "1", "--duration", "0.2", "--mb", "16", "--quiet"]


def all_commands():
    """{name: click command}: run-proc-vs-map and every procvma subcommand."""
    ctx = click.Context(main)
    out = {"run-proc-vs-map": run_proc_vs_map}
    for name in main.list_commands(ctx):
        out[f"procvma {name}"] = main.get_command(ctx, name)
    return out


def option_words(vocabulary):
    """What a user types to --OPTION: each word it selects, then every's."""
    return [str(w) for w in vocabulary.choices()]


def sim_run(*args):
    r = subprocess.run(command("run-proc-vs-map") + SHORT + list(args),
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stderr


def planned(*args):
    """run-proc-vs-map's options parsed and planned, nothing run."""
    ctx = run_proc_vs_map.make_context("run-proc-vs-map", list(args))
    return make_plan(ctx.params)


def procvma(*args, timeout=120):
    r = subprocess.run(command("procvma") + list(args), capture_output=True,
                       text=True, timeout=timeout)
    return r.returncode, r.stderr


def parse_only(name, *args):
    """A procvma subcommand's command line parsed: its options' types
    check every value; nothing runs."""
    cmd = main.get_command(click.Context(main), name)
    return cmd.make_context(name, list(args)).params


def accepted(status, stderr, word):
    """A run that took word: no usage error (exit 2) and no line naming
    the word as wrong."""
    assert status != 2 and "error" not in stderr, (word, stderr)


# How each (command, vocabulary) is tried: a function of one word.
def _lock_rpm(w):
    accepted(*sim_run("--lock", w, "--procfile", "maps"), w)


def _lock_sweep(w):
    accepted(*procvma("sweep", *SHORT, "--lock", w, "--procfile", "maps"), w)


def _lock_torture(w):
    accepted(*procvma("torture", "--lock", w, "--duration", "0.1",
                      "--pages", "64"), w)


def _lock_show(w):
    if w == vocab.LOCK.every:
        # show prints one text, the same under each design: one design.
        status, err = procvma("show", "maps", "--mb", "1", "--lock", w)
        assert status == 2 and len(err.splitlines()) == 1, err
        return
    accepted(*procvma("show", "maps", "--mb", "1", "--lock", w), w)


def _procfile_rpm(w):
    accepted(*sim_run("--procfile", w, "--lock", vocab.LOCK.baseline), w)


def _procfile_sweep(w):
    assert parse_only("sweep", "--procfile", w)["procfile"] == [w]


def _procfile_torture(w):
    accepted(*procvma("torture", "--procfile", w, "--duration", "0.1",
                      "--pages", "64"), w)


def _procfile_fidelity(w):
    assert parse_only("fidelity", "--procfile", w)["procfile"] == [w]


def _scanner_rpm(w):
    need = vocab.SCANNER[w].procfile or "maps"
    accepted(*sim_run("--scanner", w, "--procfile", need,
                      "--lock", vocab.LOCK.baseline), w)


def _scanner_list(name):
    def tryit(w):
        params = parse_only(name, "--scanner", w)
        got = params.get("scanner", params.get("scanners"))
        assert (got if isinstance(got, list) else [got]) == [w]
    return tryit


def _backend_rpm(w):
    plan = planned("--backend", w)
    assert plan.backend == w


def _preempt_rpm(w):
    accepted(*sim_run("--preempt", w, "--lock", vocab.LOCK.baseline), w)


def _trace_engine_rpm(w):
    plan = planned("--backend", vocab.BACKEND.kernel, "--trace",
                   "--trace-engine", w)
    assert plan.trace_engine == w


def _inject_torture(w):
    status, err = procvma("torture", "--inject", w, "--duration", "0.2",
                          "--pages", "64")
    assert status in (0, 1) and "error" not in err, (w, err)


TAKES = {
    ("run-proc-vs-map", "--lock"): _lock_rpm,
    ("procvma sweep", "--lock"): _lock_sweep,
    ("procvma torture", "--lock"): _lock_torture,
    ("procvma show", "--lock"): _lock_show,
    ("run-proc-vs-map", "--procfile"): _procfile_rpm,
    ("procvma sweep", "--procfile"): _procfile_sweep,
    ("procvma torture", "--procfile"): _procfile_torture,
    ("run-proc-vs-map", "--scanner"): _scanner_rpm,
    ("procvma sweep", "--scanner"): _scanner_list("sweep"),
    ("run-proc-vs-map", "--backend"): _backend_rpm,
    ("procvma sweep", "--backend"): lambda w: parse_only(
        "sweep", "--backend", w),
    ("run-proc-vs-map", "--preempt"): _preempt_rpm,
    ("procvma sweep", "--preempt"): lambda w: parse_only(
        "sweep", "--preempt", w),
    ("procvma fidelity", "--preempt"): lambda w: parse_only(
        "fidelity", "--preempt", w),
    ("run-proc-vs-map", "--trace-engine"): _trace_engine_rpm,
    ("procvma sweep", "--trace-engine"): lambda w: parse_only(
        "sweep", "--trace-engine", w),
    ("procvma torture", "--inject"): _inject_torture,
}

# Options that take a narrower set than their vocabulary's, and why:
# (command, option) -> the words they take.
NARROWER = {
    # fidelity compares the kernel's files with the simulator's; the
    # scanners it runs are those calibrate measures a pass cost for.
    ("procvma fidelity", "--procfile"): None,
    ("procvma fidelity", "--scanner"): None,
    ("procvma calibrate", "--scanner"): None,
}


def takers():
    """(command name, option, vocabulary) for every option of every
    command that is a vocabulary's option."""
    by_option = {v.option: v for v in vocab.VOCABULARIES}
    out = []
    for name, cmd in all_commands().items():
        for param in cmd.params:
            for opt in getattr(param, "opts", ()):
                if opt in by_option:
                    out.append((name, opt, by_option[opt]))
    return out


def test_every_command_taking_a_vocabulary_is_tried():
    found = {(name, opt) for name, opt, _ in takers()}
    assert found - set(TAKES) - set(NARROWER) == set()
    assert set(TAKES) - found == set(), "a tried option that is gone"
    # show's PROCFILE is an argument: tried below.


CASES = [(name, opt, w) for name, opt, v in takers()
         if (name, opt) in TAKES for w in option_words(v)]


@pytest.mark.parametrize("name, opt, word", CASES,
                         ids=[f"{n}-{o}-{w}" for n, o, w in CASES])
def test_every_word_is_accepted(name, opt, word):
    TAKES[(name, opt)](word)


@pytest.mark.parametrize("name, opt", sorted(NARROWER))
def test_a_narrower_set_accepts_each_of_its_words(name, opt):
    cmd = all_commands()[name]
    (param,) = [p for p in cmd.params if opt in getattr(p, "opts", ())]
    kind = param.type
    words = (kind.item.choices if hasattr(kind, "item") else kind.choices)
    vocabulary = {v.option: v for v in vocab.VOCABULARIES}[opt]
    assert set(words) <= set(vocabulary.choices()), (name, opt)
    sub = name.split()[1]
    for w in words:
        parse_only(sub, opt, w)


@pytest.mark.parametrize("word", option_words(vocab.PROCFILE))
def test_show_prints_every_procfile(word):
    status, err = procvma("show", word, "--mb", "1")
    accepted(status, err, word)


def test_a_comma_list_of_every_design_is_one_interleaved_run(tmp_path):
    """--lock takes a list: every design named, each once, interleaved
    round by round, a table each under its title."""
    words = [str(w) for w in vocab.LOCK]
    csv = tmp_path / "r.csv"
    r = subprocess.run(command("run-proc-vs-map") + [
        "--nsamples", "2", "--duration", "0.2", "--mb", "16",
        "--lock", ",".join(reversed(words)) + "," + vocab.LOCK.every,
        "--csv", str(csv), "--quiet"], capture_output=True, text=True,
        timeout=120)
    assert r.returncode == 0, r.stderr
    for w in vocab.LOCK:
        assert r.stdout.count(w.help) == 1, r.stdout
    lines = csv.read_text().splitlines()[1:]
    locks = [ln.split(",")[1] for ln in lines]
    assert locks == list(reversed(words)) * 2


def test_a_bad_design_in_a_list_is_one_line():
    status, err = sim_run("--lock", f"{vocab.LOCK.baseline},nosuch")
    assert status == 2 and len(err.splitlines()) == 1
    assert "nosuch" in err and "not one of" in err


def test_baseline_must_be_measured():
    with pytest.raises(click.UsageError, match="--baseline"):
        planned("--lock", vocab.LOCK.words[-1],
                "--baseline", vocab.LOCK.words[0])


def test_auto_pairs_every_design_with_the_baseline():
    from procvma.run import rounds
    from procvma.run.autostop import groups_of

    plan = planned("--nsamples", "auto")
    designs = list(vocab.LOCK)
    points = [rounds.Point(dict(plan.sample, lock=d), f"[{d}]", "")
              for d in designs]
    base = designs[-1]
    groups = groups_of(points, base)
    assert [[p.params["lock"] for p in g] for g in groups] == [
        [base, d] for d in designs if d != base]


def test_the_words_live_in_the_vocabulary_alone():
    """Only procvma/vocab.py lists the designs: the modules that run and
    judge them spell no design's word."""
    import ast
    import os

    root = os.path.dirname(importlib.import_module("procvma").__file__)
    words = {str(w) for w in vocab.LOCK}
    for sub in ("run", "results/gate.py", "results/sequential.py"):
        path = os.path.join(root, sub)
        files = [path] if path.endswith(".py") else [
            os.path.join(path, f) for f in os.listdir(path) if f.endswith(".py")]
        for f in files:
            with open(f) as fh:
                tree = ast.parse(fh.read())
            spelled = {n.value for n in ast.walk(tree)
                       if isinstance(n, ast.Constant) and n.value in words}
            assert not spelled, (f, spelled)


# ---- one dialect: what every command shares ---------------------------------

def seeded():
    """(command line prefix, name) of every command that takes --seed."""
    out = []
    for name, cmd in all_commands().items():
        if any("--seed" in getattr(p, "opts", ()) for p in cmd.params):
            words = name.split()
            prefix = command(words[0]) + words[1:]
            if name == "procvma show":
                prefix.append("maps")
            out.append((name, prefix))
    return out


def test_seed_is_checked_by_every_command_that_takes_one():
    names = [n for n, _ in seeded()]
    assert {"run-proc-vs-map", "procvma show", "procvma torture",
            "procvma sweep", "procvma fidelity"} <= set(names)
    for name, prefix in seeded():
        for bad in ("-1", str(2**64), "one"):
            r = subprocess.run(prefix + ["--seed", bad], capture_output=True,
                               text=True, timeout=60)
            lines = r.stderr.splitlines()
            assert r.returncode == 2 and len(lines) == 1, (name, bad, r.stderr)
            prog = "run-proc-vs-map" if name == "run-proc-vs-map" else name
            assert lines[0].startswith(f"{prog}: error: ") and "--seed" in lines[0]


@pytest.mark.parametrize("name", ["run-proc-vs-map", "procvma"])
def test_both_commands_print_their_version(name):
    from procvma import __version__

    r = subprocess.run(command(name) + ["--version"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip().endswith(__version__)


def help_text(name):
    words = name.split()
    r = subprocess.run(command(words[0]) + words[1:] + ["--help"],
                       capture_output=True, text=True, timeout=60,
                       env={**__import__("os").environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("name", sorted(all_commands()))
def test_help_shows_defaults_one_way(name):
    text = help_text(name)
    assert "[default:" not in text and "(default:" not in text
    assert "INTEGER" not in text and "FLOAT" not in text and "RANGE" not in text


def test_cpu_defaults_are_described_as_they_resolve_here():
    from procvma.run.plan import DEFAULTS, plan_layout, usable_cpus

    layout, _ = plan_layout(usable=usable_cpus())
    text = " ".join(help_text("run-proc-vs-map").split())
    for name in ("cpubusytasks", "cpumapper", "cpuscript", "nbusycpus"):
        said = re.search(rf"--{name} \S+ .*?\(default (\d+)", text).group(1)
        assert int(said) == getattr(layout, name), name
        if getattr(layout, name) != DEFAULTS[name]:
            assert re.search(rf"--{name} .*?\(default \d+ on this machine's "
                             rf"\d+ CPUs?; {DEFAULTS[name]} where", text), name


def test_csv_help_says_it_appends_and_how_to_start_afresh():
    text = " ".join(help_text("run-proc-vs-map").split())
    assert "--csv PATH Append one row per sample" in text
    assert "To start afresh, remove PATH or name a new one" in text


def test_procfile_defaults_that_differ_say_why():
    for name in ("procvma sweep", "procvma fidelity"):
        text = " ".join(help_text(name).split())
        assert "where run-proc-vs-map reads maps" in text, name


@pytest.mark.parametrize("word", [str(w) for w in vocab.LOCK])
def test_every_design_can_be_the_baseline(word):
    every = ",".join(vocab.LOCK)
    plan = planned("--lock", every, "--baseline", word, "--nsamples", "auto")
    assert plan.baseline == word and list(plan.designs) == list(vocab.LOCK)


@pytest.mark.parametrize("num, den", [(str(a), str(b)) for a in vocab.LOCK
                                      for b in vocab.LOCK if a != b])
def test_every_pair_of_designs_can_be_required(num, den):
    from procvma.results.gate import parse_requirement

    every = ",".join(vocab.LOCK)
    plan = planned("--lock", every, "--nsamples", "auto",
                   "--require", f"{num}/{den}>=2")
    assert [(r.num, r.den) for r in plan.requirements] == [(num, den)]
    assert parse_requirement(f"{num}/{den}<0.5").den == den
