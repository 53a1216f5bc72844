PYTHON     ?= python3.11
VENV       ?= .venv
BIN        := $(VENV)/bin
CONFIG     ?= config.example.toml
# uv installs exactly what uv.lock records; uv itself is pinned and kept in its own small venv.
UV_VERSION := 0.13.9
TOOLS      := .tools
UV         := $(TOOLS)/bin/uv
UV_ENV     := UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON=$(PYTHON) UV_PYTHON_DOWNLOADS=never

.PHONY: run test lint typecheck pytest rules-test bench lock clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --frozen: install from uv.lock as committed, never re-resolve; tests/test_lockfile.py fails
# when pyproject.toml and the lock disagree.
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV_ENV) $(UV) sync --quiet --frozen --inexact
	touch $@

$(VENV)/.installed-test: pyproject.toml uv.lock | $(UV)
	$(UV_ENV) $(UV) sync --quiet --frozen --extra test
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

# Re-resolve uv.lock from pyproject.toml's ranges (the only target that asks the index for news).
lock: | $(UV)
	$(UV_ENV) $(UV) lock

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .pytest_cache .ruff_cache state
