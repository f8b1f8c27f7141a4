"""Checkpoints: {model, optimizer, config, step, metrics} dicts (nanoGPT's layout), written atomically and
loaded with weights_only=True, so a checkpoint can never run code.

The runner hands every stage a `checkpoints` directory beside its output that survives a failed or killed
stage; a stage that checkpoints there resumes from `load_latest` on the rerun. It is removed once the stage
has finished.
"""

from __future__ import annotations

from pathlib import Path

import torch

from kx_tasks.core.io import atomic_path

KEEP = 2  # newest checkpoints kept; older ones are deleted after each save


def save(state: dict, directory: str | Path, step: int) -> Path:
    directory = Path(directory)
    path = directory / f"step{step:09d}.pt"
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save({**state, "step": step}, tmp)
    for old in sorted(directory.glob("step*.pt"))[:-KEEP]:
        old.unlink(missing_ok=True)
    return path


def load_latest(directory: str | Path, map_location: str | torch.device = "cpu") -> dict | None:
    """The newest checkpoint in `directory`, or None when there is none."""
    paths = sorted(Path(directory).glob("step*.pt"))
    if not paths:
        return None
    return torch.load(paths[-1], map_location=map_location, weights_only=True)
