#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Drop-in for the reference harness's run-proc-vs-map.sh: takes its exact
# command lines, for example
#
#   scripts/run-proc-vs-map.sh --nsamples 20 --rawdata -- --busyduration 2 --procfile smaps_rollup
#
# and runs procvma's run-proc-vs-map with them: the repository's .venv
# (made by "make setup") first, else whatever is on PATH.

here=$(dirname "$0")
exe="$here/../.venv/bin/run-proc-vs-map"
if ! test -x "$exe"
then
	exe=$(command -v run-proc-vs-map) || {
		echo "$0: run-proc-vs-map not found: run 'make setup' first" >&2
		exit 127
	}
fi

# The first output line echoes the command as the user typed it.
PROCVMA_PROG="$0" exec "$exe" "$@"
