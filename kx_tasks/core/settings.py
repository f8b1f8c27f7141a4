"""From the workflow config to concrete runs: task and artefact blocks checked, parameters typed, runs expanded,
per-stage resources resolved.

The top-level shape of the config is validated by Snakemake against workflow/schemas/config.schema.yaml; what
depends on the installed plugins (task names, their variants and parameters, artefacts) is checked here, with
messages that name the offending key: first by each parameter model (kx_tasks.core.params), then by its JSON Schema.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass

from kx_tasks.core import params as P
from kx_tasks.core import stages
from kx_tasks.core.looks import DEFAULT_MAX_SEEDS
from kx_tasks.core.params import ConfigError, Params
from kx_tasks.core.registry import Artefact, Resources, Task

__all__ = ["ConfigError", "Run", "check_config", "make_run", "run_hash", "runs"]


@dataclass(frozen=True)
class Run:
    """One (task, variant, seed) run, or one artefact build, and everything needed to repeat it."""

    task: str  # the task's name, or the artefact's
    variant: str
    seed: int
    device: str  # auto | cpu | cuda: the configured device, or "cpu" for a stage that uses no GPU
    threads: int
    params: Params

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["params"] = P.dump(self.params)
        return d

    @property
    def family(self) -> str:
        """The variant's family (kx_tasks.core.stages.family): the dataset or setting it reads."""
        return stages.family(self.variant)

    @property
    def torch_device(self):
        from kx_tasks.core.seeding import resolve_device

        return resolve_device(self.device)

    def config_hash(self) -> str:
        """The whole resolved run of this stage (device and threads too): what a checkpoint may resume under."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def run_hash(self) -> str:
        """What every stage of one run shares (task, variant, seed, parameters): evaluate's `train` input and the
        report's stages must carry the same one."""
        return run_hash(self.to_dict())


def run_hash(resolved: dict) -> str:
    """The stage-independent hash of a resolved run, from a Run's dict or a stage's config.yaml."""
    keys = {k: resolved[k] for k in ("task", "variant", "seed", "params")}
    return hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:16]


def task_block(config: dict, name: str) -> dict:
    return (config.get("tasks") or {}).get(name) or {}


def artefact_block(config: dict, name: str) -> dict:
    return (config.get("artefacts") or {}).get(name) or {}


def build_params(cls: type[Params], values: dict | None, where: str) -> Params:
    """The model's check (messages name the full key), then its JSON Schema, as the DAG builder sees it."""
    typed = P.validate(cls, values, where)
    P.check_schema(P.json_schema(cls), P.normalise(cls, values or {}), where)
    return typed


def check_runs(config: dict, task: Task, artefacts: dict[str, Artefact]) -> None:
    """Every run the config asks of the task: its parameters as the variant sees them (pins included, a pinned key
    the user also set refused), then the task's own per-variant check (Task.check_run) with the parameters of the
    artefacts the variant reads."""
    check = None
    if task.check_run is not None:
        from kx_tasks.core.registry import resolve

        check = resolve(task.check_run, f"task '{task.name}', check_run")
    block = task_block(config, task.name)
    running = variants(config, task)
    for key in block.get("variant_overrides") or {}:
        if not any(key in (v, stages.family(v)) for v in running):
            raise ConfigError(
                f"tasks.{task.name}.variant_overrides.{key}: no variant this config runs is {key} or of it "
                f"(running: {', '.join(running)}); it would be ignored"
            )
    for variant in running:
        params = run_params(task, block, variant)
        if check is None:
            continue
        reads = {
            name: artefact_params(config, artefacts[name]) for name in task.artefacts_for(variant) if name in artefacts
        }
        try:
            check(variant, params, reads)
        except ValueError as e:
            if isinstance(e, ConfigError):
                raise
            raise ConfigError(f"tasks.{task.name}.params.{e} (variant {variant})") from None


def check_artefact(config: dict, artefact: Artefact) -> None:
    """The artefact's parameters, then its own check against the datasets it reads (Artefact.check)."""
    params = artefact_params(config, artefact)
    if artefact.check is None:
        return
    from kx_tasks.core.registry import resolve

    try:
        resolve(artefact.check, f"artefact '{artefact.name}', check")(params)
    except ValueError as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"artefacts.{artefact.name}.params.{e}") from None


def check_config(config: dict, tasks: dict[str, Task], artefacts: dict[str, Artefact] | None = None) -> None:
    """Everything the JSON schema of the workflow cannot know: task and artefact names, variants, parameters."""
    from kx_tasks.core.data import DATASETS  # the catalogue: numpy only

    if artefacts is None:  # the installed ones
        from kx_tasks.core.registry import discover_artefacts

        artefacts = discover_artefacts()
    for name, block in (config.get("tasks") or {}).items():
        if name not in tasks:
            raise ConfigError(f"tasks.{name}: unknown task (installed: {', '.join(tasks) or 'none'})")
        block = block or {}
        for variant in block.get("variants") or []:
            if variant not in tasks[name].variants:
                raise ConfigError(
                    f"tasks.{name}.variants: unknown variant '{variant}' (known: {', '.join(tasks[name].variants)})"
                )
        build_params(tasks[name].params, block.get("params"), f"tasks.{name}.params")
        families = set(tasks[name].variants) | {stages.family(v) for v in tasks[name].variants}
        for key in block.get("variant_seeds") or {}:
            if key not in families:
                raise ConfigError(
                    f"tasks.{name}.variant_seeds.{key}: not a variant of {name} nor the first part of one "
                    f"(known: {', '.join(sorted(families))})"
                )
        if block.get("enabled", True):  # a disabled task's looks never run
            check_looks(name, block, config)
        for key in block.get("variant_overrides") or {}:
            if key not in families:
                raise ConfigError(
                    f"tasks.{name}.variant_overrides.{key}: not a variant of {name} nor the first part of one "
                    f"(known: {', '.join(sorted(families))})"
                )
    for name in config.get("artefacts") or {}:
        if name not in artefacts:
            raise ConfigError(f"artefacts.{name}: unknown artefact (installed: {', '.join(artefacts) or 'none'})")
        check_artefact(config, artefacts[name])
    for name in enabled_tasks(config, tasks):
        wanted_by = {a for v in variants(config, tasks[name]) for a in tasks[name].artefacts_for(v)}
        for wanted in sorted(wanted_by):
            if wanted not in artefacts:
                raise ConfigError(f"task '{name}' reads artefact '{wanted}', which no installed plugin declares")
            check_artefact(config, artefacts[wanted])
        check_runs(config, tasks[name], artefacts)
    report_dir = str(config.get("report_dir", "results/report")).rstrip("/")
    if not report_dir or any(report_dir == d or report_dir.startswith(d + "/") for d in stages.OUTPUT_DIRS):
        raise ConfigError(
            f"report_dir: {config.get('report_dir')!r} would write over the pipeline's own outputs "
            f"({', '.join(stages.OUTPUT_DIRS)}); give a folder of its own, e.g. results/report_mine"
        )
    records_dir = str(config.get("records_dir") or "").rstrip("/")
    taken = [*stages.OUTPUT_DIRS, report_dir]
    if records_dir and any(
        records_dir == d or records_dir.startswith(d + "/") or d.startswith(records_dir + "/") for d in taken
    ):
        raise ConfigError(
            f"records_dir: {config.get('records_dir')!r} would mix published runs with the pipeline's outputs or "
            f"the report ({', '.join(taken)}); give a folder of its own, e.g. records/mine"
        )
    for name in config.get("datasets") or []:
        if name not in DATASETS:
            raise ConfigError(f"datasets: unknown dataset '{name}' (known: {', '.join(DATASETS)})")


def check_looks(name: str, block: dict, config: dict) -> None:
    """looks: increasing seed counts, the first the number of the task's seeds, the last within max_seeds."""
    looks = list(block.get("looks") or [])
    if not looks:
        return
    where = f"tasks.{name}.looks"
    if looks != sorted(set(looks)) or looks[0] < 2:
        raise ConfigError(f"{where}: {looks} must be increasing seed counts of at least 2, e.g. [3, 5]")
    first = len(block.get("seeds") or config.get("seeds") or [0])
    if looks[0] != first:
        raise ConfigError(
            f"{where}: the first look ({looks[0]}) must be the number of the task's seeds ({first}): look 1 runs them"
        )
    cap = block.get("max_seeds", DEFAULT_MAX_SEEDS)
    if looks[-1] > cap:
        raise ConfigError(f"{where}: the last look ({looks[-1]}) is beyond tasks.{name}.max_seeds ({cap})")


def enabled_tasks(config: dict, tasks: dict[str, Task]) -> list[str]:
    """Tasks absent from the config run with their defaults, so a newly installed plugin joins the DAG."""
    return [name for name in tasks if task_block(config, name).get("enabled", True)]


def variants(config: dict, task: Task) -> list[str]:
    """The config's list, else the task's default variants, else all of them."""
    return list(task_block(config, task.name).get("variants") or task.default_variants or task.variants)


def seeds(config: dict, task: Task, variant: str | None = None) -> list[int]:
    """The variant's own seeds (`variant_seeds`, by its name or its family: the part before the first dot), else the
    task's, else the config's."""
    block = task_block(config, task.name)
    own = block.get("variant_seeds") or {}
    if variant is not None:
        for key in (variant, stages.family(variant)):
            if key in own:
                return list(own[key])
    return list(block.get("seeds") or config.get("seeds") or [0])


def _with_overrides(declared: Resources, block: dict) -> Resources:
    """Declared resources with the config block's `threads`, `mem_mb` and `runtime` overrides, if any."""
    overrides = {key: int(block[key]) for key in ("threads", "mem_mb", "runtime") if block.get(key)}
    return dataclasses.replace(declared, **overrides)


def stage_resources(config: dict, task: Task, stage: str) -> Resources:
    """The stage's declared resources, with the config's `tasks.<name>.threads` override."""
    return _with_overrides(task.stages[stage].resources, task_block(config, task.name))


def artefact_resources(config: dict, artefact: Artefact) -> Resources:
    """The artefact's declared resources, with the config's `artefacts.<name>.threads` override."""
    return _with_overrides(artefact.resources, artefact_block(config, artefact.name))


def gpu_count(config: dict, resources: Resources) -> int:
    return 1 if stages.uses_gpu(resources.gpu, config.get("device", "cpu")) else 0


def resource_value(config: dict, resources: Resources, field: str) -> int:
    """What a rule declares for `field` (threads, mem_mb, runtime, or gpu as a count) from these resources."""
    return gpu_count(config, resources) if field == "gpu" else getattr(resources, field)


def make_run(config: dict, task: Task, variant: str, seed: int, stage: str = "train") -> Run:
    """The run of one stage: the device is the configured one only where the stage uses a GPU."""
    if variant not in task.variants:
        raise ConfigError(f"task '{task.name}': unknown variant '{variant}' (known: {', '.join(task.variants)})")
    block = task_block(config, task.name)
    resources = stage_resources(config, task, stage)
    return Run(
        task=task.name,
        variant=variant,
        seed=int(seed),
        device=stages.stage_device(resources.gpu, str(config.get("device", "cpu"))),
        threads=resources.threads,
        params=run_params(task, block, variant),
    )


def user_params(block: dict, variant: str) -> dict:
    """What the config sets for this variant: the task's params, then its family's overrides, then its own."""
    out = dict(block.get("params") or {})
    overrides = block.get("variant_overrides") or {}
    for key in dict.fromkeys((stages.family(variant), variant)):
        out.update(overrides.get(key) or {})
    return out


def _set_at(task: str, block: dict, variant: str, key: str) -> str:
    """The config key that set parameter `key` for this variant (the last of params, family, variant)."""
    where = f"tasks.{task}.params.{key}"
    overrides = block.get("variant_overrides") or {}
    for name in dict.fromkeys((stages.family(variant), variant)):
        if key in (overrides.get(name) or {}):
            where = f"tasks.{task}.variant_overrides.{name}.{key}"
    return where


def run_params(task: Task, block: dict, variant: str) -> Params:
    """The config's parameters for the variant with what the variant pins on top. A pinned parameter the config
    also sets to another value is refused: a published setting stays one, and no value the user wrote is ignored."""
    user = user_params(block, variant)
    pins = task.variant_params.get(variant, {})
    for key in sorted(set(user) & set(pins)):
        if P.normalise(task.params, {key: user[key]})[key] != pins[key]:
            raise ConfigError(
                f"{_set_at(task.name, block, variant, key)}: {user[key]!r} would be ignored: the variant {variant} "
                f"pins {key} = {pins[key]!r} (kx info {task.name}); remove it, or set it under "
                f"tasks.{task.name}.variant_overrides for the variants that take it"
            )
    where = f"tasks.{task.name}.params"
    try:
        return build_params(task.params, {**user, **pins}, where)
    except ConfigError as e:  # each line names the key that set the value: params, or a variant's overrides
        lines = []
        for line in str(e).splitlines():
            field = re.match(re.escape(where) + r"\.(\w+)", line)
            if field and field.group(1) in user:
                line = _set_at(task.name, block, variant, field.group(1)) + line[field.end() :]
            lines.append(line)
        raise ConfigError("\n".join(lines)) from None


def artefact_params(config: dict, artefact: Artefact) -> Params:
    where = f"artefacts.{artefact.name}.params"
    return build_params(artefact.params, artefact_block(config, artefact.name).get("params"), where)


def artefact_datasets(config: dict, artefact: Artefact) -> tuple[str, ...]:
    """The datasets the artefact's build reads under this config's parameters."""
    return artefact.datasets_for(artefact_params(config, artefact))


def make_artefact_run(config: dict, artefact: Artefact, key: str) -> Run:
    seed = int(key.removeprefix("seed")) if key != stages.SHARED_KEY else 0
    resources = artefact_resources(config, artefact)
    return Run(
        task=artefact.name,
        variant=key,
        seed=seed,
        device=stages.stage_device(resources.gpu, str(config.get("device", "cpu"))),
        threads=resources.threads,
        params=artefact_params(config, artefact),
    )


@dataclass(frozen=True)
class RunKey:
    task: str
    variant: str
    seed: int


def runs(config: dict, tasks: dict[str, Task]) -> list[RunKey]:
    """All runs the config asks for: enabled tasks x variants x seeds."""
    return [
        RunKey(name, variant, int(seed))
        for name in enabled_tasks(config, tasks)
        for variant in variants(config, tasks[name])
        for seed in seeds(config, tasks[name], variant)
    ]


def artefact_inputs(
    task: Task, stage: str, variant: str, seed: int, artefacts: dict[str, Artefact], root: str = stages.ARTEFACTS
) -> dict[str, str]:
    """name -> directory of every artefact the stage of this variant reads, for this run's seed (under `root`)."""
    return {
        name: stages.artefact_dir(name, stages.artefact_key(artefacts[name].per_seed, seed), root)
        for name in task.stages[stage].artefacts_for(variant)
    }
