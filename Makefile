# nnzoo: `make demo` trains the quick start offline; `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-tf test-jax lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,postgres,export]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install nnzoo with its dev tools

demo: install  ## train the quick start (MLP on digits, offline) and print its test accuracy
	$(BIN)/nnzoo train configs/quickstart.yaml --quiet

# Tests run in parallel processes (pytest-xdist; TEST_JOBS=1: one after another). On
# TensorFlow a file's tests share a process (their module fixtures train once); the JAX
# catalog tests, most of them in one file, are spread test by test.
TEST_JOBS ?= auto
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_JOBS) --maxprocesses 4 \
	--durations 15

test: test-tf test-jax  ## the whole suite: TensorFlow backend, then the catalog on JAX

test-tf: install
	$(PYTEST) --dist loadfile

test-jax: install
	KERAS_BACKEND=jax $(PYTEST) --dist load tests/models tests/layers -m "not slow"

lint: install
	$(BIN)/ruff check nnzoo tests scripts
	$(BIN)/ruff format --check nnzoo tests scripts

format: install
	$(BIN)/ruff format nnzoo tests scripts

bench: install  ## start-up, training overhead, input-pipeline and table-reading benchmarks
	$(BIN)/python scripts/bench_startup.py
	$(BIN)/python scripts/bench_quickstart.py
	$(BIN)/python scripts/bench_overhead.py
	$(BIN)/python scripts/bench_input.py
	$(BIN)/python scripts/bench_tables.py

clean:
	rm -rf $(VENV) runs .pytest_cache
