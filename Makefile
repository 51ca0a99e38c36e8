# sagakit: every target sets itself up on a fresh machine (Python venv, pinned CDK CLI).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAGE ?= dev
PYTEST_ARGS ?=
BENCH_ARGS ?=

export AWS_DEFAULT_REGION ?= eu-west-1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup demo test lint asl schemas graph synth nag diff deploy bench stress clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/saga: pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

node_modules/.bin/cdk: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(BIN)/saga node_modules/.bin/cdk ## Create the venv and install the pinned CDK CLI

demo: $(BIN)/saga ## Run the onboarding saga offline: happy path, then a compensated failure
	$(BIN)/saga demo

test: setup ## Lint, type-check, and run every test (unit, integration, infra, end-to-end)
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(BIN)/saga ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

asl: $(BIN)/saga ## Write statemachines/<saga>.asl.json from a fresh synth
	$(BIN)/saga asl

schemas: $(BIN)/saga ## Write events/schemas/*.schema.json from the models
	$(BIN)/python -m events.export

graph: $(BIN)/saga ## Draw every saga into docs/<saga>.mmd + .svg (needs Graphviz) and refresh the README's block
	$(BIN)/saga graph --readme

# The pinned CLI only (--no-install): never a different cdk fetched on the fly.
CDK := npx --no-install cdk

synth: setup ## cdk synth STAGE=dev|prod (cdk-nag runs as part of it), then the Lambda asset sizes
	$(CDK) synth -c stage=$(STAGE) --quiet
	$(BIN)/python -m infra.assets cdk.out

nag: $(BIN)/saga ## The acknowledged cdk-nag findings of STAGE (synthesis fails on any other)
	$(BIN)/python -m infra.nag $(STAGE)

diff: setup ## cdk diff STAGE=dev|prod (needs AWS credentials)
	$(CDK) diff -c stage=$(STAGE)

deploy: setup ## cdk deploy STAGE=dev|prod (needs AWS credentials and a bootstrapped account/region)
	$(CDK) deploy -c stage=$(STAGE) --require-approval broadening

clean: ## Remove build output
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache

bench: $(BIN)/saga ## Benchmarks, one table (not part of make test): cold start, cost, throughput, synth, test loop
	$(BIN)/python -m bench $(BENCH_ARGS)

stress: $(BIN)/saga ## 1,000 random failure schedules through the offline stack (not part of make test)
	SAGAKIT_SCHEDULES=1000 $(BIN)/pytest -q tests/reliability/offline/test_failure_matrix.py \
		-k random_failure_schedules $(PYTEST_ARGS)
