"""Task plugins (contract v2): what a task declares, and how installed tasks and artefacts are discovered.

A task is a `Task` exposed under the entry-point group `kx_tasks.tasks`; an artefact (work done once and read by
many jobs: a feature extractor, a pre-trained model) is an `Artefact` under `kx_tasks.artefacts`. Built-in ones
are registered in pyproject.toml exactly like third-party ones, so a package installed on its own joins `kx list`
and the Snakemake DAG with no edit here.

Declaring a task imports nothing heavy: stage functions are named as "package.module:function" strings and
imported only when the stage runs, so `kx list`, `kx info` and Snakemake's DAG building never import torch.

References:
- importlib.metadata entry points: https://docs.python.org/3/library/importlib.metadata.html#entry-points
- pluggy's setuptools loader, the model for this one: https://github.com/pytest-dev/pluggy
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from kx_tasks.core import stages
from kx_tasks.core.params import Params

GROUP = "kx_tasks.tasks"
ARTEFACT_GROUP = "kx_tasks.artefacts"

# Contract v1 modules and where they went, for the message a v1 plugin gets.
MOVED = {
    **{
        f"kx_tasks.{m}": f"kx_tasks.core.{m}"
        for m in ("registry", "settings", "runner", "records", "io", "seeding", "gpus", "checkpoints", "progress")
        + ("claims", "report", "cli")
    },
    "kx_tasks.data": "kx_tasks.core.data",
    "kx_tasks.linalg": "kx_tasks.shared.linalg",
    "kx_tasks.metrics": "kx_tasks.shared.clustering",
    "kx_tasks.plotting": "kx_tasks.core.plotting",
}
V2_HINT = (
    "contract v2 declares `kx_tasks.core.registry.Task(name=..., summary=..., post_url=..., variants=(...), "
    "params=<a kx_tasks.core.params.Params model>, stages={'train': Stage('pkg.module:train', Resources(...)), "
    "'evaluate': Stage('pkg.module:evaluate')}, claims=(...))`; see docs/plugins.md"
)


def for_variant(names: tuple[str, ...] | Mapping[str, tuple[str, ...]], variant: str) -> tuple[str, ...]:
    """A declaration that is either the same for every variant (a tuple) or per variant (a mapping)."""
    if isinstance(names, Mapping):
        return tuple(names.get(variant, ()))
    return tuple(names)


@dataclass(frozen=True)
class Resources:
    """What one job of a stage asks the scheduler for."""

    threads: int = 1  # CPU threads for torch and BLAS
    mem_mb: int = 2000  # peak resident memory of one job
    runtime: int = 30  # minutes of wall time, generous, for cluster queues
    gpu: bool = False  # True: the stage can use a GPU, and asks for one when the config sets device: cuda/auto


@dataclass(frozen=True)
class Stage:
    """One stage of a task: its function, named by "package.module:function" and imported only when it runs, with
    the signature fn(run: settings.Run, inputs: dict[str, Path], out_dir: Path); evaluate returns {metric: number}."""

    fn: str
    resources: Resources = Resources()
    # Artefact names; each one's directory reaches fn as inputs[name]. The same for every variant, or per variant
    # (e.g. the feature classifier of the variant's own dataset).
    artefacts: tuple[str, ...] | Mapping[str, tuple[str, ...]] = ()

    def artefacts_for(self, variant: str) -> tuple[str, ...]:
        return for_variant(self.artefacts, variant)

    def all_artefacts(self) -> set[str]:
        if isinstance(self.artefacts, Mapping):
            return {a for names in self.artefacts.values() for a in names}
        return set(self.artefacts)


@dataclass(frozen=True)
class Artefact:
    """Work done once (per seed, or once for all) and read by many jobs, built by its own rule into
    results/artefacts/{name}/{seed<S>|shared} and declared as an input by the stages that read it."""

    name: str
    summary: str
    build: str  # "package.module:function", called like a stage: build(run, inputs, out_dir)
    params: type[Params]  # its own parameters, overridable as artefacts.<name>.params
    per_seed: bool = True
    datasets: tuple[str, ...] = ()
    resources: Resources = Resources()
    # "module:function", (params) -> dataset names: when the datasets a build reads depend on its parameters (a
    # corpus chosen in the config); replaces `datasets`.
    datasets_from: str | None = None
    # "module:function", (params) -> None: checks of the parameters against the data the build reads (a batch
    # larger than the training set), run before any job; a ValueError's message starts with the key.
    check: str | None = None

    def datasets_for(self, params: Params) -> tuple[str, ...]:
        if self.datasets_from is None:
            return self.datasets
        return tuple(resolve(self.datasets_from, f"artefact {self.name}: datasets_from")(params))


@dataclass(frozen=True)
class Task:
    name: str  # the {task} wildcard; lower case, no spaces
    summary: str  # one line for `kx list`
    post_url: str  # the kexue.fm post this task reproduces
    variants: tuple[str, ...]  # the {variant} wildcard values; the first is the default
    params: type[Params]  # every parameter, declared once (kx_tasks.core.params)
    stages: Mapping[str, Stage]  # "train" and "evaluate", optionally "augment"
    claims: tuple = ()  # kx_tasks.core.claims.Claim objects
    # Datasets (names from kx_tasks.core.data.DATASETS) a run reads: the same for every variant, or per variant.
    datasets: tuple[str, ...] | Mapping[str, tuple[str, ...]] = ()
    report_tables: str | None = None  # "module:function", (metrics: DataFrame) -> {title: DataFrame}
    # "module:function", (metrics, runs: DataFrame with each run's eval `dir`, out_dir) -> [PNG paths]: figures
    # across the task's runs (variants side by side), drawn by the report onto the task's page.
    report_figures: str | None = None
    # "module:function", (variant, params: dict) -> (fraction, basis) or None: the share of the author's training
    # (steps, or epochs × images) a run of this variant is, and on what it is counted (the report's overview).
    author_compute: str | None = None
    # Figure file stem -> one-line caption, shown by Snakemake's --report for every figure the evaluate stage
    # writes (each PNG also carries its own run-specific caption).
    figures: Mapping[str, str] = field(default_factory=dict)
    # Variant -> parameters it pins, over whatever the config sets (e.g. a published setting reproduced exactly).
    variant_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The variants a config that lists none runs (empty: all); e.g. not the hours-long published settings.
    default_variants: tuple[str, ...] = ()
    # "module:function", (variant, params, artefacts) -> None: checks that need the variant (a dataset's size, a
    # network's stationary law) or the parameters of the artefacts it reads ({name: params}: a position table long
    # enough), run on every configured run before any job; a ValueError's message starts with the key.
    check_run: str | None = None

    def datasets_for(self, variant: str) -> tuple[str, ...]:
        return for_variant(self.datasets, variant)

    def stage_names(self) -> list[str]:
        return [s for s in stages.STAGES if s in self.stages]

    def artefacts_for(self, variant: str) -> set[str]:
        """Every artefact a run of `variant` reads, over all its stages."""
        return {a for s in self.stages.values() for a in s.artefacts_for(variant)}


class TaskError(Exception):
    """A plugin that does not meet the Task contract, or a name that is not a task."""


def resolve(ref: str, what: str) -> Callable:
    """Import "package.module:function"; `what` says whose reference it is in the error."""
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise TaskError(f"{what}: expected 'package.module:function', got {ref!r}")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise TaskError(f"{what}: cannot load {ref}: {e}") from e


def check_task(obj: Any, source: str) -> None:
    """Raise TaskError naming the first problem; a contract v1 object gets a message saying what to change."""
    name = getattr(obj, "name", None)
    label = f"task '{name}' ({source})" if name else f"entry point {source}"
    if not isinstance(obj, Task):
        if callable(getattr(obj, "train", None)) or hasattr(obj, "config"):
            raise TaskError(f"{label} is written to task contract v1 (stage functions as attributes); {V2_HINT}")
        raise TaskError(f"{label} is a {type(obj).__name__}, not a kx_tasks.core.registry.Task; {V2_HINT}")
    for stage in stages.REQUIRED:
        if stage not in obj.stages:
            raise TaskError(f"{label} defines no {stage} stage")
    unknown = set(obj.stages) - set(stages.STAGES)
    if unknown:
        raise TaskError(f"{label}: unknown stage(s) {', '.join(sorted(unknown))} (known: {', '.join(stages.STAGES)})")
    for stage_name, stage in obj.stages.items():
        if not isinstance(stage, Stage) or not isinstance(stage.resources, Resources):
            raise TaskError(f"{label}: stage '{stage_name}' must be a Stage with Resources")
        if isinstance(stage.artefacts, Mapping) and (stray := set(stage.artefacts) - set(obj.variants)):
            raise TaskError(f"{label}: stage '{stage_name}' lists artefacts for unknown variant(s) {sorted(stray)}")
    if not obj.variants:
        raise TaskError(f"{label} declares no variants")
    if not (isinstance(obj.params, type) and issubclass(obj.params, Params)):
        raise TaskError(f"{label}: params must be a subclass of kx_tasks.core.params.Params")
    stray = set(obj.default_variants) - set(obj.variants)
    if stray:
        raise TaskError(f"{label}: default_variants names {', '.join(sorted(stray))}, not among its variants")
    for variant, pins in obj.variant_params.items():
        if variant not in obj.variants:
            raise TaskError(f"{label}: variant_params names '{variant}', which is not one of its variants")
        unknown = set(pins) - set(obj.params.model_fields)
        if unknown:
            names = ", ".join(sorted(unknown))
            raise TaskError(f"{label}: variant_params['{variant}'] pins unknown parameter(s) {names}")


def _load(ep, source: str) -> Any:
    try:
        return ep.load()
    except ModuleNotFoundError as e:  # most often a v1 plugin importing a module that moved
        if e.name in MOVED:
            raise TaskError(
                f"entry point {source} failed to load: {e.name} moved to {MOVED[e.name]} in task contract v2; "
                f"update the import, then: {V2_HINT}"
            ) from e
        raise TaskError(f"entry point {source} failed to load: {e}") from e
    except Exception as e:  # a broken plugin must say which one it is
        raise TaskError(f"entry point {source} failed to load: {e}") from e


def discover() -> dict[str, Task]:
    """Load every installed task, checked, sorted by name."""
    tasks: dict[str, Task] = {}
    origins: dict[str, str] = {}
    for ep in entry_points(group=GROUP):
        source = f"{ep.name} = {ep.value}"
        task = _load(ep, source)
        check_task(task, source)
        if task.name in tasks:
            raise TaskError(f"task '{task.name}' is defined twice: by {origins[task.name]} and by {source}")
        tasks[task.name] = task
        origins[task.name] = source
    return dict(sorted(tasks.items()))


def discover_artefacts() -> dict[str, Artefact]:
    """Load every installed artefact, sorted by name."""
    found: dict[str, Artefact] = {}
    for ep in entry_points(group=ARTEFACT_GROUP):
        source = f"{ep.name} = {ep.value}"
        artefact = _load(ep, source)
        if not isinstance(artefact, Artefact):
            raise TaskError(
                f"entry point {source} is a {type(artefact).__name__}, not a kx_tasks.core.registry.Artefact"
            )
        if artefact.name in found:
            raise TaskError(f"artefact '{artefact.name}' is defined twice (last by {source})")
        found[artefact.name] = artefact
    return dict(sorted(found.items()))


def get_task(name: str, tasks: dict[str, Task] | None = None) -> Task:
    tasks = discover() if tasks is None else tasks
    if name not in tasks:
        raise TaskError(f"unknown task '{name}' (installed: {', '.join(tasks) or 'none'})")
    return tasks[name]


def stage_function(task: Task, stage: str) -> Callable:
    if stage not in task.stages:
        raise TaskError(f"task '{task.name}' has no {stage} stage")
    return resolve(task.stages[stage].fn, f"task '{task.name}', stage {stage}")
