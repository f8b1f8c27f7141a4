"""Task plugins: what a task declares, and how installed tasks are discovered.

A task is any object exposed under the entry-point group `kx_tasks.tasks` that has the attributes of `Task`.
Built-in tasks are registered in pyproject.toml exactly like third-party ones, so a package installed on its own
joins `kx list` and the Snakemake DAG with no edit here.

References:
- importlib.metadata entry points: https://docs.python.org/3/library/importlib.metadata.html#entry-points
- pluggy's setuptools loader, the model for this one: https://github.com/pytest-dev/pluggy
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

GROUP = "kx_tasks.tasks"


@dataclass(frozen=True)
class Resources:
    """What one run of a task asks the scheduler for."""

    threads: int = 1  # CPU threads for torch and BLAS
    mem_mb: int = 2000  # peak resident memory of one run
    runtime: int = 30  # minutes of wall time, generous, for cluster queues
    gpu: bool = False  # True: asks for one GPU when the config sets device: cuda


@runtime_checkable
class Task(Protocol):
    """The contract every task plugin meets (attributes, checked at discovery)."""

    name: str  # the {task} wildcard; lower case, no spaces
    summary: str  # one line for `kx list`
    post_url: str  # the kexue.fm post this task reproduces
    datasets: tuple[str, ...]  # names from kx_tasks.data.DATASETS the train stage reads
    variants: tuple[str, ...]  # the {variant} wildcard values; the first is the default
    config: type  # a frozen dataclass of parameters with defaults
    resources: Resources
    claims: tuple  # kx_tasks.claims.Claim objects
    # Stages all take (run: settings.Run, inputs: dict[str, Path], out_dir: Path); inputs maps each dataset name
    # to its .npz, plus "augment" / "train" to the previous stage's directory where there is one.
    train: Callable[..., None]
    evaluate: Callable[..., dict]  # returns {metric name: number}


REQUIRED = ("name", "summary", "post_url", "datasets", "variants", "config", "resources", "claims")
STAGES = ("train", "evaluate")


@dataclass(frozen=True)
class TaskSpec:
    """A convenient concrete Task; plugins may use it or any object with the same attributes."""

    name: str
    summary: str
    post_url: str
    variants: tuple[str, ...]
    config: type
    train: Callable[..., None]
    evaluate: Callable[..., dict]
    datasets: tuple[str, ...] = ()
    resources: Resources = field(default_factory=Resources)
    claims: tuple = ()
    # Optional stages and hooks.
    augment: Callable[..., None] | None = None  # same signature, runs before train
    report_tables: Callable[..., dict] | None = None  # report_tables(metrics: DataFrame) -> {title: DataFrame}


class TaskError(Exception):
    """A plugin that does not meet the Task contract, or a name that is not a task."""


def check_task(obj: Any, source: str) -> None:
    """Raise TaskError naming the first missing piece of the contract."""
    name = getattr(obj, "name", None)
    label = f"task '{name}' ({source})" if name else f"entry point {source}"
    for attr in REQUIRED:
        if not hasattr(obj, attr):
            raise TaskError(f"{label} defines no {attr}")
    for stage in STAGES:
        if not callable(getattr(obj, stage, None)):
            raise TaskError(f"{label} defines no {stage}()")
    if not obj.variants:
        raise TaskError(f"{label} declares no variants")
    if not isinstance(obj.resources, Resources):
        raise TaskError(f"{label}: resources must be a kx_tasks.registry.Resources")


def discover() -> dict[str, Task]:
    """Load every installed task, checked, sorted by name."""
    tasks: dict[str, Task] = {}
    origins: dict[str, str] = {}
    for ep in entry_points(group=GROUP):
        source = f"{ep.name} = {ep.value}"
        try:
            task = ep.load()
        except Exception as e:  # a broken plugin must say which one it is
            raise TaskError(f"entry point {source} failed to load: {e}") from e
        check_task(task, source)
        if task.name in tasks:
            raise TaskError(f"task '{task.name}' is defined twice: by {origins[task.name]} and by {source}")
        tasks[task.name] = task
        origins[task.name] = source
    return dict(sorted(tasks.items()))


def get_task(name: str, tasks: dict[str, Task] | None = None) -> Task:
    tasks = discover() if tasks is None else tasks
    if name not in tasks:
        raise TaskError(f"unknown task '{name}' (installed: {', '.join(tasks) or 'none'})")
    return tasks[name]


def stage_function(task: Task, stage: str) -> Callable | None:
    """The function for a stage, or None when the task has no such (optional) stage."""
    return getattr(task, stage, None)
