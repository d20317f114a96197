# SPDX-License-Identifier: GPL-2.0-or-later
#
# make run   - set everything up, then print the default benchmark table
# make test  - set everything up, then run the whole test suite
#
# Set-up is idempotent: Debian packages (as root), a .venv, an editable
# install that builds the C core.  Nothing is fetched that is already there.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
APT_PKGS := gcc make pkg-config liburcu-dev python3-dev python3-venv
STAMP    := $(VENV)/.procvma-installed
CSRC     := $(wildcard csrc/*.c csrc/*.h)

# The CI regression gate: a short benchmark of both designs, which must keep
# the per-VMA design at least 10x faster on median opavg.
GATE_CSV  := build/gate/smaps_rollup.csv
GATE_ARGS := --nsamples 5 --duration 2 --busyduration 2 --procfile smaps_rollup --seed 1

.PHONY: run test setup sysdeps test-c test-sanitize bench-gate clean

run: setup
	$(BIN)/run-proc-vs-map

test: setup
	$(BIN)/python -m pytest -q tests
	$(MAKE) --no-print-directory bench-gate

bench-gate: setup
	@mkdir -p $(dir $(GATE_CSV))
	$(BIN)/run-proc-vs-map $(GATE_ARGS) --csv $(GATE_CSV)
	$(BIN)/procvma gate --current $(GATE_CSV) --require 'mmap/vma>=10'

setup: $(STAMP)

sysdeps:
	@missing=""; for p in $(APT_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "error: need root to install:$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(BIN)/python: | sysdeps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml setup.py procvma/_build_core.py $(CSRC) | sysdeps
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf build *.egg-info procvma/_core*.so procvma/procvma-kmapper tests/c/build
