"""Run one stage of one task: seed, time, write atomically, record. Rules and `kx run` both come through here."""

from __future__ import annotations

import logging
import math
import shutil
import time
from pathlib import Path

from kx_tasks import gpus
from kx_tasks.io import atomic_dir, write_json, write_yaml
from kx_tasks.records import run_record
from kx_tasks.registry import Task, TaskError, stage_function
from kx_tasks.seeding import resolve_device, seed_everything
from kx_tasks.settings import Run

log = logging.getLogger("kx")

# The fixed pipeline; a task may leave out the optional stages.
PIPELINE = ("augment", "train", "evaluate")
OPTIONAL = ("augment",)


def stages_of(task: Task) -> list[str]:
    return [s for s in PIPELINE if s not in OPTIONAL or stage_function(task, s) is not None]


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
    inputs["checkpoints"], a directory that outlives a failed or killed attempt (see kx_tasks.checkpoints).
    """
    fn = stage_function(task, stage)
    if fn is None:
        raise TaskError(f"task '{task.name}' has no {stage} stage")
    out_dir = Path(out_dir)
    wants_gpu = task.resources.gpu and run.device in ("cuda", "auto")
    with gpus.claim(1 if wants_gpu else 0) as gpu_ids:
        return _run(task, fn, stage, run, inputs, out_dir, gpu_ids)


def _run(task, fn, stage, run, inputs, out_dir: Path, gpu_ids: list[str]) -> dict | None:
    seed_everything(run.seed, run.threads)
    device = resolve_device(run.device)
    checkpoints = out_dir.with_name(f".{out_dir.name}.checkpoints")
    checkpoints.mkdir(parents=True, exist_ok=True)
    inputs = {**inputs, "checkpoints": checkpoints}
    log.info(
        "%s %s/%s seed %d on %s, %d thread(s) -> %s",
        stage,
        run.task,
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
            metrics = check_metrics(result, task.name)
            bad = [k for k, v in metrics.items() if not math.isfinite(v)]
            if bad:
                log.warning("non-finite metrics: %s", ", ".join(bad))
            write_json(tmp / "metrics.json", metrics)
        wall = time.perf_counter() - start
        write_yaml(tmp / "config.yaml", run.to_dict())
        write_json(tmp / "run.json", run_record(run, stage, device, wall, gpu_ids))
    shutil.rmtree(checkpoints, ignore_errors=True)  # the stage is complete; nothing to resume any more
    log.info("%s %s/%s seed %d done in %.1fs", stage, run.task, run.variant, run.seed, wall)
    return metrics
