# Stoker's one entry point. `make help` lists the targets.
.DEFAULT_GOAL := all
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check -q -c constraints.txt
# This machine's pip config lists local indexes that most packages are not in; say so once, not per package.
QUIET_PIP := sed -u '/is ignored: it is neither a file nor a directory/d'
STAMP := $(VENV)/.installed
PROM_STAMP := .tools/bin/promtool
PYTEST_ARGS ?=

.PHONY: all help install run test lint fmt typecheck pytest dashboards bench clean

all: test ## Lint, type-check and run the whole suite

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)

$(STAMP): $(PY) constraints.txt requirements-dev.txt packages/queue/pyproject.toml services/api/pyproject.toml services/worker/pyproject.toml
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip 2>&1 | $(QUIET_PIP)
	$(PIP) -r requirements-dev.txt 2>&1 | $(QUIET_PIP)
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the three packages with the dev tools

run: install ## Run Redis, the API on 127.0.0.1:8000 and one worker; Ctrl-C stops them all
	$(PY) scripts/dev_stack.py

lint: install ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install ## mypy --strict over the packages
	$(VENV)/bin/mypy

# The monitoring tests run promtool and a real Prometheus server.
$(PROM_STAMP): scripts/install-prometheus.sh
	scripts/install-prometheus.sh

pytest: install $(PROM_STAMP) ## The test suite alone
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck pytest ## Install, lint, type-check and run the whole suite

dashboards: install ## Regenerate monitoring/dashboards/*.json
	$(PY) -m monitoring.dashboards

bench: install ## Benchmarks, printed as a table
	$(PY) benchmarks/queue_bench.py
	$(PY) benchmarks/api_bench.py
	$(PY) benchmarks/embed_bench.py

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
