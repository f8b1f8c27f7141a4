"""Run records: what ran, with which code, on what, for how long (run.json beside every output)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("kx", "torch", "numpy", "scipy", "pandas", "matplotlib", "mpmath", "snakemake")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(where: Path | None = None) -> str | None:
    """The commit of the checkout the code runs from, with '-dirty' when it has changes; None outside git."""
    where = where or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def code_version() -> str:
    """The code a checkpoint was written by: the git commit (with -dirty), else the installed kx version."""
    from kx_tasks import __version__

    return git_commit() or f"kx {__version__}"


def device_info(device: str) -> dict:
    """The device a stage ran on; the GPU's name only when it ran on one (torch is imported by then)."""
    info = {"device": device, "platform": platform.platform(), "cpu": platform.processor() or "unknown"}
    if device.startswith("cuda"):
        import torch

        info["gpu_name"] = torch.cuda.get_device_name(torch.device(device))
    return info


def run_record(run, stage: str, device: str, wall_time_s: float, gpu_ids: list[str], cpu_time_s: float = 0.0) -> dict:
    """run.json. cpu_time_s: the process's CPU time over the stage (all its threads): the core-seconds it used,
    which, unlike wall time × threads, a busy machine does not inflate."""
    return {
        "task": run.task,
        "variant": run.variant,
        "seed": run.seed,
        "stage": stage,
        "config_hash": run.config_hash(),
        "run_hash": run.run_hash(),
        "git_commit": git_commit(),
        "versions": package_versions(),
        "threads": run.threads,
        "gpu_ids": gpu_ids,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "hostname": platform.node(),
        "wall_time_s": round(wall_time_s, 3),
        "cpu_time_s": round(cpu_time_s, 3),
        "argv": sys.argv,
        **device_info(device),
    }


TIMING = "timing."  # metrics read off a clock (speed-ups, events/s): they cannot repeat to the byte
TIMINGS = "timings.json"


def split_timings(metrics: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """(metrics.json, timings.json): wall-clock measurements are kept apart, so that the same config and seed
    give a byte-identical metrics.json; the report reads both, and claims may judge either."""
    timings = {k: v for k, v in metrics.items() if k.startswith(TIMING)}
    return {k: v for k, v in metrics.items() if k not in timings}, timings
