# The two commands: `make run` (platform) and `make test` (whole suite). Both install
# what is missing first; stamp files make the second run fast.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := $(VENV)/.stamps
# Slither gets its own virtualenv: its solc-select would shadow solc in ours.
SLITHER_VENV := .venv-slither
SLITHER := $(SLITHER_VENV)/bin/slither
# schemathesis (API schema fuzzing) too: its hypothesis & co. conflict with brownie's pins.
SCHEMATHESIS_VENV := .venv-schemathesis
SCHEMATHESIS_VERSION := 4.32.5
OPENAPI_VALIDATOR_VERSION := 0.9.0
SCHEMATHESIS := $(SCHEMATHESIS_VENV)/.installed-$(SCHEMATHESIS_VERSION)-$(OPENAPI_VALIDATOR_VERSION)
# `make fuzz-api`: the schema fuzz test with a larger budget (examples per operation and
# phase; `make test` runs 150) and, when given, another seed: `make fuzz-api FUZZ_SEED=7`.
FUZZ_EXAMPLES ?= 1000
FUZZ_SEED ?=
SOURCES := $(shell find contracts -name '*.sol' 2>/dev/null)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# The test suite's throwaway Anvil runs on a free port unless one is given.
TEST_CHAIN_PORT ?= $(shell python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export TEST_CHAIN_PORT

.PHONY: run test setup compile clean bench-gas bench-api bench-bulk bench-reliability bench-ledger-sm bench-scale slither \
	fuzz-api

run: setup compile
	$(PY) -m scripts.run

# Two pytest processes side by side (the contract tests, the rest), or one on the tests
# PYTEST_ARGS names (or with TEST_JOBS=1): scripts/test_suite.py
test: setup compile $(SLITHER) $(SCHEMATHESIS)
	$(PY) -m scripts.test_suite $(PYTEST_ARGS)

setup: $(STAMPS)/python $(STAMPS)/npm $(VENV)/bin/anvil
	@$(PY) -m scripts.install_solc

compile: build/.compiled

bench-gas: setup compile
	$(PY) bench/gas.py

bench-api: setup compile
	$(PY) bench/api.py

bench-bulk: setup compile
	$(PY) bench/bulk.py

# `make bench-reliability BENCH_ARGS="--quick --only load,idle_chain"` for a part of it
bench-reliability: setup compile
	$(PY) bench/reliability.py $(BENCH_ARGS)

# 100,000 invoices across 200 merchants with planted anomalies: lists, search, dashboards,
# verification, the indexer, the detector (bench/results/scale.json); BENCH_ARGS for smaller runs
bench-scale: setup compile
	$(PY) bench/scale.py $(BENCH_ARGS)

# the receivables ledger's state machine at its acceptance length (make test runs 400 steps)
LEDGER_SM_STEPS ?= 5000
bench-ledger-sm: setup compile
	RECEIVABLE_SM_STEPS=$(LEDGER_SM_STEPS) RECEIVABLE_SM_RESULT=bench/results/receivable_state_machine.json \
		$(PY) -m pytest --network anvil tests/contracts/test_receivable_ledger_property.py -q -p no:randomly -s

fuzz-api: setup compile $(SCHEMATHESIS)
	SCHEMA_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(if $(FUZZ_SEED),SCHEMA_FUZZ_SEED=$(FUZZ_SEED)) \
		$(PY) -m pytest --network anvil tests/backend/test_backend_schema_fuzz.py -q -s $(PYTEST_ARGS)

slither: setup $(SLITHER)
	$(SLITHER) contracts --solc-standard-json --solc "$$($(PY) -m scripts.install_solc --path)" \
		--solc-remaps "@openzeppelin=node_modules/@openzeppelin" --filter-paths node_modules

clean:
	rm -rf var build reports

$(STAMPS)/system: scripts/ensure_system.sh
	@scripts/ensure_system.sh
	@mkdir -p $(STAMPS) && touch $@

$(VENV)/bin/python: | $(STAMPS)/system
	$(PYTHON) -m venv $(VENV)

# the postgres extra (psycopg): the multi-process tests run on a throwaway PostgreSQL too;
# the browser extra (Playwright, no browser download: tests/browser drive Debian's chromium)
$(STAMPS)/python: pyproject.toml Makefile | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[postgres,browser]'
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/npm: package.json package-lock.json | $(STAMPS)/system
	npm ci --ignore-scripts --no-audit --no-fund
	@mkdir -p $(STAMPS) && touch $@

$(SLITHER): | $(STAMPS)/system
	$(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install --quiet --disable-pip-version-check slither-analyzer==0.11.6

$(SCHEMATHESIS): | $(STAMPS)/system
	$(PYTHON) -m venv $(SCHEMATHESIS_VENV)
	$(SCHEMATHESIS_VENV)/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION) \
		openapi-spec-validator==$(OPENAPI_VALIDATOR_VERSION)
	@touch $@

$(VENV)/bin/anvil: $(STAMPS)/npm | $(VENV)/bin/python
	ln -sf "$$($(PY) -c 'from scripts.chain import anvil_binary; print(anvil_binary())')" $@

build/.compiled: $(SOURCES) brownie-config.yaml | setup
	$(VENV)/bin/brownie compile --all
	@touch $@
