# SPDX-License-Identifier: GPL-2.0-or-later
"""How the package is put together, as a user and a maintainer meet it:
`procvma --help` lists every subcommand without loading the heavy
libraries or the C core, every listed subcommand is there, and no module
of the package imports one that imports it back."""

import ast
import os
import re
import subprocess
import sys

import click
import pytest

from procvma.cli import main as cli

PKG = os.path.dirname(os.path.dirname(cli.__file__))     # procvma/
HEAVY = ("scipy", "pandas", "numpy", "matplotlib", "procvma._core")


def loaded_by(code):
    """The heavy modules loaded by running code in a fresh interpreter."""
    probe = (f"import sys\ntry:\n    {code}\nexcept SystemExit:\n    pass\n"
             f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})),"
             " file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                       text=True, timeout=60)
    return r.stdout, eval(r.stderr.strip().splitlines()[-1])


def test_procvma_help_lists_every_subcommand_without_loading_heavy_modules():
    out, heavy = loaded_by("sys.argv[0] = 'procvma'; from procvma.cli.main import main; "
                           "main(['--help'])")
    assert heavy == []
    for name, (_, one_line) in cli.main.lazy_subcommands.items():
        assert re.search(rf"(?m)^  {name} +{re.escape(one_line)}$", out), name


@pytest.mark.parametrize("name", sorted(cli.main.lazy_subcommands))
def test_a_subcommands_help_loads_no_library_it_only_needs_to_run(name):
    out, heavy = loaded_by("sys.argv[0] = 'procvma'; from procvma.cli.main import main; "
                           f"main([{name!r}, '--help'])")
    # The C core is cheap to load, and show and torture need it to run at all.
    assert [m for m in heavy if not m.startswith("procvma._core")] == []
    assert out.startswith(f"Usage: procvma {name} ")


def test_run_proc_vs_map_help_loads_no_heavy_module():
    out, heavy = loaded_by("from procvma.cli.main import run_proc_vs_map; "
                           "run_proc_vs_map(['--help'])")
    assert heavy == [] and "--nsamples" in out


def test_every_listed_subcommand_is_a_command_of_that_name():
    ctx = click.Context(cli.main)
    for name in cli.main.lazy_subcommands:
        cmd = cli.main.get_command(ctx, name)
        assert cmd.name == name and not cmd.help.startswith("(unavailable")


# The rooms of the package, each above the ones it may import from: a
# module imports its own room and rooms of a lower rank, never one of the
# same rank or above (docs/contributing.md draws the same picture).
RANK = {"cli": 5, "fidelity": 4, "run": 3, "results": 2, "sim": 1, "host": 1}
FOUNDATION = 0      # procvma/*.py: the vocabulary, the C core's loader


def room_of(module):
    """procvma.results.stats -> "results"; procvma.vocab -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in RANK else None


def rank(room):
    return FOUNDATION if room is None else RANK[room]


def package_modules():
    """Every module of the package, as its dotted name -> its path."""
    found = {}
    for dirpath, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, f), os.path.dirname(PKG))
                name = rel[:-3].replace(os.sep, ".")
                found[name.removesuffix(".__init__")] = os.path.join(dirpath, f)
    return found


def imports_of(path, modules):
    """The package's modules that path's module imports, lazily or not
    (the command group's "procvma.module:attr" strings included)."""
    with open(path) as f:
        src = f.read()
    found = set(re.findall(r"(procvma(?:\.\w+)+):\w+", src))
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("procvma"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("procvma.")}
    return found & set(modules)


def test_no_module_imports_one_that_imports_it_back():
    modules = package_modules()
    graph = {m: imports_of(path, modules) for m, path in modules.items()}
    done, cycles = set(), []

    def visit(m, path):
        if m in path:
            cycles.append(" -> ".join(path[path.index(m):] + [m]))
        elif m not in done:
            for dep in sorted(graph[m]):
                visit(dep, path + [m])
            done.add(m)

    for m in sorted(modules):
        visit(m, [])
    assert cycles == []


def test_rooms_import_only_the_rooms_below_them():
    modules = package_modules()
    upward = []
    for m, path in sorted(modules.items()):
        here = room_of(m)
        for dep in sorted(imports_of(path, modules)):
            there = room_of(dep)
            if there != here and rank(there) >= rank(here) and dep != "procvma":
                upward.append(f"{m} -> {dep}")
    assert upward == []
