"""Seed every random number generator a run may touch, and pin CPU threads, so runs repeat exactly.

torch is seeded and pinned only when it has been imported: the runner imports the stage's module first, so a stage
whose module imports torch gets it seeded, and a stage that needs no torch (gillespie, det's evaluate, the report)
does not pay its ~3 s import. Stage modules therefore import torch at module level, never inside a function.
"""

from __future__ import annotations

import os
import random
import sys

import numpy as np


def seed_everything(seed: int, threads: int) -> None:
    # Before torch (or numpy's BLAS) starts its thread pool: reductions split work across threads, and a fixed
    # count keeps CPU results bit-identical between runs.
    os.environ["OMP_NUM_THREADS"] = str(threads)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True, warn_only=True)


def resolve_device(device: str):
    """`auto` takes CUDA when present; `cuda` without a GPU is an error, not a silent CPU run."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config sets device: cuda but torch sees no CUDA device")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device: expected auto, cpu or cuda, got {device!r}")
    return torch.device(device)
