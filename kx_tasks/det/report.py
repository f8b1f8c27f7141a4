"""The report of the `det` task across its variants: its tables (pandas only: the report job imports no torch)."""

from __future__ import annotations

import pandas as pd

from kx_tasks.det.figures import LABELS

SUBSETS = {"all": "all shapes (Cauchy–Binet: small shapes only)", "small": "shapes with C(n,k) ≤ max_minors"}


def report_tables(metrics: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Median relative error by κ (rows) and method (columns), mean over seeds, per variant and shape subset."""
    rows = metrics[metrics.metric.str.startswith("relerr_median_")].copy()
    if rows.empty:  # runs that report no accuracy sweep: the claims table says what is missing
        return {}
    parts = rows.metric.str.split(".", expand=True)
    rows["subset"] = parts[0].str.removeprefix("relerr_median_")
    rows["method"], rows["kappa"] = parts[1], parts[2].str.replace("cond", "κ=", regex=False)
    tables = {}
    for (variant, subset), part in rows.groupby(["variant", "subset"]):
        table = part.pivot_table(index="kappa", columns="method", values="value", aggfunc="mean")
        table = table[[m for m in LABELS if m in table.columns]].map(lambda v: f"{v:.1e}")
        tables[f"median relative error, {variant}, {SUBSETS[subset]} (mean over seeds)"] = table
    return tables
