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

from kx_tasks.core import gpus, stages
from kx_tasks.core.io import atomic_dir, write_json, write_yaml
from kx_tasks.core.records import TIMINGS, run_record, split_timings
from kx_tasks.core.registry import Artefact, Task, TaskError, resolve, stage_function
from kx_tasks.core.seeding import seed_everything
from kx_tasks.core.settings import Run

log = logging.getLogger("kx")


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


def run_stage(task: Task, stage: str, run: Run, inputs: dict[str, Path], out_dir: str | Path) -> dict | None:
    """Run `stage` into `out_dir`; the directory appears only when the stage has finished.

    Writes beside the stage's own files: config.yaml (the resolved run), run.json (the record), and for
    `evaluate` metrics.json. Returns the metrics for `evaluate`, else None. The stage also gets
    inputs["checkpoints"], a directory that outlives a failed or killed attempt (see kx_tasks.core.checkpoints).
    """
    fn = stage_function(task, stage)  # imports the stage's module (and torch, if it uses it) before seeding
    gpu = stages.uses_gpu(task.stages[stage].resources.gpu, run.device)
    return _execute(fn, stage, run, inputs, Path(out_dir), gpu, task.name)


def build_artefact(artefact: Artefact, run: Run, inputs: dict[str, Path], out_dir: str | Path) -> None:
    fn = resolve(artefact.build, f"artefact '{artefact.name}'")
    gpu = stages.uses_gpu(artefact.resources.gpu, run.device)
    _execute(fn, "artefact", run, inputs, Path(out_dir), gpu, artefact.name)


def _execute(fn: Callable, stage: str, run: Run, inputs, out_dir: Path, gpu: bool, owner: str) -> dict | None:
    with gpus.claim(1 if gpu else 0) as gpu_ids:
        seed_everything(run.seed, run.threads)
        device = str(run.torch_device) if run.device != "cpu" else "cpu"
        checkpoints = out_dir.with_name(f".{out_dir.name}.checkpoints")
        checkpoints.mkdir(parents=True, exist_ok=True)
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
        start = time.perf_counter()
        with atomic_dir(out_dir) as tmp:
            result = fn(run, inputs, tmp)
            metrics = None
            if stage == "evaluate":
                metrics = check_metrics(result, owner)
                bad = [k for k, v in metrics.items() if not math.isfinite(v)]
                if bad:
                    log.warning("non-finite metrics: %s", ", ".join(bad))
                measured, timings = split_timings(metrics)
                write_json(tmp / "metrics.json", measured)
                if timings:
                    write_json(tmp / TIMINGS, timings)
            wall = time.perf_counter() - start
            write_yaml(tmp / "config.yaml", run.to_dict())
            write_json(tmp / "run.json", run_record(run, stage, device, wall, gpu_ids))
        shutil.rmtree(checkpoints, ignore_errors=True)  # the stage is complete; nothing to resume any more
        log.info("%s %s/%s seed %d done in %.1fs", stage, owner, run.variant, run.seed, wall)
        return metrics
