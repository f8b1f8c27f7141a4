"""Per-run figures of the `fvae` task: sample grids at each temperature, interpolations between test images through
the model's latent space (the post's figure), and bits/dim and FD at the checkpoints against training seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kx_tasks.core.plotting import new_figure, save_figure, show, tile


def plot_samples(shown: dict[str, np.ndarray], run, path: Path) -> None:
    """8 × 8 samples from fixed noise at each temperature (`t10` = T 1.0, …)."""
    fig, axes = new_figure(len(shown), 1, width=3.2, height=3.4)
    for ax, (tag, x) in zip(axes[0], shown.items(), strict=True):
        show(ax, tile(x, 8), f"T = {int(tag[1:]) / 10:.1f}")
    save_figure(fig, path, f"{run.variant}, seed {run.seed}: samples from fixed noise at temperatures 1.0, 0.8, 0.7")


def plot_interpolation(paths: np.ndarray, run, path: Path) -> None:
    """(pairs, steps, C, H, W): each row goes from one test image's latent to another's in straight steps."""
    fig, axes = new_figure(1, 1, width=6.0, height=1.6)
    show(axes[0, 0], tile(paths.reshape(-1, *paths.shape[2:]), paths.shape[1]))
    save_figure(fig, path, f"{run.variant}, seed {run.seed}: interpolation between test images in the latent space")


def plot_curves(evals: list[dict], run, path: Path) -> None:
    fig, axes = new_figure(2, 1, width=4.2, height=3.2)
    seconds = [r["seconds"] for r in evals]
    for ax, key, label in ((axes[0, 0], "bpd", "bits/dim (test subset)"), (axes[0, 1], "fd", "FD at T = 0.8")):
        ax.plot(seconds, [r[key] for r in evals], "o-", ms=3)
        ax.set_xlabel("training seconds")
        ax.set_ylabel(label)
        ax.set_yscale("log")
    save_figure(fig, path, f"{run.variant}, seed {run.seed}: bits/dim and FD at each checkpoint")
