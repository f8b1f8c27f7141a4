# Functions for the rules: targets expanded from the config, input functions, per-stage resources.
# Everything task-specific comes from the installed kx_tasks plugins, so a new plugin needs no edit here.
import json
import os

from kx_tasks.core import settings, stages
from kx_tasks.core.registry import discover, discover_artefacts

TASKS = discover()
ARTEFACTS = discover_artefacts()
# Task names, variants, parameters and artefacts depend on the installed plugins; the workflow's JSON schema
# cannot check them. This checks them against each plugin's own parameter model and JSON Schema.
settings.check_config(config, TASKS, ARTEFACTS)
RUNS = settings.runs(config, TASKS)

RUN_DIR = stages.run_dir("{task}", "{variant}", "{seed}")
# Where the report goes (config key report_dir; the schema's default results/report).
REPORT = config["report_dir"].rstrip("/")
# The software each step needs is the project environment; kx itself is installed into it with
# `pip install -e .`, and the workflow runs inside that one environment (not with --sdm conda).
KX_ENV = "../../environment.yml"


wildcard_constraints:
    task=r"[a-z][a-z0-9_]*",
    variant=r"[A-Za-z0-9_.-]+",
    seed=r"\d+",
    dataset=r"[a-z][a-z0-9_]*",
    artefact=r"[a-z][a-z0-9_]*",
    key=rf"seed\d+|{stages.SHARED_KEY}",


def run_dirs(stage):
    return [
        stages.stage_dir(r.task, r.variant, r.seed, stage)
        for r in RUNS
        if stage in TASKS[r.task].stages
    ]


def run_roots():
    return [stages.run_dir(r.task, r.variant, r.seed) for r in RUNS]


def report_tasks():
    return sorted({r.task for r in RUNS})


def task_of(wildcards):
    return TASKS[wildcards.task]


def stage_inputs(stage):
    """Input function of a stage rule: the variant's datasets, the artefacts the stage reads, earlier stages."""

    def inputs(wildcards):
        task = task_of(wildcards)
        out = {
            name: f"results/data/{name}.npz"
            for name in task.datasets_for(wildcards.variant)
        }
        out.update(
            settings.artefact_inputs(
                task, stage, wildcards.variant, int(wildcards.seed), ARTEFACTS
            )
        )
        for earlier in stages.STAGES[: stages.STAGES.index(stage)]:
            if earlier in task.stages:
                out[earlier] = stages.stage_dir(
                    wildcards.task, wildcards.variant, wildcards.seed, earlier
                )
        return out

    return inputs


def artefact_hashes(stage):
    """--expect NAME=RUNHASH for every artefact the stage reads: the run hash this config gives it, which the stage
    checks against the artefact's own record (a list, for `{params.expect:q}`)."""

    def get(wildcards):
        out = []
        for name in task_of(wildcards).stages[stage].artefacts_for(wildcards.variant):
            key = stages.artefact_key(ARTEFACTS[name].per_seed, int(wildcards.seed))
            build = settings.make_artefact_run(config, ARTEFACTS[name], key)
            out += ["--expect", f"{name}={build.run_hash()}"]
        return out

    return get


def artefact_inputs(wildcards):
    return {
        name: f"results/data/{name}.npz"
        for name in settings.artefact_datasets(config, ARTEFACTS[wildcards.artefact])
    }


def input_args(wildcards, input):
    """--input NAME=PATH for every named input, for the kx CLI: a list, so that `{params.inputs:q}` quotes each."""
    return [
        arg for name, path in input.items() for arg in ("--input", f"{name}={path}")
    ]


def task_params(wildcards):
    """The variant's parameters as the config sets them (params, then variant_overrides), as JSON: a rule's params,
    so changing them reruns just the runs they reach (rerun trigger)."""
    block = settings.task_block(config, wildcards.task)
    return json.dumps(settings.user_params(block, wildcards.variant), sort_keys=True)


def artefact_params(wildcards):
    return json.dumps(
        settings.artefact_block(config, wildcards.artefact).get("params") or {},
        sort_keys=True,
    )


def stage_resource(stage, field):
    """threads / mem_mb / runtime / gpu of one stage of the task in the wildcards (declared per stage)."""

    def get(wildcards):
        r = settings.stage_resources(config, task_of(wildcards), stage)
        return settings.resource_value(config, r, field)

    return get


def artefact_resource(field):
    def get(wildcards):
        r = settings.artefact_resources(config, ARTEFACTS[wildcards.artefact])
        return settings.resource_value(config, r, field)

    return get


def figure_captions(wildcards):
    """Figure stem -> caption, for Snakemake's --report (workflow/report/figure.rst)."""
    return dict(task_of(wildcards).figures)


def data_source():
    return config.get("data_dir") or ""
