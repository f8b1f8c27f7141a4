# The two commands a new user needs: `make run` and `make test`. Everything else is set up on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config/config.yaml
CORES ?= all
LOCK := requirements.lock
# torch's CPU build (the lock's torch==2.13.0+cpu) lives on PyTorch's own index, not on PyPI: pip asks it when its
# host resolves; a machine without it (no internet beyond a mirror) needs the wheel in pip's own configured sources.
TORCH_INDEX ?= $(shell $(PYTHON) -c "import socket; socket.getaddrinfo('download.pytorch.org', 443)" 2>/dev/null \
	&& echo https://download.pytorch.org/whl/cpu)
PIP_TORCH = $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
# A local copy of the datasets, when one sits beside the checkout (as on our build machines);
# anywhere else this is empty and prepare_data downloads from the official URLs.
KX_DATA_DIR ?= $(wildcard $(abspath ../shared/data))
export KX_DATA_DIR
# Rules call the `kx` command of this project's environment.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run campaign shakedown test test-fast lint lock docs dry-run clean

# --rerun-incomplete: a run interrupted earlier is simply redone (its checkpoints, if any, are resumed).
# kx check: every problem of the config, one line each, before any job (Snakemake's own loader names no line).
run: $(VENV)/.installed
	$(BIN)/kx check $(CONFIG)
	$(BIN)/snakemake --configfile $(CONFIG) --cores $(CORES) --rerun-incomplete

# The recorded CPU campaign (config/campaign_cpu.yaml, ≤ 12 core-hours; rerun it and it resumes where it stopped):
# its runs are published under records/campaign-cpu as they finish, and its report is rebuilt from those records,
# next to the default run's (records/default-cpu), into results/report_records/campaign-cpu.
campaign: $(VENV)/.installed
	$(MAKE) run CONFIG=config/campaign_cpu.yaml
	$(BIN)/kx report --records records/campaign-cpu --beside records/default-cpu

# Every task x variant of CONFIG (one seed) and the artefacts they read at full size, a few steps each on this
# machine's device, stopped after a checkpoint and resumed, evaluated on a test subset; one line per run, then
# config/calibration/STEM.DEVICE.yaml: the measured runtime and mem_mb the rules ask for from then on.
shakedown: $(VENV)/.installed
	$(BIN)/kx shakedown $(CONFIG)

# Everything (what CI runs): unit, contract and end-to-end pipeline tests.
test: $(VENV)/.installed
	$(BIN)/pytest

# While editing: the unit and contract tests, no end-to-end pipelines (every test over ~10 s is marked slow).
test-fast: $(VENV)/.installed
	$(BIN)/pytest -m "not slow"

lint: $(VENV)/.installed
	$(BIN)/ruff check kx_tasks tests benchmarks
	$(BIN)/ruff format --check kx_tasks tests benchmarks
	$(BIN)/snakemake --lint --configfile $(CONFIG)
	$(BIN)/snakemake --lint --configfile config/campaign_cpu.yaml  # with records_dir: the publish rules too
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/kx docs --check
	$(BIN)/kx lock --check

# Every generated block of README.md and docs/ (overview, per-task parameters, paper settings, the published runs'
# tables, benchmark tables), from its source: the parameter models, config/paper.yaml, records/, benchmarks/tables/.
docs: $(VENV)/.installed
	$(BIN)/kx docs

# requirements.lock: every package of pyproject.toml (with the dev and slurm extras) pinned with hashes, for CPython
# 3.11 on Linux x86-64; torch's CPU build from PyTorch's CPU index. `make lint` fails when the two disagree.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra dev --extra slurm \
		--no-emit-index-url --no-emit-find-links $(PIP_TORCH) -o $(LOCK) pyproject.toml

dry-run: $(VENV)/.installed
	$(BIN)/kx check $(CONFIG)
	$(BIN)/snakemake -n --configfile $(CONFIG)

clean:
	rm -rf results/data results/runs results/looks results/report results/logs results/benchmarks .snakemake

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs the lock (hashes checked), then the project itself without dependencies; reinstalls only when the
# package definition or the lock changes (the stamp is newer otherwise).
$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes $(PIP_TORCH) -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@
