# byok: the two commands that matter on a fresh machine are `make run` and `make test`.
SHELL := /bin/bash
UV_VERSION := 0.13.9
export BYOK_RUN_DIR ?= $(CURDIR)/.run
export BYOK_CACHE_DIR ?= $(HOME)/.cache/byok
export UV_CACHE_DIR ?= $(BYOK_CACHE_DIR)/uv
# uv from PATH when present, else the one pip installs for python3 (pyenv shims may not see it yet).
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
PY := $(CURDIR)/.venv/bin/python

.PHONY: install up down status run demo test test-unit lint bench soak stack-up stack-down services-up services-down clean

install: ## the Python workspace (uv, pinned by uv.lock)
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	@$(UV) sync --frozen --quiet
	@echo "[make] Python workspace ready (.venv)"

stack-up: ## Kafka, Vault, PostgreSQL on 127.0.0.1 (BYOK_KAFKA_BROKERS=3 for a replicated Kafka cluster)
	@infra/local/stack.sh up

stack-down:
	@infra/local/stack.sh down

services-up: install
	@infra/local/services.sh up

services-down:
	@infra/local/services.sh down

up: install stack-up services-up ## the stack plus the services, in the background

status: ## what runs, and how often each service was restarted
	@infra/local/stack.sh status
	@infra/local/services.sh status

down: ## services and stack, stopped
	@infra/local/services.sh down || true
	@infra/local/stack.sh down

run: export BYOK_KAFKA_SASL ?= 1
run: up ## the main job: stack (Kafka with SASL/SCRAM and ACLs: one principal per service), services, a demo round trip
	@$(PY) -m byok_client.demo

demo:
	@$(PY) -m byok_client.demo

test: lint ## lint, then every test against the real stack, which it starts and stops itself
	@infra/local/test.sh

test-unit: install
	@$(PY) -m pytest -q tests/unit

LINT_PATHS := libs services tests bench infra
lint: install ## ruff check, ruff format --check, mypy
	@$(PY) -m ruff check $(LINT_PATHS)
	@$(PY) -m ruff format --check --quiet $(LINT_PATHS)
	@$(PY) -m mypy libs/events/src libs/sealing/src libs/core/src libs/client/src libs/cli/src libs/pricing/src \
		services/keyvault/src services/inference/src services/billing/src infra/kafka/topics.py infra/vault/bootstrap.py \
		infra/postgres/ping.py
	@echo "[make] lint clean"

bench: install ## benchmarks that print their figures (start the stack first: make stack-up)
	@infra/local/bench.sh

soak: install ## a 10-minute steady load on the supervised pipeline: RSS, fds, lag, p99 into .run/soak/ (CSV, PNG)
	@infra/local/bench.sh bench/soak/soak.py

clean: down
	rm -rf .run
