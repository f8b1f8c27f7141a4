"""The report of the `vae_cluster` task across its variants: its tables (pandas only: the report job imports no
torch)."""

from __future__ import annotations

import pandas as pd

from kx_tasks.core.report import mean_std_table

SCORE = "{mean:.4f} ± {std:.4f} (n={n})"


def report_tables(metrics) -> dict:
    """purity / ACC / NMI (mean ± std over seeds) of every method, per dataset."""
    rows = metrics[metrics.metric.str.match(r"^[a-z_]+\.(purity|acc|nmi)$")].copy()
    rows[["method", "score"]] = rows.metric.str.split(".", n=1, expand=True)
    out = mean_std_table(rows, ["variant", "method"], "score", fmt=SCORE)[["purity", "acc", "nmi"]]
    purity = metrics[metrics.metric.isin(["onestep.train_purity", "onestep.purity"])].copy()
    purity["set"] = purity.metric.map({"onestep.train_purity": "train (60,000)", "onestep.purity": "test (10,000)"})
    return {
        "clustering of the test set (mean ± std over seeds)": out,
        "one-step purity on the training and test images, as the author's script prints them": mean_std_table(
            purity, "variant", "set", fmt=SCORE
        ),
        "decoder log-volume log sqrt(det(JᵀJ)), J = ∂G/∂z (mean ± std over seeds)": volume_table(metrics),
    }


def volume_table(metrics) -> pd.DataFrame:
    """Per variant: mean log-volume at test points, its spread over clusters, and the line's bump."""
    wide = metrics.pivot_table(index=["variant", "seed"], columns="metric", values="value")
    clusters = wide.filter(regex=r"^logvol\.cluster\d+$")
    per_seed = {
        "at test points (mean)": wide.get("logvol.test_mean"),
        "spread over clusters (max − min of cluster means)": clusters.max(axis=1) - clusters.min(axis=1),
        "on the line between two cluster means: max − max(ends)": wide.get("line.logvol_max_minus_ends"),
    }
    rows = [
        values.rename("value").reset_index().assign(quantity=name)
        for name, values in per_seed.items()
        if values is not None and len(values)
    ]
    if not rows:
        return pd.DataFrame()
    return mean_std_table(pd.concat(rows), "quantity", "variant", fmt="{mean:.3f} ± {std:.3f}").loc[
        [name for name in per_seed if per_seed[name] is not None and len(per_seed[name])]
    ]


AUTHOR_EPOCHS = 50  # bojone/vae's script: 50 epochs over the 60,000 training images


def author_compute(variant: str, params: dict) -> tuple[float, str]:
    """The share of the author's training (50 epochs of 60,000 images) a run is; the network is his only when it is
    his conv net."""
    images = params["epochs"] * (params["train_size"] or 60_000)
    net = "his conv net" if params["arch"] == "conv" and params["width"] == 32 else "an MLP, not his conv net"
    return images / (AUTHOR_EPOCHS * 60_000), f"epochs × images of bojone/vae's 50 × 60,000; {net}"
