"""Which GPUs a job may use.

Under a scheduler (SLURM sets CUDA_VISIBLE_DEVICES for the allocation) or when the user set it, that choice is
respected and nothing is locked. On one machine with several GPUs and several concurrent jobs (Snakemake's
`resources: gpu=N` bounds how many), each job locks a free GPU id with flock and exports it as
CUDA_VISIBLE_DEVICES before CUDA is initialised, so concurrent jobs never share a GPU. A lock dies with its
process, so a killed job frees its GPU.

References:
- SLURM generic resources: https://slurm.schedmd.com/gres.html (CUDA_VISIBLE_DEVICES per allocation)
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("kx")

ENV_IDS = "KX_GPU_IDS"  # e.g. "0,1,2,3": the machine's GPUs, when nvidia-smi should not be asked
ENV_LOCK_DIR = "KX_GPU_LOCK_DIR"


def machine_gpu_ids() -> list[str]:
    """The GPU ids of this machine: $KX_GPU_IDS, else nvidia-smi's list, else none."""
    if ENV_IDS in os.environ:
        return [x.strip() for x in os.environ[ENV_IDS].split(",") if x.strip()]
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def lock_dir() -> Path:
    return Path(os.environ.get(ENV_LOCK_DIR) or Path(tempfile.gettempdir()) / "kx-gpu-locks")


@contextlib.contextmanager
def claim(count: int, poll_s: float = 1.0, timeout_s: float = 24 * 3600) -> Iterator[list[str]]:
    """Yield the GPU ids this process may use (len <= count), with CUDA_VISIBLE_DEVICES set to them.

    count = 0, or a machine without GPUs: yields [] and changes nothing.
    """
    assigned = os.environ.get("CUDA_VISIBLE_DEVICES")
    if count == 0:
        yield []
        return
    if assigned is not None:  # a scheduler or the user chose already
        yield [x for x in assigned.split(",") if x]
        return
    ids = machine_gpu_ids()
    if not ids:
        yield []
        return
    if count > len(ids):
        raise RuntimeError(f"asked for {count} GPU(s), this machine has {len(ids)}: {', '.join(ids)}")
    directory = lock_dir()
    directory.mkdir(parents=True, exist_ok=True)
    held: list[tuple[str, int]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(held) < count:
            for gpu in ids:
                if len(held) == count or any(g == gpu for g, _ in held):
                    continue
                fd = os.open(directory / f"gpu{gpu}.lock", os.O_CREAT | os.O_RDWR, 0o666)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                held.append((gpu, fd))
            if len(held) < count:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no free GPU among {ids} after {timeout_s:.0f}s (locks in {directory})")
                time.sleep(poll_s)
        chosen = [g for g, _ in held]
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(chosen)
        log.info("GPU(s) %s locked for this job (CUDA_VISIBLE_DEVICES=%s)", chosen, ",".join(chosen))
        yield chosen
    finally:
        for _, fd in held:
            os.close(fd)  # closing the descriptor releases the flock
        if held:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
