"""Figures of the `gillespie` task: one trajectory with every event, and the stationary histograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kx_tasks.gillespie.network import Network
from kx_tasks.shared.plotting import new_figure, save_figure


def parse_variant(variant: str) -> tuple[str, str]:
    method, _, network = variant.partition(".")
    return method, network


def plot_trajectory(events, net: Network, run, path: Path, t_max: float = 50.0) -> None:
    fig, axes = new_figure(width=6.4, height=3.6)
    ax = axes[0, 0]
    keep = events["times"] <= t_max
    for i, s in enumerate(net.species):
        ax.step(events["times"][keep], events["states"][keep, i], where="post", lw=0.8, label=s)
    ax.set(xlabel="time", ylabel="molecules", title=f"{run.variant}, seed {run.seed}: one trajectory")
    ax.legend(fontsize=7)
    save_figure(
        fig,
        path,
        f"One exact SSA trajectory of the {parse_variant(run.variant)[1]} network, every event "
        f"drawn (first {t_max:g} time units).",
    )


def plot_histograms(timed, counted, exact, net: Network, run, path: Path) -> None:
    last = len(net.species) - 1  # the post's figure: the last species (protein)
    fig, axes = new_figure(width=6.4, height=3.8)
    ax = axes[0, 0]
    k = np.arange(len(timed[last]))
    ax.bar(k, timed[last], width=1.0, alpha=0.45, label="time-weighted (stationary law)")
    ax.step(
        np.arange(len(counted[last])),
        counted[last],
        where="mid",
        color="tab:red",
        lw=1,
        label="event-weighted (the post's histogram)",
    )
    if exact is not None:
        ax.plot(np.arange(len(exact[last])), exact[last], "k-", lw=1, label="master equation (FSP)")
    ax.set(xlabel=f"{net.species[last]} molecules", ylabel="probability", title=f"{run.variant}, seed {run.seed}")
    ax.set_xlim(0, max(len(timed[last]), 10))
    ax.legend(fontsize=7)
    save_figure(
        fig,
        path,
        f"Stationary distribution of {net.species[last]}: time-weighted vs event-weighted "
        "histogram of one long trajectory, and the exact master-equation solution.",
    )
