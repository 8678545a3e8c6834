# The README's commands. Each one sets up what it needs on a fresh machine: the virtualenv with the
# provider and its dev extras next to the sandbox (its own distribution in ./sandbox, both
# editable), and the control-plane binaries (built once from Go modules, cached in
# ~/.cache/kontinue-sandbox, or taken from KUBEBUILDER_ASSETS).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench scale binaries clean

$(INSTALLED): pyproject.toml setup.cfg sandbox/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(PY) -e ./sandbox -e '.[dev]'
	touch $@

binaries: $(INSTALLED)
	$(BIN)/kontinue-sandbox binaries

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

test: lint typecheck binaries
	$(PY) -m pytest -ra $(PYTEST_ARGS)

unit: $(INSTALLED)
	$(PY) -m pytest -ra tests/unit $(PYTEST_ARGS)

bench: $(INSTALLED) binaries
	$(PY) -m benchmarks

# The longer scale run (10,000 executions in one namespace), into its own table in docs/benchmarks.md.
scale: $(INSTALLED) binaries
	$(PY) -m benchmarks --suite scale

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
