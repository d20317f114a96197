# SPDX-License-Identifier: GPL-2.0-or-later
"""Every command the documentation tells a user to type works as documented.

Each ```sh block of README.md, results/README.md and docs/*.md is a list of commands, one a
line (a line ending in a backslash continues on the next; blank lines and
lines starting with # are skipped).  Each command is one test, named by its
file and line, so a failure says which documented command broke.

A command runs as the user would type it, with the package's console
scripts (run-proc-vs-map, procvma) first on PATH: the bin directory of the
Python running the tests, i.e. the .venv.  A leading ".venv/bin/" is
dropped for the same reason.  Two things change, to keep the suite short:

- a benchmark command (run-proc-vs-map, scripts/run-proc-vs-map.sh,
  procvma sweep, fidelity, calibrate, torture) runs with --duration 1, and
  the sampling ones with --nsamples 2 (1 for fidelity and calibrate, which
  run many configurations or only calibrate): an existing value is
  replaced, a missing one added (the defaults are 10 s and 7 samples);
- nothing else.  Paths, other options and their values are as documented.

Where files go: each block runs in a directory of its own under pytest's
tmp_path, holding a copy of the repository's results/ (so that a command
may read results/sim-smaps_rollup.csv by the path the docs use, and one
that writes there changes the copy, never the shipped files), scripts/
and an empty docs/.  Commands of one block run in order in that directory,
so a later command reads what an earlier one wrote (mine.csv, then
procvma report mine.csv).

A command must exit 0, or the status a trailing "# exit N" comment on its
line names (a gate that must say INCONCLUSIVE, a torture run that must
catch an injected fault).  Commands that must not run here (make itself,
guests of other kernels, long measurements) are documented in ```text
blocks, with the reason in the prose.  --trace needs root: such a command
is skipped, with that reason, when the tests do not run as root.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "results" / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
TIMEOUT_S = 600

# Commands whose samples are shortened, and the --nsamples each gets
# (None: the command has no --nsamples).
SAMPLED = {"run-proc-vs-map": 2, "run-proc-vs-map.sh": 2, "sweep": 2,
           "fidelity": 1, "calibrate": 1, "torture": None}

EXIT_COMMENT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


def documented_commands():
    """(doc file, line number, block id, command text, expected status)
    for every command of every ```sh block, in document order."""
    found = []
    for path in DOCS:
        lines = path.read_text().splitlines()
        in_sh = False
        i = 0
        while i < len(lines):
            line = lines[i]
            fence = line.strip()
            if fence.startswith("```"):
                in_sh = (not in_sh) and fence == "```sh"
                block = (path.name, i + 1)
                i += 1
                continue
            if in_sh and fence and not fence.startswith("#"):
                start = i
                text = line.rstrip()
                while text.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    text = text[:-1] + " " + lines[i].strip()
                status = 0
                m = EXIT_COMMENT.search(text)
                if m:
                    status, text = int(m.group(1)), text[:m.start()]
                found.append((path.relative_to(ROOT).as_posix(), start + 1,
                              block, text.strip(), status))
            i += 1
    return found


COMMANDS = documented_commands()


def _set(argv, option, value):
    """argv with option's value set to value, the option added if absent."""
    out, i, seen = [], 0, False
    while i < len(argv):
        a = argv[i]
        if a == option and i + 1 < len(argv):
            out += [a, value]
            i += 2
            seen = True
            continue
        if a.startswith(option + "="):
            out.append(f"{option}={value}")
            seen = True
        else:
            out.append(a)
        i += 1
    return out if seen else out + [option, value]


def shortened(argv):
    """The documented command with --duration and --nsamples shortened."""
    if argv and argv[0].startswith(".venv/bin/"):
        argv = [argv[0][len(".venv/bin/"):]] + argv[1:]
    name = os.path.basename(argv[0]) if argv else ""
    if name == "procvma" and len(argv) > 1:
        name = argv[1]
    if name not in SAMPLED or "--help" in argv or "--version" in argv:
        return argv
    if "--quick" not in argv:
        argv = _set(argv, "--duration", "1")
    if SAMPLED[name] is not None:
        argv = _set(argv, "--nsamples", str(SAMPLED[name]))
    return argv


def test_the_docs_have_commands():
    """The extraction finds the README's quick start (a guard against a
    fence change that would silently leave nothing to run)."""
    assert any(c[0] == "README.md" and "run-proc-vs-map" in c[3] for c in COMMANDS)


def test_shortening_changes_only_duration_and_nsamples():
    argv = shlex.split("run-proc-vs-map --nsamples 5 --duration 3 --seed 1 --csv a.csv")
    assert shortened(argv) == shlex.split(
        "run-proc-vs-map --nsamples 2 --duration 1 --seed 1 --csv a.csv")
    argv = shlex.split("scripts/run-proc-vs-map.sh --nsamples 20 --rawdata -- --procfile maps")
    assert shortened(argv) == shlex.split(
        "scripts/run-proc-vs-map.sh --nsamples 2 --rawdata -- --procfile maps --duration 1")
    assert shortened(["procvma", "report", "a.csv"]) == ["procvma", "report", "a.csv"]


_workdirs = {}
_failed = {}


def _workdir(block, tmp_path_factory):
    if block not in _workdirs:
        d = tmp_path_factory.mktemp("doc-" + re.sub(r"\W", "-", f"{block[0]}-{block[1]}"))
        shutil.copytree(ROOT / "results", d / "results")
        shutil.copytree(ROOT / "scripts", d / "scripts")
        (d / "docs").mkdir()
        _workdirs[block] = d
    return _workdirs[block]


@pytest.mark.parametrize(
    "doc,line,block,command,status", COMMANDS,
    ids=[f"{c[0]}:{c[1]}" for c in COMMANDS])
def test_documented_command(doc, line, block, command, status, tmp_path_factory):
    argv = shortened(shlex.split(command))
    if "--trace" in argv and os.geteuid() != 0:
        pytest.skip("--trace needs root")
    cwd = _workdir(block, tmp_path_factory)
    env = dict(os.environ)
    env["PATH"] = os.path.join(sys.prefix, "bin") + os.pathsep + env.get("PATH", "")
    env["COLUMNS"] = "100"
    try:
        r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{doc}:{line}: {command!r} ran over {TIMEOUT_S} s")
    except OSError as e:
        pytest.fail(f"{doc}:{line}: {command!r}: {e}")
    if r.returncode != status:
        earlier = _failed.get(block)
        _failed.setdefault(block, f"{doc}:{line}")
        note = f" (an earlier command of this block failed too: {earlier})" if earlier else ""
        pytest.fail(f"{doc}:{line}: {shlex.join(argv)!r} exited {r.returncode}, "
                    f"documented {status}{note}\n--- stdout\n{r.stdout[-3000:]}"
                    f"\n--- stderr\n{r.stderr[-3000:]}")
