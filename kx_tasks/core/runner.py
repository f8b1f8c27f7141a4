"""Run one stage of one task (or build one artefact): import its function, seed, time, write atomically, record.
The Snakemake rules and `kx run` both come through here.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from kx_tasks.core import checkpoints as ckpt
from kx_tasks.core import gpus, short_run, stages
from kx_tasks.core.io import atomic_dir, read_json, read_yaml, write_json, write_yaml
from kx_tasks.core.records import TIMINGS, code_version, run_record, split_timings
from kx_tasks.core.registry import Artefact, Task, TaskError, resolve, stage_function
from kx_tasks.core.seeding import seed_everything
from kx_tasks.core.settings import Run, run_hash

log = logging.getLogger("kx")


def stage_run_hash(stage_dir: Path) -> str:
    """The run hash of a finished stage: its run.json's, or (older records) the hash of its config.yaml."""
    record = read_json(stage_dir / "run.json")
    return record.get("run_hash") or run_hash(read_yaml(stage_dir / "config.yaml"))


def built_by(stage_dir: Path) -> str | None:
    """The run hash a finished stage or artefact directory carries; None when it has no record."""
    return stage_run_hash(stage_dir) if (stage_dir / "run.json").exists() else None


def check_inputs_match(run: Run, inputs: dict[str, Path]) -> None:
    """Every earlier stage this stage reads was produced by the same task, variant, seed and parameters."""
    mine = run.run_hash()
    for stage in stages.STAGES:
        earlier = inputs.get(stage)
        if earlier is None:
            continue
        earlier = Path(earlier)
        if not (earlier / "run.json").exists():
            raise TaskError(f"{earlier}: no run.json; not a finished '{stage}' stage (rerun it)")
        theirs = stage_run_hash(earlier)
        if theirs != mine:
            old = (read_yaml(earlier / "config.yaml") or {}).get("params", {})
            new = run.to_dict()["params"]
            diff = [
                f"{k}: {old.get(k)!r} there, {new.get(k)!r} here"
                for k in sorted(set(old) | set(new))
                if old.get(k) != new.get(k)
            ]
            raise TaskError(
                f"{earlier} was produced by another config (run hash {theirs}, this run {mine}"
                + (f"; {'; '.join(diff)}" if diff else "")
                + f"): rerun '{stage}' first"
            )


def check_metrics(metrics, task: str) -> dict[str, float]:
    if not isinstance(metrics, dict) or not metrics:
        raise TaskError(f"task '{task}': evaluate() must return a non-empty dict of metrics, got {metrics!r}")
    out = {}
    for key, value in metrics.items():
        if not isinstance(key, str):
            raise TaskError(f"task '{task}': metric name {key!r} is not a string")
        try:
            out[key] = float(value)
        except (TypeError, ValueError) as e:
            raise TaskError(f"task '{task}': metric '{key}' is not a number: {value!r}") from e
    return out


def check_artefacts_match(inputs: dict[str, Path], expected: dict[str, str]) -> None:
    """Every artefact the stage reads was built under the parameters its config gives it (run hash `expected`)."""
    for name, wanted in expected.items():
        built = built_by(Path(inputs[name])) if name in inputs else None
        if built != wanted:
            raise TaskError(
                f"{inputs.get(name, name)}: artefact '{name}' was built under other parameters (run hash {built}, "
                f"this config's {wanted}); rebuild it (Snakemake does when its parameters change)"
            )


def run_stage(
    task: Task, stage: str, run: Run, inputs: dict[str, Path], out_dir: str | Path, artefacts: dict | None = None
) -> dict | None:
    """Run `stage` into `out_dir`; the directory appears only when the stage has finished. `artefacts`: name -> the
    run hash each artefact input must carry (the pipeline passes them; a stale one is refused).

    Writes beside the stage's own files: config.yaml (the resolved run), run.json (the record), and for
    `evaluate` metrics.json. Returns the metrics for `evaluate`, else None. The stage also gets
    inputs["checkpoints"], a directory that outlives a failed or killed attempt (see kx_tasks.core.checkpoints).
    """
    check_artefacts_match(inputs, artefacts or {})
    fn = stage_function(task, stage)  # imports the stage's module (and torch, if it uses it) before seeding
    gpu = stages.uses_gpu(task.stages[stage].resources.gpu, run.device)
    return _execute(fn, stage, run, inputs, Path(out_dir), gpu, task.name)


def build_artefact(artefact: Artefact, run: Run, inputs: dict[str, Path], out_dir: str | Path) -> None:
    fn = resolve(artefact.build, f"artefact '{artefact.name}'")
    gpu = stages.uses_gpu(artefact.resources.gpu, run.device)
    _execute(fn, "artefact", run, inputs, Path(out_dir), gpu, artefact.name)


def check_datasets(inputs: dict[str, Path]) -> None:
    """Every input named after a dataset holds that dataset (its prepared file's facts say which)."""
    from kx_tasks.core import data

    for name, path in inputs.items():
        if name in data.DATASETS and Path(path).is_file():
            data.check_identity(path, name)


def _execute(fn: Callable, stage: str, run: Run, inputs, out_dir: Path, gpu: bool, owner: str) -> dict | None:
    check_inputs_match(run, inputs)
    check_datasets(inputs)
    with gpus.claim(1 if gpu else 0) as gpu_ids:
        seed_everything(run.seed, run.threads)
        device = str(run.torch_device) if run.device != "cpu" else "cpu"
        checkpoints = out_dir.with_name(f".{out_dir.name}.checkpoints")
        checkpoints.mkdir(parents=True, exist_ok=True)
        ckpt.claim(checkpoints, {"config_hash": run.config_hash(), "code": code_version()})
        inputs = {**inputs, "checkpoints": checkpoints}
        log.info(
            "%s %s/%s seed %d on %s, %d thread(s) -> %s",
            stage,
            owner,
            run.variant,
            run.seed,
            device,
            run.threads,
            out_dir,
        )
        start = (time.perf_counter(), time.process_time())
        try:
            with atomic_dir(out_dir) as tmp:
                metrics = _run_fn(fn, stage, run, inputs, tmp, owner, device, start, gpu_ids)
        except FloatingPointError as e:  # the engine's NonFiniteLoss: a diverged model is a failure, not a result
            raise TaskError(f"{owner} {run.variant} seed {run.seed} (config {run.config_hash()}): {e}") from None
        finally:
            if checkpoints.exists() and not [p for p in checkpoints.rglob("*") if p.name != ckpt.PROVENANCE]:
                shutil.rmtree(checkpoints, ignore_errors=True)  # nothing to resume: leave no empty folder behind
        shutil.rmtree(checkpoints, ignore_errors=True)  # the stage is complete; nothing to resume any more
        return metrics


def _run_fn(fn, stage, run, inputs, tmp: Path, owner: str, device: str, start: tuple, gpu_ids) -> dict | None:
    """Call the stage into the temporary directory and write its records beside its files. start: the wall clock and
    the process's CPU time when the stage began."""
    result = fn(run, inputs, tmp)
    metrics = None
    if stage == "evaluate":
        metrics = check_metrics(result, owner)
        bad = [k for k, v in metrics.items() if not math.isfinite(v)]
        if bad:  # a number the report would average into nan ± nan: the stage fails instead
            raise TaskError(
                f"task '{owner}' {run.variant} seed {run.seed}: non-finite metrics {', '.join(bad)}; nothing written"
            )
        measured, timings = split_timings(metrics)
        write_json(tmp / "metrics.json", measured)
        if timings:
            write_json(tmp / TIMINGS, timings)
    wall, cpu = time.perf_counter() - start[0], time.process_time() - start[1]
    short_run.record({"event": "stage", "stage": stage, "wall_s": wall, "cuda_peak_mb": short_run.cuda_peak_mb()})
    write_yaml(tmp / "config.yaml", run.to_dict())
    write_json(tmp / "run.json", run_record(run, stage, device, wall, gpu_ids, cpu))
    log.info("%s %s/%s seed %d done in %.1fs", stage, owner, run.variant, run.seed, wall)
    return metrics
