# Every target creates/uses .venv on its own.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export PYTHONDONTWRITEBYTECODE := 1
LINT := src tests scripts $(wildcard benchmarks)

.PHONY: install demo test check fmt bench unasync clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lark-service demo

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

check: $(STAMP)
	$(PY) -m ruff format --check $(LINT)
	$(PY) -m ruff check $(LINT)
	$(PY) -m mypy
	$(PY) scripts/unasync.py --check

fmt: $(STAMP)
	$(PY) scripts/unasync.py
	$(PY) -m ruff format $(LINT)
	$(PY) -m ruff check --fix $(LINT)

unasync: $(STAMP)
	$(PY) scripts/unasync.py

bench: $(STAMP)
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache dist build
