"""Stage functions of the `det` task.

There is nothing to fit: `train` runs the measurement sweep (the expensive part) and stores every error;
`evaluate` turns those into metrics, the accuracy table and the figure.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from kx_tasks.core.settings import Run
from kx_tasks.det.figures import plot_errors
from kx_tasks.det.measure import sweep

DTYPES = {"float64": torch.float64, "float32": torch.float32}


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
