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

from procvma import cli

PKG = os.path.dirname(cli.__file__)
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
    out, heavy = loaded_by("sys.argv[0] = 'procvma'; from procvma.cli import main; "
                           "main(['--help'])")
    assert heavy == []
    for name, (_, one_line) in cli.main.lazy_subcommands.items():
        assert re.search(rf"(?m)^  {name} +{re.escape(one_line)}$", out), name


@pytest.mark.parametrize("name", sorted(cli.main.lazy_subcommands))
def test_a_subcommands_help_loads_no_library_it_only_needs_to_run(name):
    out, heavy = loaded_by("sys.argv[0] = 'procvma'; from procvma.cli import main; "
                           f"main([{name!r}, '--help'])")
    # The C core is cheap to load, and show and torture need it to run at all.
    assert [m for m in heavy if not m.startswith("procvma._core")] == []
    assert out.startswith(f"Usage: procvma {name} ")


def test_run_proc_vs_map_help_loads_no_heavy_module():
    out, heavy = loaded_by("from procvma.cli import run_proc_vs_map; "
                           "run_proc_vs_map(['--help'])")
    assert heavy == [] and "--nsamples" in out


def test_every_listed_subcommand_is_a_command_of_that_name():
    ctx = click.Context(cli.main)
    for name in cli.main.lazy_subcommands:
        cmd = cli.main.get_command(ctx, name)
        assert cmd.name == name and not cmd.help.startswith("(unavailable")


def imports_of(path):
    """The package's modules that path's module imports, lazily or not
    (the command group's "procvma.module:attr" strings included)."""
    with open(path) as f:
        src = f.read()
    found = set(re.findall(r"procvma\.(\w+):\w+", src))
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.ImportFrom) and node.module == "procvma":
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("procvma."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names
                      if a.name.startswith("procvma.")}
    return found


def test_no_module_imports_one_that_imports_it_back():
    modules = {f[:-3] for f in os.listdir(PKG) if f.endswith(".py")}
    graph = {m: imports_of(os.path.join(PKG, m + ".py")) & modules for m in modules}
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
