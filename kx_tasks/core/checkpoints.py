"""Checkpoints: {model, optimizer, config, step, metrics} dicts (nanoGPT's layout), written atomically and
loaded with weights_only=True, so a checkpoint can never run code.

The runner hands every stage a `checkpoints` directory beside its output that survives a failed or killed
stage; a stage that checkpoints there resumes from `load_latest` on the rerun. It is removed once the stage
has finished.

Resume only what matches: the runner `claim`s the directory with the provenance of the stage about to run (the
hash of its resolved config and the code version); checkpoints left by a run with another config or code are
deleted, and the stage starts over, saying so. Every checkpoint also carries that provenance, and `load_latest`
refuses one whose provenance is not the directory's.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
from pathlib import Path

import torch

from kx_tasks.core.io import atomic_path, write_json

KEEP = 2  # newest checkpoints kept; older ones are deleted after each save
# Fault injection for the resume tests: with KX_KILL_AFTER_SAVES=N the process SIGKILLs itself right after its N-th
# checkpoint is on disk (a preemption at the worst moment: nothing after it runs, no handler, no flush).
KILL_AFTER_SAVES = "KX_KILL_AFTER_SAVES"
_saves = [0]  # checkpoints this process has written
PROVENANCE = "provenance.json"
log = logging.getLogger("kx")


def claim(directory: str | Path, provenance: dict) -> bool:
    """Make `directory` hold only checkpoints of this provenance; returns whether older ones were discarded."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = directory / PROVENANCE
    old = json.loads(stamp.read_text(encoding="utf-8")) if stamp.exists() else None
    discarded = False
    if old != provenance and any(p.name != PROVENANCE for p in directory.iterdir()):
        changed = ", ".join(
            f"{k} {old.get(k) if old else None} -> {v}" for k, v in provenance.items() if (old or {}).get(k) != v
        )
        log.warning(
            "starting over: the checkpoints in %s were written by another run (%s); discarding them", directory, changed
        )
        shutil.rmtree(directory)
        directory.mkdir(parents=True)
        discarded = True
    write_json(stamp, provenance)
    return discarded


def _provenance(directory: Path) -> dict | None:
    """The stamp of the claimed directory this checkpoint directory is in (a stage may use subdirectories)."""
    for d in (directory, *list(directory.parents)[:2]):
        if (d / PROVENANCE).exists():
            return json.loads((d / PROVENANCE).read_text(encoding="utf-8"))
    return None


def save(state: dict, directory: str | Path, step: int) -> Path:
    directory = Path(directory)
    path = directory / f"step{step:09d}.pt"
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save({**state, "step": step, "provenance": _provenance(directory)}, tmp)
    for old in sorted(directory.glob("step*.pt"))[:-KEEP]:
        old.unlink(missing_ok=True)
    _saves[0] += 1
    if os.environ.get(KILL_AFTER_SAVES) == str(_saves[0]):
        os.kill(os.getpid(), signal.SIGKILL)
    return path


def load_weights(module: torch.nn.Module, path: str | Path, device) -> torch.nn.Module:
    """Load a state dict saved by torch.save(module.state_dict(), path) into `module` (weights_only: loading runs no
    code); returns the module."""
    module.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    return module


def load_latest(directory: str | Path, map_location: str | torch.device = "cpu") -> dict | None:
    """The newest checkpoint in `directory`, or None when there is none."""
    directory = Path(directory)
    paths = sorted(directory.glob("step*.pt"))
    if not paths:
        return None
    state = torch.load(paths[-1], map_location=map_location, weights_only=True)
    expected = _provenance(directory)
    if state.get("provenance") != expected:
        log.warning("starting over: %s was written by %s, this run is %s", paths[-1], state.get("provenance"), expected)
        return None
    return state
