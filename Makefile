# selpo's task runner. `make run` serves the bundled region; `make test` checks everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
export SELPO_DATABASE_URL ?= sqlite:///var/selpo.db

.PHONY: run test install install-dev fmt lint types test-pg check migrate serve bench clean failover-drill

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): $(BIN)/python pyproject.toml clients/python/pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]" -e ./clients/python
	touch $@ $(STAMP)

install: $(STAMP)
install-dev: $(DEV_STAMP)

## run: set up, migrate, import the bundled region, load a SIMULATED week (first start only)
## and serve with the worker on http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/selpo db upgrade
	$(BIN)/selpo import-region
	$(BIN)/selpo timetable generate --if-missing
	$(BIN)/selpo first-start-keys
	$(BIN)/selpo simulate-history --days 7 --scale 0.1 --if-empty
	$(BIN)/selpo serve --host 127.0.0.1 --port 8000 --worker

migrate: $(STAMP)
	$(BIN)/selpo db upgrade

serve: $(STAMP)
	$(BIN)/selpo serve

fmt: $(DEV_STAMP)
	$(BIN)/ruff format src tests bench clients/python
	$(BIN)/ruff check --fix src tests bench clients/python

lint: $(DEV_STAMP)
	$(BIN)/ruff format --check src tests bench clients/python
	$(BIN)/ruff check src tests bench clients/python

types: $(DEV_STAMP)
	$(BIN)/mypy

## test: lint, type-check and run the whole suite (PostgreSQL half runs when reachable)
test: lint types
	$(BIN)/pytest $(PYTEST_ARGS)

test-pg: $(DEV_STAMP)
	SELPO_TEST_DATABASE_URL=$${SELPO_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/selpo_test} $(BIN)/pytest $(PYTEST_ARGS)

check: test

## bench: every benchmark (figures go to docs/performance.md)
bench: $(DEV_STAMP)
	$(BIN)/python bench/pickup_search.py
	$(BIN)/python bench/eta.py
	$(BIN)/python bench/planning.py
	$(BIN)/python bench/shipments.py
	$(BIN)/python bench/api.py

## failover-drill: kill the primary of a three-node pg_auto_failover cluster under traffic
## (installs postgresql-15-auto-failover; DRILL_ARGS=--long for the long form)
failover-drill: $(DEV_STAMP)
	scripts/failover-drill.sh $(DRILL_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
