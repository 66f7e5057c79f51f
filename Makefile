# The two commands: `make run` and `make test`. Every target sets up what it needs once.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: run test services host stop lint bench setup pytest clean

$(VENV_STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NPM_STAMP): package.json package-lock.json $(wildcard patches/*.patch)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## setup: the virtualenv and the local emulators, installed once
setup: $(VENV_STAMP) $(NPM_STAMP)

## run: start the emulators, the local channel and the function host; Ctrl-C stops them all
run: setup
	$(PY) -m dev.run

## test: lint, then the whole suite (unit, integration, end to end)
test: setup lint pytest

pytest: setup
	@$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: the suite is broken" >&2; fi; \
	exit $$status

## services: start Azurite and the Cosmos DB emulator in the background
services: setup
	$(PY) -m dev.services start

## host: run only the function host, in the foreground, with the current environment
host: setup
	$(PY) -m dev.host

## stop: stop what `make services` started
stop:
	@if [ -x $(PY) ]; then $(PY) -m dev.services stop; fi

## lint: ruff and mypy (strict for bot/)
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## bench: timing figures, printed as a table and written to bench/results/
bench: setup
	$(PY) -m bench

clean: stop
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache
