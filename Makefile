# Two commands for a newcomer: `make test` and `make book`. Each creates and reuses .venv with the pinned
# dependencies of requirements.lock (torch==2.13.0, CPU or CUDA wheel, whichever pip finds; no torchvision).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= cpu
STAMP := $(VENV)/.installed

.PHONY: venv test book clean help

help:
	@echo "make test   - set up .venv and run the whole test suite"
	@echo "make book   - set up .venv, build the embedded data, execute every chapter (PROFILE=$(PROFILE)), build _build/html"
	@echo "make clean  - remove build output (keeps .venv and the embedded data cache)"

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

test: $(STAMP)
	$(BIN)/python -m pytest -q

book: $(STAMP)
	@echo "make book: the book's chapters do not exist yet (see issue 6); nothing to build." >&2
	@exit 2

clean:
	rm -rf _build .pytest_cache
