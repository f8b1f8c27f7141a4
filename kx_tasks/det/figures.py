"""Figures of the `det` task: relative error against the condition number, per method."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kx_tasks.core.plotting import new_figure, save_figure

EPS = {"float64": float(np.finfo(np.float64).eps), "float32": float(np.finfo(np.float32).eps)}
COLORS = {"gram": "tab:red", "qr": "tab:blue", "svd": "tab:green", "cauchy_binet": "tab:purple"}
STYLES = {"gram": "o-", "qr": "s-", "svd": "^--", "cauchy_binet": "D:"}
LABELS = {
    "gram": "sqrt(det(BᵀB))",
    "qr": "QR: ∏|r_ii| (kx volume)",
    "svd": "SVD: ∏σ_i",
    "cauchy_binet": "Cauchy–Binet",
}


def plot_errors(errors: pd.DataFrame, run, path: Path) -> None:
    eps = EPS[run.variant]
    fig, axes = new_figure(width=6.4, height=4.4)
    ax = axes[0, 0]
    for method, rows in errors.groupby("method"):
        q = rows.groupby("log10_cond")["relerr"].quantile([0.25, 0.5, 0.75]).unstack()
        kappa = 10.0 ** q.index.to_numpy()
        ax.plot(
            kappa,
            q[0.5].clip(lower=eps / 10),
            STYLES[method],
            ms=4,
            mfc="none",
            color=COLORS[method],
            label=LABELS[method],
        )
        ax.fill_between(
            kappa,
            q[0.25].clip(lower=eps / 10),
            q[0.75].clip(lower=eps / 10),
            color=COLORS[method],
            alpha=0.15,
        )
    kappa = 10.0 ** np.asarray(sorted(errors["log10_cond"].unique()), dtype=float)
    ax.plot(kappa, np.minimum(kappa * eps, 1), "k--", lw=0.8, label="κ ε")
    ax.plot(kappa, np.minimum(kappa**2 * eps, 1), "k:", lw=0.8, label="κ² ε")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="condition number κ (nominal)",
        ylabel="relative error (median, IQR)",
        title=f"volume of an n×k matrix in {run.variant}, seed {run.seed}",
    )
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    save_figure(
        fig,
        path,
        f"Relative error of four ways to compute sqrt(det(BᵀB)) against a {run.params.digits}-digit "
        f"mpmath reference, {run.variant}; capped at 1 (no correct digit). Cauchy–Binet covers only the shapes "
        f"with C(n,k) ≤ {run.params.max_minors}, the other methods all shapes.",
    )
