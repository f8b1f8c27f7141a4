"""Report tables of the `gillespie` task (pandas only: the report job imports no numba)."""

from __future__ import annotations

from kx_tasks.core.report import mean_std_table

# Exact stationary moments of the post's model (m ~ Poisson(20); n from the linear-noise/moment equations).
EXACT = {"gene_expression": {"mean.m": 20.0, "var.m": 20.0, "mean.n": 50.0, "var.n": 112.5, "cov.m.n": 25.0}}


def report_tables(metrics) -> dict:
    """Stationary moments (mean ± std over seeds) per variant, beside the exact values where known."""

    rows = metrics[metrics.metric.str.match(r"^(mean|var|fano|cov|tv_time_vs_event|tv_time_vs_exact)\.")]
    out = mean_std_table(rows, "metric", "variant")
    exact = {f"{k}": v for k, v in EXACT["gene_expression"].items()}
    exact["fano.n"] = EXACT["gene_expression"]["var.n"] / EXACT["gene_expression"]["mean.n"]
    exact["fano.m"] = 1.0
    out.insert(0, "exact (post's model)", [f"{exact[m]:g}" if m in exact else "" for m in out.index])
    return {"stationary moments (mean ± std over seeds; moments from the ensemble, TV from one long path)": out}
