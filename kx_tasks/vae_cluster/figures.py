"""Figures of the `vae_cluster` task: per-cluster image grids (as the post shows them), the confusion matrix,
the decoder's volume along a line between two cluster means, and the training curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kx_tasks.core.plotting import new_figure, save_figure, tile


def cluster_grids(groups: list[np.ndarray], titles: list[str], path: Path, caption: str, cols: int = 8) -> None:
    """One panel per cluster, each a cols x cols grid of its images (N_k, 28, 28) in [0, 1]."""
    panels = len(groups)
    ncols = min(5, panels)
    nrows = -(-panels // ncols)
    fig, axes = new_figure(ncols=ncols, nrows=nrows, width=2.4, height=2.6)
    for ax in axes.flat:
        ax.axis("off")
    for ax, images, title in zip(axes.flat, groups, titles, strict=False):
        ax.imshow(1.0 - tile(images[: cols * cols], cols), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
    save_figure(fig, path, caption)


def confusion(counts: np.ndarray, order: list[int], class_names: list[str], path: Path, title: str) -> None:
    """counts[cluster, label], clusters ordered by their Hungarian-matched label."""
    fig, axes = new_figure(width=5.6, height=4.8)
    ax = axes[0, 0]
    shown = counts[order]
    im = ax.imshow(shown, cmap="Blues")
    for (r, c), v in np.ndenumerate(shown):
        if v:
            ax.text(c, r, str(v), ha="center", va="center", fontsize=6, color="white" if v > shown.max() / 2 else "k")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(order)), [f"cluster {k}" for k in order], fontsize=7)
    ax.set(xlabel="true label", title=title)
    fig.colorbar(im, ax=ax, shrink=0.8)
    save_figure(fig, path, f"{title}: test images per (cluster, true label); rows in the Hungarian matching's order.")


def volume_line(t, log_vol, strip: np.ndarray, ends: tuple[int, int], path: Path, title: str) -> None:
    """log vol(J) along z(t) = (1 - t)·μ_a + t·μ_b, and the decoded images along the way."""
    fig, axes = new_figure(nrows=2, width=7.0, height=2.6)
    ax = axes[0, 0]
    ax.plot(t, log_vol, "-", color="tab:blue")
    ax.set(xlabel=f"t (0: mean of cluster {ends[0]}, 1: mean of cluster {ends[1]})", ylabel="log vol(∂G/∂z)")
    ax.set_title(title, fontsize=9)
    axes[1, 0].imshow(1.0 - tile(strip, len(strip)), cmap="gray", vmin=0, vmax=1)
    axes[1, 0].axis("off")
    save_figure(
        fig,
        path,
        f"{title}: the decoder's local volume sqrt(det(JᵀJ)), J = ∂G/∂z, along the straight line between the "
        f"means of clusters {ends[0]} and {ends[1]}, with the decoded images below.",
    )


def volume_by_cluster(log_vol, clusters, at_means, majority: list[str], path: Path, title: str) -> None:
    """Distribution of log vol(J) over the test points of each cluster, and its value at the cluster mean."""
    k = len(at_means)
    fig, axes = new_figure(width=7.0, height=3.6)
    ax = axes[0, 0]
    groups = [log_vol[clusters == c] for c in range(k)]
    shown = [c for c in range(k) if len(groups[c])]
    ax.boxplot([groups[c] for c in shown], positions=shown, widths=0.6, showfliers=False)
    ax.plot(range(k), at_means, "r*", ms=8, label="at the cluster mean μ_y")
    ax.set_xticks(range(k), [f"{c}\n'{majority[c]}'" for c in range(k)], fontsize=7)
    ax.set(xlabel="cluster (its most frequent label)", ylabel="log vol(∂G/∂z)", title=title)
    ax.legend(fontsize=7)
    save_figure(
        fig,
        path,
        f"{title}: the decoder's local log-volume log sqrt(det(JᵀJ)) at the test points of each cluster "
        "(z = μ(x); boxes: quartiles) and at each cluster's prior mean.",
    )


def training_curves(histories: dict[str, list[dict]], path: Path, title: str) -> None:
    fig, axes = new_figure(width=5.6, height=3.6)
    ax = axes[0, 0]
    for name, history in histories.items():
        ax.plot([h["epoch"] for h in history], [h["loss"] for h in history], "o-", ms=3, label=name)
    ax.set(xlabel="epoch", ylabel="training loss (per image)", title=title)
    ax.legend(fontsize=7)
    save_figure(fig, path, f"{title}: training loss per epoch of the one-step model and the two-step VAE.")
