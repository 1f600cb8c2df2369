PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: install test lint bench fuzz demo fixtures-update

install:
	$(PIP) install -e '.[test]'

demo: install
	migrate-secrets --exit-zero fixtures/archon/input

test:
	$(PYTHON) -m pytest -q

lint:
	$(PYTHON) -m ruff check codemod tests bench
	$(PYTHON) -m mypy

bench:
	$(PYTHON) bench/run.py

fixtures-update:
	$(PYTHON) tests/update_fixtures.py
