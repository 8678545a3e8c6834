# The README's commands. Each one sets up what it needs on a fresh machine: the virtualenv with the
# provider and its dev extras next to the sandbox (its own distribution in ./sandbox, both
# editable), and the control-plane binaries (built once from Go modules, cached in
# ~/.cache/kontinue-sandbox, or taken from KUBEBUILDER_ASSETS).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint typecheck docs unit unit-pythons wheels bench scale mutation binaries deployment-deps clean

$(INSTALLED): pyproject.toml setup.cfg sandbox/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(PY) -e ./sandbox -e '.[dev]'
	touch $@

binaries: $(INSTALLED)
	$(BIN)/kontinue-sandbox binaries

# What the deployment tier (tests/deployment) runs besides Python: Debian's PostgreSQL server (the
# metadata DB of a real Airflow deployment) and Chromium with its chromedriver (the UI tests).
# Installed with apt-get when missing; a machine without apt fails here, naming what is missing.
DEPLOYMENT_APT := postgresql chromium chromium-driver
deployment-deps:
	@missing=""; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] || command -v initdb >/dev/null || missing="$$missing postgresql"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  echo "== installing for the deployment tier:$$missing"; \
	  command -v apt-get >/dev/null || { echo "deployment-deps: no apt-get here; install$$missing yourself" >&2; exit 1; }; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The demo: a sandbox with the kontinue emulator and the example Functions, one example DAG run end to
# end with `airflow dags test` in a throwaway AIRFLOW_HOME (sqlite), then everything is stopped and
# removed. The screen shows the run's kontinue lines (the worker's own log lines among them); the
# whole Airflow log is kept in $(DEMO_LOG).
DEMO_DAG ?= kontinue_hello
DEMO_LOG ?= /tmp/kontinue-demo.log
demo: $(INSTALLED) binaries
	@set -e; \
	export KONTINUE_SANDBOX_HOME="$$(mktemp -d)" AIRFLOW_HOME="$$(mktemp -d)"; \
	trap '$(BIN)/kontinue-sandbox down >/dev/null || true; rm -rf "$$AIRFLOW_HOME" "$$KONTINUE_SANDBOX_HOME"' EXIT; \
	$(BIN)/kontinue-sandbox up --examples; \
	echo "== the Airflow connection for it: $(BIN)/kontinue-sandbox env"; \
	$(BIN)/kontinue-sandbox env; \
	eval "$$($(BIN)/kontinue-sandbox env --export)"; \
	export AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE=True; \
	mkdir -p "$$AIRFLOW_HOME/dags"; cp example_dags/*.py "$$AIRFLOW_HOME/dags/"; \
	echo "== airflow db migrate (sqlite in a temporary AIRFLOW_HOME)"; \
	$(BIN)/airflow db migrate > "$(DEMO_LOG)" 2>&1; \
	echo "== airflow dags test $(DEMO_DAG)   (full log: $(DEMO_LOG))"; \
	$(BIN)/airflow dags test $(DEMO_DAG) 2>&1 | tee -a "$(DEMO_LOG)" \
	  | grep --line-buffered -E 'kontinue:|kontinue worker|kontinue said|DAG TEST\] (starting|running trigger|Trigger)|Returned value|DagRun Finished' \
	  | sed -E 's/ \[(airflow|task)[^]]*\] loc=[^ ]+//; s/^[0-9T:.-]+Z //; s/\[info +\] //; s/(state=[a-z]+).*/\1/'; \
	grep -q "Marking run .* successful" "$(DEMO_LOG)" && echo "== $(DEMO_DAG) succeeded; stopping the sandbox"

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(INSTALLED)
	$(BIN)/mypy

# The API reference site (mkdocs + mkdocstrings); --strict turns every warning into a failure.
docs: $(INSTALLED)
	$(BIN)/mkdocs build --strict --quiet --site-dir "$${DOCS_SITE:-site}"

test: lint typecheck docs binaries deployment-deps unit-pythons
	$(PY) -m pytest -ra $(PYTEST_ARGS)

unit: $(INSTALLED)
	$(PY) -m pytest -ra tests/unit sandbox/tests/unit $(PYTEST_ARGS)

# The unit tier on the oldest and newest Python the provider supports (requires-python >= 3.10),
# each in its own virtualenv under .venvs/. The interpreters come from pyenv (this machine image
# has several) or python3.X on PATH; a missing one fails with a message, never a silent skip.
PYENV_ROOT ?= $(HOME)/.pyenv
UNIT_PYTHONS ?= 3.10 3.13
VENVS := .venvs
unit-pythons: $(INSTALLED)
	@set -e; for version in $(UNIT_PYTHONS); do \
	  interpreter=$$(ls -d $(PYENV_ROOT)/versions/$$version.*/bin/python3 2>/dev/null | sort -V | tail -n 1); \
	  [ -n "$$interpreter" ] || interpreter=$$(command -v python$$version || true); \
	  if [ -z "$$interpreter" ]; then \
	    echo "unit-pythons: no Python $$version here (looked in $(PYENV_ROOT)/versions and for python$$version on PATH); install it, or set UNIT_PYTHONS" >&2; exit 1; \
	  fi; \
	  venv=$(VENVS)/py$$version; \
	  if [ ! -f $$venv/.installed ] || [ -n "$$(find pyproject.toml setup.cfg sandbox/pyproject.toml -newer $$venv/.installed)" ]; then \
	    $(BIN)/uv venv --quiet --clear --python "$$interpreter" $$venv; \
	    $(BIN)/uv pip install --quiet --python $$venv/bin/python -e ./sandbox -e '.[dev]'; \
	    touch $$venv/.installed; \
	  fi; \
	  echo "== the unit tier on Python $$version ($$interpreter)"; \
	  $$venv/bin/python -m pytest -q -p no:cacheprovider tests/unit sandbox/tests/unit; \
	done

# Every benchmarks/bench_*.py; bench_deployment starts a real Airflow deployment on PostgreSQL (the
# deployment tier's), hence deployment-deps.
bench: $(INSTALLED) binaries deployment-deps
	$(PY) -m benchmarks

# The longer scale run (10,000 executions in one namespace), into its own table in docs/benchmarks.md.
scale: $(INSTALLED) binaries
	$(PY) -m benchmarks --suite scale

# Mutation testing of the core modules (docs/testing.md): mutmut, configured in pyproject.toml's
# [tool.mutmut], changes the code one mutant at a time in a copy under mutants/ and runs the unit
# tests that cover each change; then the score (one JSON line, as `make bench` prints figures) and
# every surviving mutant with its diff. Not part of `make test`: it takes minutes. A fresh copy each
# time, so the score is never one of stale results.
MUTATION_CHILDREN ?= 2
mutation: $(INSTALLED)
	rm -rf mutants
	$(BIN)/mutmut run --max-children $(MUTATION_CHILDREN) > .mutmut.log 2>&1 || { tail -n 40 .mutmut.log; exit 1; }
	$(PY) -m benchmarks.mutation

clean:
	rm -rf mutants .mutmut.log $(VENV) $(VENVS) build *.egg-info .mypy_cache .ruff_cache .pytest_cache site
