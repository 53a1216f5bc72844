PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config.example.toml

.PHONY: run test lint typecheck pytest rules-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/treaty-monitor run --config $(CONFIG)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check monitor tests benchmarks
	$(BIN)/ruff format --check monitor tests benchmarks

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

rules-test: $(VENV)/.installed-test
	$(BIN)/treaty-monitor rules check rules
	$(BIN)/treaty-monitor rules test rules

pytest: $(VENV)/.installed-test
	$(BIN)/pytest

test: lint typecheck rules-test pytest

bench: $(VENV)/.installed-test
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache state
