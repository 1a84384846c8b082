# Two commands for a newcomer: `make test` and `make book`. Each creates and reuses .venv with the pinned
# dependencies of requirements.lock (torch==2.13.0, CPU or CUDA wheel, whichever pip finds; no torchvision).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= cpu
TRAIN ?=
WEIGHTS_RUN := outputs/weights-run
STAMP := $(VENV)/.installed

OFFLINE := _build/offline_static

.PHONY: venv test book book-ci rehearse weights memo clean help

help:
	@echo "make test   - set up .venv and run the whole test suite"
	@echo "make book   - set up .venv, build the embedded data, execute every chapter (PROFILE=$(PROFILE)), build _build/html"
	@echo "make book-ci - the same with PROFILE=ci (seconds per chapter; numbers meaningless), as the tests do"
	@echo "make book TRAIN=1 - train whatever the shipped weights lack (stale or missing) instead of failing"
	@echo "make rehearse - the paper path at toy size: tiny REDS/Vimeo/GOPRO/MFQEv2 trees, the paper plan at ci sizes"
	@echo "               (trainings under torchrun, 2 gloo processes), every chapter in profile paper, the book (-W)"
	@echo "               in _build/rehearse/"
	@echo "make weights - retrain the whole cpu plan from scratch (resumable) and rewrite weights/ and its manifest"
	@echo "make weights KEEP=1 - keep the shipped weights that are still current and train only the rest"
	@echo "make memo   - measure the chapters' expensive flow evaluations with the shipped weights into weights/memo/"
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

# The book: embedded data -> train and evaluate every experiment the chapters use (python -m s2svr.experiments.plan, cached
# by config under outputs/PROFILE/experiments) -> execute the chapters (papermill, cached; python -m book.tools.run) -> offline JS
# (npm pack, once; a no-op when present) -> jupyter-book with warnings as errors (--keep-going only to list every warning before failing).
book: $(STAMP)
	$(BIN)/python data_scripts/build_embedded.py
	S2SVR_TRAIN=$(TRAIN) $(BIN)/python -m s2svr.experiments.plan --profile $(PROFILE)
	S2SVR_TRAIN=$(TRAIN) $(BIN)/python -m book.tools.run --profile $(PROFILE)
	$(BIN)/python -m book.tools.offline $(OFFLINE)
	$(BIN)/jupyter-book build . -W --keep-going --quiet
	$(BIN)/python -m book.tools.offline --place-fonts _build/html
	@echo "make book: open _build/html/index.html (profile $(PROFILE))"

book-ci:
	$(MAKE) --no-print-directory book PROFILE=ci

# The rehearsal of the paper path (book/tools/rehearse.py): tiny trees of the four datasets in their real layouts,
# the paper plan's whole job graph at each config's ci sizes (S2SVR_REHEARSAL=1) with every restoration training under
# torchrun --nproc_per_node 2 (gloo), every chapter executed in profile paper, the book built with -W; all of it in
# _build/rehearse/ (cached like make book; CLEAN=1 starts from nothing).
rehearse: $(STAMP)
	$(BIN)/python -m book.tools.rehearse $(if $(CLEAN),--clean,)

# The reference weights: the whole cpu plan trained from scratch under $(WEIGHTS_RUN) (two jobs at a time; an
# interrupted run resumes where it stopped), then exported to weights/ (fp16 safetensors, manifest, logs).
# KEEP=1 keeps what weights/ already holds (same config hash) and trains only the rest: the plan trained in
# chunks over several sessions, a chunk shipped at a time.
weights: $(STAMP)
	$(BIN)/python data_scripts/build_embedded.py
	time $(BIN)/python -m s2svr.experiments.plan --profile cpu $(if $(KEEP),,--no-shipped) --train --output-dir $(WEIGHTS_RUN)
	$(BIN)/python -m s2svr.experiments.weights export --profile cpu --output-dir $(WEIGHTS_RUN)
	$(BIN)/python -m s2svr.experiments.weights check --profile cpu
	$(MAKE) --no-print-directory memo

# The chapters' expensive measurements with the shipped weights (s2svr/report/memo.py: the flow evaluations), measured
# once here by executing every chapter in profile cpu, and kept in weights/memo/ so that `make book` reads them.
memo: $(STAMP)
	rm -rf weights/memo
	$(BIN)/python -m s2svr.experiments.plan --profile cpu
	S2SVR_MEMO=weights/memo $(BIN)/python -m book.tools.run --profile cpu --force

clean:
	rm -rf _build chapters .pytest_cache
