"""Figures of the `gillespie` task: one trajectory with every event, and the stationary histograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kx_tasks.core.plotting import new_figure, save_figure
from kx_tasks.core.stages import condition, family
from kx_tasks.gillespie.network import Network


def parse_variant(variant: str) -> tuple[str, str]:
    method, network = family(variant), condition(variant)
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
    support = np.flatnonzero(timed[last] > 1e-5 * timed[last].max())  # high-count networks sit far from 0
    ax.set_xlim(max(support[0] - 5, 0) if support[0] > 100 else 0, max(support[-1] + 5, 10))
    ax.legend(fontsize=7)
    save_figure(
        fig,
        path,
        f"Stationary distribution of {net.species[last]}: time-weighted vs event-weighted "
        "histogram of one long trajectory, and the exact master-equation solution.",
    )


def plot_sweep(table, exact: dict | None, run, path: Path) -> None:
    """Tau-leaping vs ε beside the direct method: protein Fano factor error (left) and events/s (right)."""
    tau, direct = table[table.method == "tau"], table[table.method == "direct"].iloc[0]
    fano = exact["var.n"] / exact["mean.n"] if exact else direct["fano.n"]
    against = "exact" if exact else "direct method's"
    fig, axes = new_figure(ncols=2, width=4.2, height=3.4)
    ax = axes[0, 0]
    ax.plot(tau.eps, 100 * (tau["fano.n"] - fano).abs() / fano, "o-", label="tau-leaping")
    ax.axhline(100 * abs(direct["fano.n"] - fano) / fano, color="k", ls="--", lw=1, label="direct (sampling noise)")
    ax.axhline(5, color="tab:red", ls=":", lw=1, label="5%")
    ax.set(xscale="log", yscale="log", xlabel="ε", ylabel=f"|Fano(n) − {against}| / {against} (%)", title="error")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    ax.plot(tau.eps, tau.events_per_s, "o-", label="tau-leaping")
    ax.axhline(direct.events_per_s, color="k", ls="--", lw=1, label="direct")
    ax.set(xscale="log", yscale="log", xlabel="ε", ylabel="reactions fired per second", title="speed")
    ax.legend(fontsize=7)
    fig.suptitle(f"{run.variant}, seed {run.seed}", fontsize=9)
    fig.tight_layout()
    save_figure(
        fig,
        path,
        f"Tau-leaping on the {parse_variant(run.variant)[1]} network at each ε, beside the exact direct method on "
        f"the same ensemble: error of the protein Fano factor against the {against} value, and reactions fired per "
        "second of wall time (same job, same threads).",
    )
