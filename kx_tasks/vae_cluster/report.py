"""The report of the `vae_cluster` task across its variants: its tables (pandas only: the report job imports no
torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kx_tasks.core import stages
from kx_tasks.core.io import read_jsonl
from kx_tasks.core.plotting import new_figure, save_figure
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


def plot_variants(metrics, runs, out_dir: Path) -> list[Path]:
    """Across seeds, from the JSON-lines and metrics alone (so a report built from published records draws them
    too): the one-step model's training loss per epoch, every seed; and the test purity of the one-step model and of
    k-means on the pixels, one dot per seed."""
    variants = list(dict.fromkeys(runs["variant"]))
    fig, axes = new_figure(2, 1, width=5.2, height=3.6)
    for k, variant in enumerate(variants):
        for n, r in enumerate(runs[runs.variant == variant].itertuples()):
            path = Path(r.dir).parent / stages.FOLDERS["train"] / "onestep.history.jsonl"
            if path.exists():
                rows = read_jsonl(path)
                label = variant if n == 0 else None
                axes[0, 0].plot([h["epoch"] for h in rows], [h["loss"] for h in rows], color=f"C{k}", lw=1, label=label)
        for j, method in enumerate(("onestep.purity", "kmeans_pixels.purity")):
            values = metrics[(metrics.variant == variant) & (metrics.metric == method)]["value"].to_numpy()
            x = np.full(len(values), 2 * k + j)
            axes[0, 1].plot(x, values, "o", color=f"C{k}", alpha=0.4 + 0.6 * (j == 0), ms=4)
    axes[0, 0].set(xlabel="epoch", ylabel="one-step training loss (per image)")
    axes[0, 0].legend(fontsize=7)
    ticks = [f"{v}\n{m}" for v in variants for m in ("one-step", "k-means")]
    axes[0, 1].set_xticks(range(len(ticks)), ticks, fontsize=7)
    axes[0, 1].set_ylabel("test purity")
    caption = "One-step VAE clustering across seeds: training loss per epoch (every seed) and test purity against "
    return [save_figure(fig, out_dir / "vae_cluster_seeds.png", caption + "k-means on the pixels (one dot per seed)")]


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
