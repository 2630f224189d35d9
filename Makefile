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
K8S_STAMP := .tools/bin/helm
HELM := .tools/bin/helm
CHECKOV_VENV ?= .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHART := charts/stoker
PYTEST_ARGS ?=

.PHONY: all help install run test lint fmt typecheck pytest dashboards bench chaos clean kube-tools checkov-install chart-sync chart-lint chart-test checkov k8s images image-test

all: test ## Lint, type-check and run the whole suite

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)

$(STAMP): $(PY) constraints.txt requirements-dev.txt packages/queue/pyproject.toml services/api/pyproject.toml services/worker/pyproject.toml packages/client/pyproject.toml
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip 2>&1 | $(QUIET_PIP)
	$(PIP) -r requirements-dev.txt 2>&1 | $(QUIET_PIP)
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the three packages with the dev tools

run: install ## stoker dev: Redis, the API on 127.0.0.1:8000, the chart's worker pools autoscaled; Ctrl-C stops all
	$(VENV)/bin/stoker dev

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

# The chart tests run helm; k8s/ renders the chart with it (kubectl kustomize --enable-helm needs Helm 3).
$(K8S_STAMP): scripts/install-k8s-tools.sh
	scripts/install-k8s-tools.sh

kube-tools: $(K8S_STAMP) ## helm and kubectl into .tools/bin

# checkov lives in its own virtualenv: in .venv it would downgrade packages that torch needs.
$(CHECKOV):
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --disable-pip-version-check -q checkov==3.3.30 2>&1 | $(QUIET_PIP)

checkov-install: $(CHECKOV) ## Create .venv-checkov with checkov (CI runs it; the checkov test skips without it)

checkov: install $(CHECKOV) $(K8S_STAMP) ## checkov over the chart, with the skip list of tests/deploy/test_checkov.py
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/deploy/test_checkov.py

# Helm reads only files inside the chart: the dashboards and rules are copied in, and a test fails on drift.
chart-sync: ## Copy monitoring/dashboards and monitoring/rules into the chart's files/
	rm -rf $(CHART)/files/dashboards $(CHART)/files/rules
	mkdir -p $(CHART)/files/dashboards $(CHART)/files/rules
	cp monitoring/dashboards/*.json $(CHART)/files/dashboards/
	cp monitoring/rules/stoker.rules.yaml $(CHART)/files/rules/

chart-lint: $(K8S_STAMP) ## helm lint --strict, with the defaults and with every ci/*-values.yaml
	$(HELM) lint --strict $(CHART)
	for f in $(CHART)/ci/*-values.yaml; do $(HELM) lint --strict --quiet $(CHART) -f "$$f" || exit 1; done

chart-test: install $(K8S_STAMP) ## The chart's tests alone (tests/deploy)
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/deploy $(PYTEST_ARGS)

k8s: install $(K8S_STAMP) ## Regenerate k8s/base and k8s/overlays from the chart (tests/k8s fails on drift)
	HELM=$(HELM) $(PY) scripts/render_k8s.py

pytest: install $(PROM_STAMP) $(K8S_STAMP) ## The test suite alone
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck pytest ## Install, lint, type-check and run the whole suite

dashboards: install ## Regenerate monitoring/dashboards/*.json
	$(PY) -m monitoring.dashboards
	$(MAKE) --no-print-directory chart-sync

# Each peer in its own virtualenv under build/bench-venvs, pinned by benchmarks/peers/versions.txt; under 10 minutes.
bench: install ## Stoker against arq, rq, saq, dramatiq and taskiq: one table, measured side by side in one run
	$(PY) benchmarks/compare.py

# Real Redis (AOF), API and worker processes on loopback, SIGKILL/SIGTERM/SIGSTOP; bounded, under 10 minutes.
chaos: install ## The chaos scenarios at full size, printed as one table (exit 1 if any fails)
	$(PY) -m tests.chaos

# Container images with podman from a local base, no registry needed (scripts/images/; storage in build/containers).
images: ## Build the API and worker images (localhost/stoker-{api,worker}:<commit> and :dev)
	scripts/images/prepare.sh
	scripts/images/build.sh

image-test: install ## Run the images that `make images` built: lint, contents, jobs through both
	source scripts/images/env.sh && STOKER_IMAGE_TESTS=1 $(VENV)/bin/pytest -q -p no:cacheprovider tests/images $(PYTEST_ARGS)

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
