"""Report tables of the `fvae` task (pandas only): per dataset, variants × metrics (mean ± std over seeds), and the
f-VAE − Glow bits/dim difference paired over seeds with its 95% interval (descriptive: the post claims nothing
there)."""

from __future__ import annotations

import pandas as pd

from kx_tasks.core.claims import Summary
from kx_tasks.core.report import mean_std_table

SHOWN = ("bpd", "bpd_iwae", "fd_t10", "fd_t08", "fd_t07", "sharpness_t10", "sharpness_t08", "sharpness_t07",
         "recon_mse", "params", "params_vs_glow", "epochs", "timing.train_seconds", "timing.images_per_s",
         "fd_curve_quarter", "fd_at_glow_steps", "timing.seconds_to_tau", "reached_tau")  # fmt: skip


def report_tables(metrics) -> dict:
    out = {}
    datasets = metrics.variant.str.split(".").str[0]
    for ds in dict.fromkeys(datasets):
        rows = metrics[datasets.eq(ds) & metrics.metric.isin(SHOWN)]
        if rows.empty:
            continue
        table = mean_std_table(rows, "variant", "metric")
        out[f"{ds}: variants × metrics (mean ± std over seeds)"] = table[[m for m in SHOWN if m in table.columns]]
        gap = bpd_gap(metrics[datasets.eq(ds)], ds)
        if gap is not None:
            out[f"{ds}: f-VAE − Glow bits/dim, paired over seeds (descriptive)"] = gap
    return out


def bpd_gap(metrics, ds: str):
    """f-VAE's bound (1-draw −ELBO and IWAE) minus Glow's exact bits/dim on the same test images, per seed."""
    rows = []
    for bound, glow_metric in (("bpd", "bpd"), ("bpd_iwae", "bpd_iwae")):
        f = metrics[(metrics.variant == f"{ds}.fvae") & (metrics.metric == bound)].set_index("seed")["value"]
        g = metrics[(metrics.variant == f"{ds}.glow") & (metrics.metric == glow_metric)].set_index("seed")["value"]
        diff = (f - g).dropna()
        if diff.empty:
            continue
        s = Summary.of(diff.to_numpy())
        rows.append({"f-VAE bound": bound, "mean difference": f"{s.mean:+.4f}",
                     "95% interval": f"[{s.low:+.4f}, {s.high:+.4f}]", "seeds": s.n})  # fmt: skip
    return pd.DataFrame(rows).set_index("f-VAE bound") if rows else None
