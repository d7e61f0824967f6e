# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/scanbot demo

lint: $(STAMP)
	$(BIN)/ruff check scanbot tests bench
	$(BIN)/ruff format --check scanbot tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -n 3  # each test its own database or schema; the e2e tests mostly wait, so 3 on 2 cores

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/commands.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
