"""Per-run figures of the `rsgan` task: the grid generator's samples at its checkpoints, an image sample grid, and
the FD curve against iterations and training seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from kx_tasks.core.plotting import new_figure, save_figure, show, tile
from kx_tasks.rsgan.grid import MODES


def plot_grid_snapshots(snaps: dict[int, np.ndarray], run, path: Path, shown: int = 4) -> None:
    """2,500 samples from fixed noise at up to `shown` checkpoints (evenly spaced, the last included)."""
    steps = sorted(snaps)
    picks = [steps[int(round(i))] for i in np.linspace(0, len(steps) - 1, min(shown, len(steps)))]
    fig, axes = new_figure(len(picks), 1, width=3.0, height=3.0)
    for ax, step in zip(axes[0], picks, strict=True):
        x = snaps[step]
        ax.scatter(MODES[:, 0], MODES[:, 1], s=60, facecolors="none", edgecolors="0.6", lw=0.8)
        ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.3, color="C3")
        ax.set_xlim(-5.5, 5.5)
        ax.set_ylim(-5.5, 5.5)
        ax.set_aspect("equal")
        ax.set_title(f"iteration {step}", fontsize=9)
    caption = f"{run.variant}, seed {run.seed}: 2,500 samples from fixed noise at checkpoints; circles: the 25 modes"
    save_figure(fig, path, caption)


def plot_samples(x01: torch.Tensor, run, path: Path) -> None:
    """An 8 × 8 grid of final samples (fixed noise)."""
    n = int(np.sqrt(len(x01)))
    fig, axes = new_figure(1, 1, width=4.0, height=4.0)
    show(axes[0, 0], tile(x01[: n * n].numpy(), n))
    save_figure(fig, path, f"{run.variant}, seed {run.seed}: samples of the final generator from fixed noise")


def plot_fd_curve(evals: list[dict], tau: float, run, path: Path) -> None:
    fig, axes = new_figure(2, 1, width=4.2, height=3.2)
    for ax, key, label in ((axes[0, 0], "step", "iteration"), (axes[0, 1], "seconds", "training seconds")):
        ax.plot([r[key] for r in evals], [r["fd"] for r in evals], "o-", ms=3)
        ax.axhline(tau, color="0.5", ls="--", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("FD (classifier features)")
    save_figure(fig, path, f"{run.variant}, seed {run.seed}: FD at each checkpoint; dashed: τ (the 'reached' level)")
