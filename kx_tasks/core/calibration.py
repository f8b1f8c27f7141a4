"""Calibrated resources: what `kx shakedown CONFIG` measured, as each job's `runtime` and `mem_mb`, read by the rules
instead of the tasks' declared guesses when the file exists.

The file is config/calibration/STEM.DEVICE.yaml: STEM the name of the config file on top (paper for
config/paper.yaml), DEVICE where the shake-down ran (cpu or cuda). A config that computes on the CPU reads the cpu
file; one with `device: cuda` or `auto` reads the cuda file, and where only the cpu file exists, that one (a CPU is
slower than any GPU the jobs will get, so its runtimes are upper bounds; its memory is the host's). Jobs the file does
not name keep their declared resources; `kx info TASK --config FILE` and the dry-run's `calibration` resource say
which applies.

    jobs:
      mixup/cifar10.erm/train: {runtime: 2940, mem_mb: 2400, projected_s: 117000.0, peak_rss_mb: 1600.0, ...}
      artefact/bert_mlm15: {...}
"""

from __future__ import annotations

import math
from pathlib import Path

from kx_tasks.core.io import read_yaml

FOLDER = "config/calibration"
CALIBRATED = ("runtime", "mem_mb")  # what a calibration sets; threads and gpu stay as declared
RUNTIME_FACTOR = 1.5  # runtime = projected minutes x this + RUNTIME_MARGIN_MIN, rounded up
RUNTIME_MARGIN_MIN = 5  # start-up, data loading and checkpoint writes a short run underweights
MEM_FACTOR = 1.25  # mem_mb = peak resident MB x this + MEM_MARGIN_MB, rounded up
MEM_MARGIN_MB = 256


def path(stem: str, device: str, root: str | Path = ".") -> Path:
    return Path(root) / FOLDER / f"{stem}.{device}.yaml"


def runtime_minutes(projected_s: float) -> int:
    return math.ceil(projected_s / 60 * RUNTIME_FACTOR) + RUNTIME_MARGIN_MIN


def mem_mb(peak_mb: float) -> int:
    return math.ceil(peak_mb * MEM_FACTOR + MEM_MARGIN_MB)


def job_key(task: str, variant: str | None, stage: str) -> str:
    """The file's key of a stage job (TASK/VARIANT/STAGE) or an artefact's (artefact/NAME)."""
    return f"artefact/{task}" if stage == "artefact" else f"{task}/{variant}/{stage}"


class Calibration:
    """One calibration file as the rules read it (or none: every job keeps its declared resources)."""

    def __init__(self, file: Path | None, data: dict | None, note: str):
        self.file, self.note = file, note
        self.jobs: dict[str, dict] = (data or {}).get("jobs") or {}
        self.device = (data or {}).get("device", "")

    def value(self, key: str, field: str, declared: int, block: dict | None = None) -> int:
        """`runtime` or `mem_mb` of job `key`: the config block's own value if it sets one (a user's word wins), else
        the calibrated one where the file names the job, else `declared`."""
        if field in CALIBRATED and (block or {}).get(field):
            return int(block[field])
        job = self.jobs.get(key)
        return int(job[field]) if job and field in CALIBRATED else declared

    def source(self, key: str, block: dict | None = None) -> str:
        """Where job `key`'s runtime and mem_mb come from, in a few words the dry-run can show."""
        set_here = [f for f in CALIBRATED if (block or {}).get(f)]
        rest = f"{self.file}" if key in self.jobs else "declared"
        if len(set_here) == len(CALIBRATED):
            return "config"
        return f"{set_here[0]}:config,{rest}" if set_here else rest


def for_config(config: dict, config_files: list[str], root: str | Path = ".") -> Calibration:
    """The calibration the pipeline reads for this config: the top config file's, for its device (see above)."""
    stem = Path(config_files[-1]).stem if config_files else "config"
    wanted = "cpu" if config.get("device", "cpu") == "cpu" else "cuda"
    for device in dict.fromkeys((wanted, "cpu")):
        file = path(stem, device, root)
        if file.exists():
            note = f"calibrated on {device} ({file})"
            if device != wanted:
                note += f"; no {wanted} calibration: the cpu runtimes are upper bounds"
            return Calibration(file, read_yaml(file), note)
    return Calibration(None, None, f"declared (no {path(stem, wanted)}; `kx shakedown` writes it)")


def projection(config: dict, tasks: dict, artefacts: dict, data: dict) -> list[dict]:
    """One row per run of a config (task x variant) from one calibration file's `data`: the seeds it runs, the
    projected hours of one seed, the core-hours (or, measured on a GPU, GPU-hours) of all its seeds, its largest
    job's peak memory and whether that fits the measuring machine. Artefacts are rows of their own (one per seed
    they are built for). A job the file does not name leaves the run's hours unknown (None)."""
    from kx_tasks.core import settings, stages

    jobs, host, gpu = data.get("jobs") or {}, data.get("host") or {}, data.get("device") == "cuda"
    rows, built = [], {}
    for name in settings.enabled_tasks(config, tasks):
        task = tasks[name]
        for variant in settings.variants(config, task):
            seeds = settings.seeds(config, task, variant)
            measured = [jobs.get(job_key(name, variant, s)) for s in task.stage_names()]
            for stage in task.stages.values():
                for art in stage.artefacts_for(variant):
                    keys = seeds if artefacts[art].per_seed else [stages.SHARED_KEY]
                    built.setdefault(art, set()).update(keys)
            rows.append(_row(name, variant, len(seeds), measured, host, gpu))
    for art, keys in sorted(built.items()):
        rows.append(_row("artefact", art, len(keys), [jobs.get(job_key(art, None, "artefact"))], host, gpu))
    return rows


def _row(task: str, variant: str, seeds: int, measured: list[dict | None], host: dict, gpu: bool) -> dict:
    known = all(m is not None for m in measured)
    one = sum(m["projected_s"] for m in measured if m) / 3600 if known else None
    core = sum(m["projected_s"] * (1 if gpu else m["threads"]) for m in measured if m) / 3600 * seeds
    peaks = [m.get("cuda_peak_mb" if gpu else "peak_rss_mb", 0.0) for m in measured if m]
    peak = max(peaks) if peaks else None
    limit = host.get("gpu_memory_mb" if gpu else "memory_mb")
    return {
        "task": task,
        "variant": variant,
        "seeds": seeds,
        "hours_per_seed": one,
        "hours": core if known else None,
        "peak_mb": peak,
        "fits": None if not known or not limit else peak <= limit,
        "synthetic": sorted({d for m in measured if m for d in m.get("synthetic", [])}),
    }
