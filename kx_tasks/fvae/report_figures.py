"""The report's figures across the fvae task's variants (matplotlib, numpy and pandas: the report imports no torch):
bits/dim and FD against training seconds with seed bands, and the models' samples and interpolations side by side
(first seed), per dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kx_tasks.core.io import read_jsonl
from kx_tasks.core.plotting import new_figure, save_figure
from kx_tasks.fvae.figures import show, tile


def _evals(run_dir: Path) -> list[dict]:
    path = run_dir.parent / "train" / "evals.jsonl"
    return read_jsonl(path) if path.exists() else []


def plot_variants(metrics, runs, out_dir: Path) -> list[Path]:
    out = []
    datasets = runs["variant"].str.split(".").str[0]
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
    for k, variant in enumerate(dict.fromkeys(runs["variant"])):
        found = [_evals(Path(d)) for d in runs[runs.variant == variant]["dir"]]
        found = [c for c in found if c]
        if not found:
            continue
        n = min(len(c) for c in found)
        seconds = np.array([[r["seconds"] for r in c[:n]] for c in found]).mean(axis=0)
        for ax, key in ((axes[0, 0], "bpd"), (axes[0, 1], "fd")):
            y = np.array([[r[key] for r in c[:n]] for c in found])
            ax.plot(seconds, y.mean(axis=0), "o-", ms=3, color=f"C{k}", label=f"{variant.split('.', 1)[1]} "
                    f"(n={len(found)})")  # fmt: skip
            ax.fill_between(seconds, y.min(axis=0), y.max(axis=0), color=f"C{k}", alpha=0.2)
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
                show(ax, tile(f[tag][:36], 6), f"{variant.split('.', 1)[1]}, T = {int(tag[1:]) / 10:.1f}")
            paths = f["interpolation"]
            show(row[3], tile(paths.reshape(-1, *paths.shape[2:]), len(paths)), "interpolation")
    caption = (f"{ds}: samples of each model (first seed, the same fixed noise) at three temperatures, and two "
               "interpolations between test images through each model's latent space")  # fmt: skip
    return save_figure(fig, path, caption)
