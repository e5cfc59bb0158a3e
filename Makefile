# Every target creates .venv itself when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 2024

.PHONY: dev test test-integration lint bench setup clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the product: embedded PostgreSQL, migrations, sample registry, LangGraph server on :2024.
dev: $(STAMP)
	$(BIN)/icp dev --port $(PORT)

## Debian's Chromium for the browser tests (Playwright drives it; it downloads no browser).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "make test: the browser tests need Debian's chromium at $(CHROMIUM)" >&2; exit 1; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

## The cards' toolchain (ui/package-lock.json): types for `make lint`, React and the LangGraph
## SDK for the browser tests' chat host. Installed once per lock file, into ui/node_modules.
UI_STAMP := ui/node_modules/.installed
$(UI_STAMP): ui/package.json ui/package-lock.json
	@command -v npm >/dev/null || { echo "make: the generative-UI tests and checks need Node.js 20+ with npm" >&2; exit 1; }
	npm ci --prefix ui --no-audit --no-fund --loglevel=error >/dev/null
	touch $(UI_STAMP)

## Run the whole suite (embedded PostgreSQL unless DATABASE_URL/TEST_DATABASE_URL is set).
test: $(STAMP) $(CHROMIUM) $(UI_STAMP)
	$(BIN)/python -m pytest

test-integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

lint: $(STAMP) $(UI_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	npm --prefix ui run --silent typecheck

setup: $(STAMP)
	$(BIN)/icp db setup

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .data .langgraph_api ui/node_modules
