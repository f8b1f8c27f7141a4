# Functions for the rules: targets expanded from the config, input functions, resources.
# Everything task-specific comes from the installed kx_tasks plugins, so a new plugin needs no edit here.
import json

from kx_tasks import runner, settings
from kx_tasks.registry import discover

TASKS = discover()
# Task names, variants and parameters depend on the installed plugins; the JSON schema cannot check them.
settings.check_config(config, TASKS)
RUNS = settings.runs(config, TASKS)

RUN_DIR = "results/runs/{task}/{variant}/seed{seed}"
# The software each step needs is the project environment; kx itself is installed into it with
# `pip install -e .`, and the workflow runs inside that one environment (not with --sdm conda).
KX_ENV = "../../environment.yml"


wildcard_constraints:
    task=r"[a-z][a-z0-9_]*",
    variant=r"[A-Za-z0-9_.-]+",
    seed=r"\d+",
    dataset=r"[a-z][a-z0-9_]*",


def run_dirs(stage_dir):
    return [f"results/runs/{r.task}/{r.variant}/seed{r.seed}/{stage_dir}" for r in RUNS]


def task_of(wildcards):
    return TASKS[wildcards.task]


def dataset_inputs(wildcards):
    return {name: f"results/data/{name}.npz" for name in task_of(wildcards).datasets}


def train_inputs(wildcards):
    inputs = dataset_inputs(wildcards)
    if "augment" in runner.stages_of(task_of(wildcards)):
        inputs["augment"] = f"{RUN_DIR}/augment".format(**wildcards)
    return inputs


def evaluate_inputs(wildcards):
    return {
        **dataset_inputs(wildcards),
        "train": f"{RUN_DIR}/train".format(**wildcards),
    }


def input_args(wildcards, input):
    """--input NAME=PATH for every named input, for the kx CLI."""
    return " ".join(f"--input {name}={path}" for name, path in input.items())


def task_params(wildcards):
    """The task's parameters as JSON: a rule's params, so changing them reruns just that task (rerun trigger)."""
    block = settings.task_block(config, wildcards.task)
    return json.dumps(block.get("params") or {}, sort_keys=True)


def task_threads(wildcards):
    return settings.threads(config, task_of(wildcards))


def task_mem_mb(wildcards):
    return task_of(wildcards).resources.mem_mb


def task_runtime(wildcards):
    return task_of(wildcards).resources.runtime


def task_gpu(wildcards):
    return 1 if settings.wants_gpu(config, task_of(wildcards)) else 0


def data_source():
    return config.get("data_dir") or ""
