"""The report of the `fvae` task across its variants (matplotlib, numpy and pandas: the report imports no torch):
per dataset, variants × metrics (mean ± std over seeds) and the f-VAE − Glow bits/dim difference paired over seeds
with its 95% interval (descriptive: the post claims nothing there); bits/dim and FD against training seconds with
seed bands, and the models' samples and interpolations side by side (first seed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kx_tasks.core.claims import Summary
from kx_tasks.core.plotting import new_figure, save_figure, seed_band, show, tile
from kx_tasks.core.report import paired_difference, seed_curves, variants_table
from kx_tasks.core.stages import condition, family

SHOWN = (
    "bpd",
    "bpd_iwae",
    "fd_t10",
    "fd_t08",
    "fd_t07",
    "sharpness_t10",
    "sharpness_t08",
    "sharpness_t07",
    "recon_mse",
    "params",
    "params_vs_glow",
    "epochs",
    "timing.train_seconds",
    "timing.images_per_s",
    "fd_curve_quarter",
    "fd_at_glow_steps",
    "timing.seconds_to_tau",
    "reached_tau",
)


def report_tables(metrics) -> dict:
    out = {}
    datasets = metrics.variant.map(family)
    for ds in dict.fromkeys(datasets):
        rows = metrics[datasets.eq(ds) & metrics.metric.isin(SHOWN)]
        if rows.empty:
            continue
        out[f"{ds}: variants × metrics (mean ± std over seeds)"] = variants_table(rows, SHOWN)
        gap = bpd_gap(metrics[datasets.eq(ds)], ds)
        if gap:
            out[f"{ds}: f-VAE − Glow bits/dim, paired over seeds (descriptive)"] = gap_table(gap)
    return out


def gap_table(gap: dict[str, Summary]) -> pd.DataFrame:
    rows = [
        {"mean difference": f"{s.mean:+.4f}", "95% interval": f"[{s.low:+.4f}, {s.high:+.4f}]", "seeds": s.n}
        for s in gap.values()
    ]
    return pd.DataFrame(rows, index=pd.Index(list(gap), name="f-VAE bound"))


def bpd_gap(metrics, ds: str) -> dict[str, Summary]:
    """f-VAE's bound (1-draw −ELBO and IWAE) minus Glow's exact bits/dim on the same test images, paired by seed."""
    gaps = {bound: paired_difference(metrics, f"{ds}.fvae", f"{ds}.glow", bound) for bound in ("bpd", "bpd_iwae")}
    return {bound: s for bound, s in gaps.items() if s is not None}


def plot_variants(metrics, runs, out_dir: Path) -> list[Path]:
    out = []
    datasets = runs["variant"].map(family)
    for ds in dict.fromkeys(datasets):
        mine = runs[datasets == ds]
        out.append(curves(mine, ds, out_dir / f"fvae_{ds}_curves.png"))
        first = mine.sort_values("seed").drop_duplicates("variant")
        grids = {v: Path(d) / "samples.npz" for v, d in zip(first["variant"], first["dir"], strict=True)}
        grids = {v: p for v, p in grids.items() if p.exists()}
        if grids:
            out.append(sample_grid(grids, ds, out_dir / f"fvae_{ds}_samples.png"))
    return out


def curves(runs, ds: str, path: Path) -> Path:
    """Mean over seeds at each checkpoint with the min–max band, against the checkpoint's mean training seconds."""
    fig, axes = new_figure(2, 1, width=5.0, height=3.6)
    for k, (variant, curve) in enumerate(seed_curves(runs).items()):
        seconds = curve["seconds"].mean(axis=0)
        for ax, key in ((axes[0, 0], "bpd"), (axes[0, 1], "fd")):
            seed_band(ax, seconds, curve[key], k, f"{condition(variant)} (n={len(curve[key])})", marker="o", ms=3)
    axes[0, 0].set_ylabel("bits/dim (test subset; VAEs: −ELBO)")
    axes[0, 1].set_ylabel("FD at T = 0.8 (classifier features)")
    for ax in axes[0]:
        ax.set_yscale("log")  # a VAE's first checkpoint can sit an order of magnitude above the rest
        ax.set_xlabel("training seconds (mean over seeds)")
    axes[0, 0].legend(fontsize=7)
    caption = f"{ds}: bits/dim and FD at each checkpoint against training seconds, mean over seeds, min–max band"
    return save_figure(fig, path, caption)


def sample_grid(grids: dict[str, Path], ds: str, path: Path) -> Path:
    """Rows: models; columns: 6 × 6 samples at T = 1.0, 0.8, 0.7, then the interpolations."""
    fig, axes = new_figure(4, len(grids), width=2.3, height=2.3)
    for row, (variant, npz) in zip(axes, grids.items(), strict=True):
        with np.load(npz) as f:
            for ax, tag in zip(row[:3], ("t10", "t08", "t07"), strict=True):
                show(ax, tile(f[tag][:36], 6), f"{condition(variant)}, T = {int(tag[1:]) / 10:.1f}")
            paths = f["interpolation"]
            show(row[3], tile(paths.reshape(-1, *paths.shape[2:]), paths.shape[1]), "interpolation")
    caption = (
        f"{ds}: samples of each model (first seed, the same fixed noise) at three temperatures, and two "
        "interpolations between test images through each model's latent space"
    )
    return save_figure(fig, path, caption)


AUTHOR_IMAGES = 1000 * 1000 * 32  # bojone's f-VAEs.py: 1,000 epochs × 1,000 steps at batch 32 (128×128 CelebA-HQ)


def author_compute(variant: str, params: dict) -> tuple[float, str]:
    """The share of bojone's f-VAE training a run is, in images seen."""
    images = params[f"{params['model']}_steps"] * params["batch_size"]
    return (
        images / AUTHOR_IMAGES,
        "images seen of bojone's 1,000 × 1,000 steps × 32 on 128×128 CelebA-HQ; smaller models",
    )
