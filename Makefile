# The README's commands. Each one sets up what it needs on a fresh machine: the virtualenv with the
# package and its dev extras, and the control-plane binaries (built once from Go modules, cached in
# ~/.cache/kontinue-sandbox, or taken from KUBEBUILDER_ASSETS).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint typecheck unit integration bench binaries clean

$(INSTALLED): pyproject.toml setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(PY) -e '.[dev]'
	touch $@

binaries: $(INSTALLED)
	$(BIN)/kontinue-sandbox binaries

demo: $(INSTALLED) binaries
	$(PY) -m airflow_provider_kontinue.sandbox.demo

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy

test: lint typecheck binaries
	$(PY) -m pytest -ra $(PYTEST_ARGS)

unit: $(INSTALLED)
	$(PY) -m pytest -ra tests/unit $(PYTEST_ARGS)

bench: $(INSTALLED) binaries
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
