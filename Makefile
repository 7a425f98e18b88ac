# make test   lint, types and the whole suite (what CI runs)
# make dev    Temporal dev server + worker + API in one terminal, until Ctrl-C (data persists in data/)
# make demo   the same, loading the demo cases once the API is up
# make bench  benchmarks, small sizes (under 10 minutes);  make bench-full  the issue's sizes;  make fmt / lint / clean

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# mypy fails on a folder with no Python files, so only folders that have some are checked.
SOURCE_DIRS := core workflows activities worker api store cli bench
MYPY_DIRS = $(foreach dir,$(SOURCE_DIRS),$(if $(shell find $(dir) -name '*.py' -print -quit 2>/dev/null),$(dir)))

.PHONY: help test test-nightly lint fmt dev demo dev-prepare bench bench-full browser clean

help:
	@sed -n 's/^# //p' Makefile | head -4

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(if $(MYPY_DIRS),$(VENV)/bin/mypy $(MYPY_DIRS),@echo "mypy: no source folders yet")

test: lint browser
	$(VENV)/bin/pytest -q

# Nightly: the property-based tests with many more examples (2,000 each), and the tests relative to today run
# on every troublesome day of the year (tests/unit/test_any_day.py).
test-nightly: $(STAMP)
	HYPOTHESIS_PROFILE=nightly $(VENV)/bin/pytest -q --timeout 3600 tests/unit/rules/test_case_properties.py \
		tests/unit/rules/test_import_as_live.py
	MAPPA_SWEEP=all $(VENV)/bin/pytest -q --timeout 3600 tests/unit/test_any_day.py

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Debian's Chromium for the browser tests. Best effort: without it those tests skip and say why.
browser:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "chromium missing and cannot be installed here (needs root and apt-get): browser tests will skip"; \
	  exit 0; \
	fi; \
	echo "installing Debian chromium and chromium-driver for the browser tests"; \
	log=$$(mktemp); \
	if DEBIAN_FRONTEND=noninteractive apt-get update -q >"$$log" 2>&1 \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >>"$$log" 2>&1; then \
	  echo "chromium installed: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	else \
	  echo "WARNING: chromium install failed, browser tests will skip; last lines of apt's output:"; \
	  tail -n 5 "$$log"; \
	fi; \
	rm -f "$$log"

dev-prepare: $(STAMP) data/dev-codec.key
	@if [ -f store/alembic.ini ]; then \
	  echo "alembic upgrade head"; $(VENV)/bin/alembic -c store/alembic.ini upgrade head; \
	else \
	  echo "store/alembic.ini does not exist yet: no migrations to run"; \
	fi

# Never regenerated: payloads already in data/temporal.db were encrypted with this key.
data/dev-codec.key: | $(STAMP)
	mkdir -p data
	$(PY) -m worker.devkeys $@

dev: dev-prepare
	exec $(PY) -m worker.devstack

demo: dev-prepare
	exec $(PY) -m worker.devstack --demo

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

# 10,000 open cases, 100,000 cases in the ops query, 25-year case: run by hand, written to its own file.
bench-full: $(STAMP)
	$(PY) -m bench --full --output bench/results/full.json $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
	find . -path ./.git -prune -o -path ./data -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
