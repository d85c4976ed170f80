# arsync developer commands. Every target installs what it needs into project-local virtual environments
# (.venv for the code, .tools/sam for the SAM CLI) with pinned versions; nothing is installed globally.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The first interpreter that really runs (a pyenv shim for a version that is not selected does not).
PYTHON ?= $(shell for p in python3.13 $(wildcard /root/.pyenv/versions/3.13*/bin/python3.13) python3; do \
	if $$p -c 'import sys' >/dev/null 2>&1; then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
SAM := .tools/sam/bin/sam
SAM_VERSION := 1.170.0
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1
# sam build resolves python3.13 from PATH: the project venv provides it.
SAM_PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help dev lint format typecheck validate build pytest test demo serve events health-model health-report bench bench-curve soak clean

help:
	@echo "make demo       guided tour against the local stack (exits non-zero if anything misbehaves)"
	@echo "make test       everything CI runs: lint, types, template checks, arm64 build, all tests"
	@echo "make serve      local stack on http://127.0.0.1:3000 until Ctrl-C"
	@echo "make build      sam build (arm64 layer) + check every compiled extension is aarch64"
	@echo "make validate   sam validate --lint and cfn-lint"
	@echo "make bench      performance against the limits (bench/results.json, docs/performance.md)"
	@echo "make health-model / health-report   retrain the health model / rewrite docs/health-model.md"

$(BIN)/.installed: requirements-dev.txt shared/requirements.txt shared/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

$(SAM):
	$(PYTHON) -m venv .tools/sam
	.tools/sam/bin/python -m pip install --quiet --upgrade pip==26.3
	.tools/sam/bin/python -m pip install --quiet aws-sam-cli==$(SAM_VERSION)

dev: $(BIN)/.installed $(SAM)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(BIN)/.installed
	$(BIN)/mypy shared/arsync functions local tools tests

validate: $(BIN)/.installed $(SAM)
	$(SAM) validate --lint --region us-east-1
	$(BIN)/cfn-lint template.yaml

build: $(BIN)/.installed $(SAM)
	PATH="$(SAM_PATH)" $(SAM) build --parallel
	$(BIN)/python tools/check_arm64.py .aws-sam/build/SharedLayer

pytest: $(BIN)/.installed
	$(BIN)/pytest -n 2 --dist loadfile -m "not soak"

soak: $(BIN)/.installed
	$(BIN)/pytest -m soak

test: lint typecheck validate build pytest

demo: $(BIN)/.installed
	$(BIN)/python -m local.demo

serve: $(BIN)/.installed
	$(BIN)/python -m local.stack --port 3000

bench: $(BIN)/.installed
	$(BIN)/python -m bench.run

bench-curve: $(BIN)/.installed
	$(BIN)/python -m bench.run --curve

health-model: $(BIN)/.installed
	$(BIN)/python -m tools.health.train

health-report: $(BIN)/.installed
	$(BIN)/python -m tools.health.report

events: $(BIN)/.installed $(SAM)
	$(BIN)/python tools/generate_events.py

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
