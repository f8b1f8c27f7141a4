"""The report of the `gillespie` task across its variants: its tables (pandas only: the report job imports no numba)."""

from __future__ import annotations

import pandas as pd

from kx_tasks.core.report import mean_std_table
from kx_tasks.gillespie.exact import EXACT


def report_tables(metrics) -> dict:
    """Stationary moments (mean ± std over seeds) per variant, beside the exact values where known; tau-leaping
    against the direct method on the same ensemble."""

    rows = metrics[metrics.metric.str.match(r"^(mean|var|fano|cov|tv_time_vs_event|tv_time_vs_exact)\.")]
    out = mean_std_table(rows, "metric", "variant")
    for network, moments in reversed(EXACT.items()):
        exact = {**moments, "fano.n": moments["var.n"] / moments["mean.n"], "fano.m": 1.0}
        out.insert(0, f"exact ({network})", [f"{exact[m]:g}" if m in exact else "" for m in out.index])
    return {
        "stationary moments (mean ± std over seeds; moments from the ensemble, TV from one long path)": out,
        "tau-leaping vs the exact direct method, same ensemble and job (mean ± std over seeds)": sweep_table(metrics),
    }


def sweep_table(metrics) -> pd.DataFrame:
    """Per tau variant and simulator (direct, each ε): Fano and mean errors against the exact moments, events/s,
    speed-up over direct."""
    rows = metrics[metrics.metric.str.match(r"^(sweep\.(fano|mean)_relerr|timing\.(events_per_s|speedup))\.")].copy()
    if rows.empty:
        return pd.DataFrame()
    parts = rows.metric.str.split(".", expand=True)
    rows["quantity"] = parts[0] + "." + parts[1]
    rows["simulator"] = rows.metric.str.extract(r"\.(direct|eps[0-9.e-]+?)(?:\.n)?$", expand=False)
    rows["simulator"] = rows.simulator.str.replace("eps", "tau ε=", regex=False)
    names = {
        "sweep.fano_relerr": "Fano(n) rel. error",
        "sweep.mean_relerr": "E n rel. error",
        "timing.events_per_s": "reactions/s",
        "timing.speedup": "speed-up vs direct",
    }
    rows["quantity"] = rows.quantity.map(names)
    out = mean_std_table(rows, ["variant", "simulator"], "quantity", fmt="{mean:.3g} ± {std:.2g}")
    return out[[c for c in names.values() if c in out.columns]]
