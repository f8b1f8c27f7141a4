"""From the workflow config to concrete runs: task blocks checked, parameters typed, runs expanded.

The top-level shape of the config is validated by Snakemake against workflow/schemas/config.schema.yaml; what
depends on the installed plugins (task names, their variants and parameters) is checked here, with messages that
name the offending key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass
from typing import Any

from kx_tasks.data import DATASETS
from kx_tasks.registry import Task


class ConfigError(ValueError):
    """A config value that is not what the key asks for; the message names the key."""


@dataclass(frozen=True)
class Run:
    """One (task, variant, seed) run and everything needed to repeat it."""

    task: str
    variant: str
    seed: int
    device: str  # auto | cpu | cuda, as configured
    threads: int
    params: Any  # the task's frozen config dataclass

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["params"] = dataclasses.asdict(self.params)
        return d

    @property
    def torch_device(self):
        from kx_tasks.seeding import resolve_device

        return resolve_device(self.device)

    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _check_type(value: Any, hint: Any, where: str) -> Any:
    """Check `value` against a simple type hint (int, float, str, bool, list[...], tuple[...]); return it typed."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            try:
                return _check_type(value, option, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0])
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected null, got {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_check_type(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
        item = args[0] if args else Any
        return tuple(_check_type(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    else:
        raise ConfigError(f"{where}: parameter type {hint!r} is not supported in configs")
    raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r} ({type(value).__name__})")


def build_params(cls: type, values: dict | None, where: str) -> Any:
    """Instantiate a task's config dataclass from a mapping; unknown keys and wrong types are errors."""
    values = values or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping of parameters, got {values!r}")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    for key in values:
        if key not in known:
            raise ConfigError(f"{where}.{key}: not a parameter of this task (known: {', '.join(known)})")
    typed = {k: _check_type(v, hints[k], f"{where}.{k}") for k, v in values.items()}
    params = cls(**typed)
    check = getattr(params, "check", None)
    if check is not None:
        try:
            check()
        except ValueError as e:
            raise ConfigError(f"{where}: {e}") from e
    return params


def task_block(config: dict, name: str) -> dict:
    return (config.get("tasks") or {}).get(name) or {}


def check_config(config: dict, tasks: dict[str, Task]) -> None:
    """Everything the JSON schema cannot know: task names, variants, parameter names and types."""
    for name, block in (config.get("tasks") or {}).items():
        if name not in tasks:
            raise ConfigError(f"tasks.{name}: unknown task (installed: {', '.join(tasks) or 'none'})")
        block = block or {}
        for variant in block.get("variants") or []:
            if variant not in tasks[name].variants:
                raise ConfigError(
                    f"tasks.{name}.variants: unknown variant '{variant}' (known: {', '.join(tasks[name].variants)})"
                )
        build_params(tasks[name].config, block.get("params"), f"tasks.{name}.params")
    for name in config.get("datasets") or []:
        if name not in DATASETS:
            raise ConfigError(f"datasets: unknown dataset '{name}' (known: {', '.join(DATASETS)})")


def enabled_tasks(config: dict, tasks: dict[str, Task]) -> list[str]:
    """Tasks absent from the config run with their defaults, so a newly installed plugin joins the DAG."""
    return [name for name in tasks if task_block(config, name).get("enabled", True)]


def variants(config: dict, task: Task) -> list[str]:
    return list(task_block(config, task.name).get("variants") or task.variants)


def seeds(config: dict, task: Task) -> list[int]:
    block = task_block(config, task.name)
    return list(block.get("seeds") or config.get("seeds") or [0])


def threads(config: dict, task: Task) -> int:
    return int(task_block(config, task.name).get("threads") or task.resources.threads)


def make_run(config: dict, task: Task, variant: str, seed: int) -> Run:
    if variant not in task.variants:
        raise ConfigError(f"task '{task.name}': unknown variant '{variant}' (known: {', '.join(task.variants)})")
    block = task_block(config, task.name)
    params = build_params(task.config, block.get("params"), f"tasks.{task.name}.params")
    return Run(
        task=task.name,
        variant=variant,
        seed=int(seed),
        device=str(config.get("device", "cpu")),
        threads=threads(config, task),
        params=params,
    )


def runs(config: dict, tasks: dict[str, Task]) -> list[Run]:
    """All runs the config asks for: enabled tasks x variants x seeds."""
    out = []
    for name in enabled_tasks(config, tasks):
        task = tasks[name]
        for variant in variants(config, task):
            for seed in seeds(config, task):
                out.append(make_run(config, task, variant, seed))
    return out


def wants_gpu(config: dict, task: Task) -> bool:
    return bool(task.resources.gpu) and config.get("device", "cpu") == "cuda"
