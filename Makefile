# The two commands: `make run` and `make test`. Every target sets up what it needs once.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
# checkov lives apart: its pins would downgrade the project's own dependencies.
TOOLS_VENV := .venv-tools
CHECKOV_VERSION := 3.3.30
TOOLS_STAMP := $(TOOLS_VENV)/.installed-$(CHECKOV_VERSION)

# The standard local ports, so local.settings.sample.json (UseDevelopmentStorage=true, the
# emulator's 8081, the local channel's 3978-3981) is true as written; override any of them.
LOCAL_PORTS := AZURITE_BLOB_PORT=$${AZURITE_BLOB_PORT:-10000} \
	AZURITE_QUEUE_PORT=$${AZURITE_QUEUE_PORT:-10001} \
	AZURITE_TABLE_PORT=$${AZURITE_TABLE_PORT:-10002} \
	COSMOS_EMULATOR_PORT=$${COSMOS_EMULATOR_PORT:-8081} \
	LOCAL_CHANNEL_PORT=$${LOCAL_CHANNEL_PORT:-3978} \
	LOCAL_ISSUER_PORT=$${LOCAL_ISSUER_PORT:-3979} \
	LOCAL_TOKEN_PORT=$${LOCAL_TOKEN_PORT:-3980} \
	LOCAL_GRAPH_PORT=$${LOCAL_GRAPH_PORT:-3981}

.PHONY: run test services host stop lint bench setup pytest clean lock lock-check

# The runtime dependencies exactly as Azure installs them (every one pinned and hashed), then the
# development tools on top.
$(VENV_STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NPM_STAMP): package.json package-lock.json $(wildcard patches/*.patch)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(TOOLS_STAMP):
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	@touch $@

## setup: the virtualenv and the local emulators, installed once
setup: $(VENV_STAMP) $(NPM_STAMP)

## run: start the emulators, the local channel and the function host; Ctrl-C stops them all
run: setup
	@$(LOCAL_PORTS) $(PY) -m dev.run

## test: lint, the lock check, then the whole suite (unit, integration, end to end)
test: setup lint lock-check pytest

# requirements.txt is generated from requirements.in: every runtime dependency, transitive ones
# included, pinned with the hashes of its files. uv keeps the pins already in the output file.
LOCK_COMMAND = $(VENV)/bin/uv pip compile requirements.in --quiet --generate-hashes --universal \
	--python-version 3.11 --custom-compile-command "make lock"

## lock: regenerate requirements.txt from requirements.in (after changing requirements.in)
lock: setup
	$(LOCK_COMMAND) -o requirements.txt

## lock-check: fail when requirements.txt is not what requirements.in gives
lock-check: setup
	@tmp=$$(mktemp -d) && cp requirements.txt $$tmp/requirements.txt && \
	$(LOCK_COMMAND) -o $$tmp/requirements.txt && \
	if diff -u requirements.txt $$tmp/requirements.txt; then rm -r $$tmp; \
	else rm -r $$tmp; echo "requirements.txt does not match requirements.in: run make lock" >&2; exit 1; fi

pytest: setup $(TOOLS_STAMP)
	@bash dev/ensure_chromium.sh
	@CHECKOV=$(CURDIR)/$(TOOLS_VENV)/bin/checkov CHECKOV_REQUIRED=1 PLAYGROUND_BROWSER_REQUIRED=1 \
		$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: the suite is broken" >&2; fi; \
	exit $$status

## services: start Azurite and the Cosmos DB emulator in the background
services: setup
	@$(LOCAL_PORTS) $(PY) -m dev.services start

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
