# The two commands a new user needs: `make run` and `make test`. Everything else is set up on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config/config.yaml
CORES ?= all
# A local copy of the datasets, when one sits beside the checkout (as on our build machines);
# anywhere else this is empty and prepare_data downloads from the official URLs.
KX_DATA_DIR ?= $(wildcard $(abspath ../shared/data))
export KX_DATA_DIR
# Rules call the `kx` command of this project's environment.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run campaign test lint docs readme dry-run clean

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

test: $(VENV)/.installed
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check kx_tasks tests benchmarks
	$(BIN)/ruff format --check kx_tasks tests benchmarks
	$(BIN)/snakemake --lint --configfile $(CONFIG)
	$(BIN)/snakemake --lint --configfile config/campaign_cpu.yaml  # with records_dir: the publish rules too
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/kx docs --check

# The parameter tables of config/README.md, from each task's parameter model.
docs: $(VENV)/.installed
	$(BIN)/kx docs

# The README's results sections, from the published runs (records/, so any checkout regenerates them) and from the
# side experiments' last reports in results/ where they exist.
readme: $(VENV)/.installed
	$(BIN)/kx report --records records/default-cpu
	$(BIN)/kx readme --summary results/report_records/default-cpu/summary.md
	if [ -f results/report_paper_cpu/summary.md ]; then \
		$(BIN)/kx readme --block paper-cpu --summary results/report_paper_cpu/summary.md; fi
	if [ -f results/report_mask40/summary.md ]; then \
		$(BIN)/kx readme --block mlm-mask40 --summary results/report_mask40/summary.md; fi
	if [ -f records/campaign-cpu/index.json ]; then \
		$(BIN)/kx report --records records/campaign-cpu --beside records/default-cpu && \
		$(BIN)/kx readme --block campaign --task overview --summary results/report_records/campaign-cpu/summary.md; fi

dry-run: $(VENV)/.installed
	$(BIN)/kx check $(CONFIG)
	$(BIN)/snakemake -n --configfile $(CONFIG)

clean:
	rm -rf results/data results/runs results/looks results/report results/logs results/benchmarks .snakemake

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when the package definition changes (the stamp is newer otherwise).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,slurm]'
	touch $@
