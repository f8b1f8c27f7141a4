# Functions for the rules: targets expanded from the config, input functions, per-stage resources.
# Everything task-specific comes from the installed kx_tasks plugins, so a new plugin needs no edit here.
import json
import os

from kx_tasks.core import calibration, looks, settings, stages
from kx_tasks.core.registry import discover, discover_artefacts

TASKS = discover()
ARTEFACTS = discover_artefacts()
# Task names, variants, parameters and artefacts depend on the installed plugins; the workflow's JSON schema
# cannot check them. This checks them against each plugin's own parameter model and JSON Schema.
settings.check_config(config, TASKS, ARTEFACTS)
RUNS = settings.runs(config, TASKS)
# Each enabled task's looks (config keys looks, max_seeds; kx_tasks/core/looks.py): look 1 is RUNS; a later look's
# runs exist only once the judging job of the look before (checkpoint judge, workflow/rules/looks.smk) has run.
PLANS = {
    name: looks.plan(config, TASKS[name])
    for name in settings.enabled_tasks(config, TASKS)
}

# Each job's runtime and mem_mb: measured by `kx shakedown` for this config and device where
# config/calibration/STEM.DEVICE.yaml exists (kx_tasks/core/calibration.py), else the task's declared guesses;
# every job's `calibration` resource names which.
CALIBRATION = calibration.for_config(config, CONFIG_FILES)
RUN_DIR = stages.run_dir("{task}", "{variant}", "{seed}")
# The judging job's decision after a look (checkpoint judge's output).
LOOK_FILE = "results/looks/{task}/look{look}.json"
# Where the report goes (config key report_dir; the schema's default results/report).
REPORT = config["report_dir"].rstrip("/")
# Where the runs are published (config key records_dir; empty: not published; workflow/rules/publish.smk).
RECORDS = config["records_dir"].rstrip("/")
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
    look=r"\d+",


def grown_runs(task, look, kept):
    """(variant, seed) of every run of `task` at look `look` (1-based): the configured seeds, then at each later look
    the next seeds of the variants that kept(k) says the judging job after look k kept (None: not judged yet).
    """
    plan = PLANS[task]
    runs = {(v, s) for v in plan.seeds for s in plan.seeds_at(v, 1)}
    for k in range(2, look + 1):
        going = kept(k - 1)
        if going is None:
            break
        runs |= {(v, s) for v in going for s in plan.seeds_at(v, k)}
    return sorted(runs)


def read_kept(path):
    with open(path) as f:
        return json.load(f)["continue"]


def look_runs(task, look):
    """The runs at a look, the judging jobs' decisions read through Snakemake's checkpoint, so that a later look's
    jobs enter the DAG only after the job before them has run."""
    return grown_runs(
        task,
        look,
        lambda k: read_kept(checkpoints.judge.get(task=task, look=k).output[0]),
    )


def stage_dirs(runs, task, stage):
    if stage not in TASKS[task].stages:
        return []
    return [stages.stage_dir(task, v, s, stage) for v, s in runs]


def final_inputs(*stages_wanted):
    """Named inputs STAGE_TASK: one input function per task and stage, giving the stage folders of the task's runs at
    its last look. One function per task, so that a task waiting on its judging job (a checkpoint) holds back only
    its own runs in the DAG, never another task's."""

    def dirs(task, stage):
        return lambda wildcards: stage_dirs(
            look_runs(task, PLANS[task].count), task, stage
        )

    return {
        f"{stage}_{task}": dirs(task, stage)
        for stage in stages_wanted
        for task in PLANS
    }


def look_inputs(wildcards):
    """The judging job's inputs: every stage folder of the look's runs."""
    runs = look_runs(wildcards.task, int(wildcards.look))
    return {stage: stage_dirs(runs, wildcards.task, stage) for stage in stages.STAGES}


def run_roots_of(wildcards, input):
    """The run folders of a rule's evaluate inputs (`evaluate`, or `evaluate_TASK` from final_inputs; every run has an
    evaluate stage); none while a checkpoint the inputs wait on has not run (Snakemake evaluates the params again
    once it has)."""
    names = [k for k in input.keys() if k == "evaluate" or k.startswith("evaluate_")]
    return sorted({os.path.dirname(d) for k in names for d in getattr(input, k)})


def known_runs():
    """Every run folder the config asks for so far (the looks judged up to now, read without the checkpoint
    machinery): for the partial report after a failure."""

    def kept(task, k):
        path = LOOK_FILE.format(task=task, look=k)
        return read_kept(path) if os.path.exists(path) else None

    return [
        stages.run_dir(task, v, s)
        for task, plan in PLANS.items()
        for v, s in grown_runs(task, plan.count, lambda k, task=task: kept(task, k))
    ]


def run_stage_dirs(wildcards):
    """Every stage folder of one run (rule publish_run's inputs)."""
    runs = [(wildcards.variant, wildcards.seed)]
    return {
        stage: stage_dirs(runs, wildcards.task, stage)
        for stage in TASKS[wildcards.task].stages
    }


def published_inputs():
    """Rule publish's named inputs: per task (one input function each, so that a task waiting on its judging job
    holds back only its own), its runs at its last look and the artefacts they read, published; and the judging
    decisions of every look but the last."""

    def published(task):
        def get(wildcards):
            runs, artefacts = [], set()
            for v, s in look_runs(task, PLANS[task].count):
                runs.append(stages.run_dir(task, v, s, root=f"{RECORDS}/runs"))
                for stage in TASKS[task].stages:
                    found = settings.artefact_inputs(
                        TASKS[task], stage, v, s, ARTEFACTS, f"{RECORDS}/artefacts"
                    )
                    artefacts |= set(found.values())
            return runs + sorted(artefacts)

        return get

    looks_before_last = [
        LOOK_FILE.format(task=task, look=k)
        for task, plan in PLANS.items()
        for k in range(1, plan.count)
    ]
    return {
        "looks": looks_before_last,
        **{f"published_{task}": published(task) for task in PLANS},
    }


def plans_json():
    return json.dumps(
        {task: plan.to_dict() for task, plan in PLANS.items()}, sort_keys=True
    )


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
    """threads / mem_mb / runtime / gpu of one stage of the task in the wildcards (declared per stage; runtime and
    mem_mb calibrated per variant where the calibration names the job), or `calibration`: where they came from.
    """

    def get(wildcards):
        key = calibration.job_key(wildcards.task, wildcards.variant, stage)
        block = settings.task_block(config, wildcards.task)
        if field == "calibration":
            return CALIBRATION.source(key, block)
        r = settings.stage_resources(config, task_of(wildcards), stage)
        return CALIBRATION.value(
            key, field, settings.resource_value(config, r, field), block
        )

    return get


def artefact_resource(field):
    def get(wildcards):
        key = calibration.job_key(wildcards.artefact, None, "artefact")
        block = settings.artefact_block(config, wildcards.artefact)
        if field == "calibration":
            return CALIBRATION.source(key, block)
        r = settings.artefact_resources(config, ARTEFACTS[wildcards.artefact])
        return CALIBRATION.value(
            key, field, settings.resource_value(config, r, field), block
        )

    return get


def figure_captions(wildcards):
    """Figure stem -> caption, for Snakemake's --report (workflow/report/figure.rst)."""
    return dict(task_of(wildcards).figures)


def data_source():
    return config.get("data_dir") or ""
