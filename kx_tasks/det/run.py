"""Stage functions of the `det` task.

There is nothing to fit: `train` runs the measurement sweep (the expensive part) and stores every error;
`evaluate` turns those into metrics, the accuracy table and the figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from kx_tasks.det.measure import sweep
from kx_tasks.plotting import new_figure, save_figure
from kx_tasks.settings import Run

DTYPES = {"float64": torch.float64, "float32": torch.float32}
COLORS = {"gram": "tab:red", "qr": "tab:blue", "svd": "tab:green", "cauchy_binet": "tab:purple"}
STYLES = {"gram": "o-", "qr": "s-", "svd": "^--", "cauchy_binet": "D:"}
LABELS = {
    "gram": "sqrt(det(BᵀB))",
    "qr": "QR: ∏|r_ii| (kx volume)",
    "svd": "SVD: ∏σ_i",
    "cauchy_binet": "Cauchy–Binet",
}


def train(run: Run, inputs: dict[str, Path], out_dir: Path) -> None:
    gen = torch.Generator().manual_seed(run.seed)
    errors, checks = sweep(run.params, DTYPES[run.variant], gen, run.torch_device)
    errors.to_csv(out_dir / "errors.csv", index=False, float_format="%.17g")
    checks.to_csv(out_dir / "checks.csv", index=False, float_format="%.17g")


def metric_key(method: str, log10_cond: int, subset: str = "all") -> str:
    """subset "all": every shape; "small": only the shapes Cauchy–Binet covers, so all four methods compare."""
    return f"relerr_median_{subset}.{method}.cond1e{log10_cond:02d}"


def evaluate(run: Run, inputs: dict[str, Path], out_dir: Path) -> dict[str, float]:
    errors = pd.read_csv(inputs["train"] / "errors.csv")
    checks = pd.read_csv(inputs["train"] / "checks.csv")
    metrics: dict[str, float] = {}
    small = errors[errors.set_index(["n", "k"]).index.isin(shapes_with("cauchy_binet", errors))]
    for subset, rows in (("all", errors), ("small", small)):
        for (method, c), median in rows.groupby(["method", "log10_cond"])["relerr"].median().items():
            metrics[metric_key(method, int(c), subset)] = float(median)
    for method, worst in errors.groupby("method")["ratio"].max().items():
        metrics[f"ratio_max.{method}"] = float(worst)
    top = int(errors["log10_cond"].max())
    metrics["gram_relerr_median_at_max_cond"] = metrics[metric_key("gram", top)]
    metrics["definition_vs_kvolume_max_relerr"] = float(checks.loc[checks.check == "definition", "relerr"].max())
    for check in ("vector", "parallelogram", "square", "orthogonal"):
        rows = checks[checks.check == check]
        if len(rows):
            metrics[f"{check}_ratio_max"] = float(rows["ratio"].max())
    # The accuracy table of this run: median relative error by κ (rows) and method (columns), all shapes.
    table = errors.pivot_table(index="log10_cond", columns="method", values="relerr", aggfunc="median")
    table.to_csv(out_dir / "accuracy.csv", float_format="%.3e")
    plot_errors(errors, run, out_dir / "relative_error.png")
    return metrics


def shapes_with(method: str, errors: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(errors.loc[errors.method == method, ["n", "k"]].drop_duplicates())


def plot_errors(errors: pd.DataFrame, run: Run, path: Path) -> None:
    eps = float(torch.finfo(DTYPES[run.variant]).eps)
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


SUBSETS = {"all": "all shapes (Cauchy–Binet: small shapes only)", "small": "shapes with C(n,k) ≤ max_minors"}


def report_tables(metrics: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Median relative error by κ (rows) and method (columns), mean over seeds, per variant and shape subset."""
    rows = metrics[metrics.metric.str.startswith("relerr_median_")].copy()
    parts = rows.metric.str.split(".", expand=True)
    rows["subset"] = parts[0].str.removeprefix("relerr_median_")
    rows["method"], rows["kappa"] = parts[1], parts[2].str.replace("cond", "κ=", regex=False)
    tables = {}
    for (variant, subset), part in rows.groupby(["variant", "subset"]):
        table = part.pivot_table(index="kappa", columns="method", values="value", aggfunc="mean")
        table = table[[m for m in LABELS if m in table.columns]].map(lambda v: f"{v:.1e}")
        tables[f"median relative error, {variant}, {SUBSETS[subset]} (mean over seeds)"] = table
    return tables
