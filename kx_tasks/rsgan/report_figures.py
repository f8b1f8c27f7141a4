"""The report's figures across the rsgan task's variants (matplotlib, numpy and pandas: the report imports no torch):
FD against iterations and against training seconds with seed bands, grid coverage per variant, and the grid
generators of the first seed side by side."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kx_tasks.core.io import read_jsonl
from kx_tasks.core.plotting import new_figure, save_figure


def _evals(run_dir: Path) -> list[dict]:
    path = run_dir.parent / "train" / "evals.jsonl"
    return read_jsonl(path) if path.exists() else []


def plot_variants(metrics, runs, out_dir: Path) -> list[Path]:
    out = []
    kinds = runs["variant"].str.split(".").str[0]
    images = runs[kinds.isin(["mnist", "cifar10"])]
    if not images.empty:
        out.append(fd_curves(images, out_dir / "rsgan_fd_curves.png"))
    for family in ("grid", "pacgan"):
        grid = metrics[metrics.variant.str.startswith(f"{family}.")]
        if not grid.empty:
            out.append(coverage_bars(grid, out_dir / f"rsgan_{family}_coverage.png"))
    return out


def fd_curves(runs, path: Path) -> Path:
    """Mean FD over seeds at each checkpoint (log scale), the band spanning the seeds' min and max; the time axis
    uses each checkpoint's mean training seconds over seeds."""
    fig, axes = new_figure(2, 1, width=5.0, height=3.6)
    for k, variant in enumerate(dict.fromkeys(runs["variant"])):
        curves = [_evals(Path(d)) for d in runs[runs.variant == variant]["dir"]]
        curves = [c for c in curves if c]
        if not curves:
            continue
        n = min(len(c) for c in curves)
        fd = np.array([[r["fd"] for r in c[:n]] for c in curves])
        steps = np.array([r["step"] for r in curves[0][:n]])
        seconds = np.array([[r["seconds"] for r in c[:n]] for c in curves]).mean(axis=0)
        for ax, x in ((axes[0, 0], steps), (axes[0, 1], seconds)):
            ax.plot(x, fd.mean(axis=0), color=f"C{k}", label=f"{variant} (n={len(curves)})")
            ax.fill_between(x, fd.min(axis=0), fd.max(axis=0), color=f"C{k}", alpha=0.2)
    for ax, label in ((axes[0, 0], "iteration"), (axes[0, 1], "training seconds (mean over seeds)")):
        ax.set_yscale("log")
        ax.set_xlabel(label)
    axes[0, 0].set_ylabel("FD (classifier features, 5k samples)")
    axes[0, 0].legend(fontsize=7)
    caption = "FD at each checkpoint, mean over seeds with the min–max band, against iterations and training seconds"
    return save_figure(fig, path, caption)


def coverage_bars(grid, path: Path) -> Path:
    """Modes (mean of ten 2,500-sample draws), HQ fraction and reverse KL per grid variant: one dot per seed."""
    fig, axes = new_figure(3, 1, width=3.4, height=3.4)
    variants = list(dict.fromkeys(grid["variant"]))
    for ax, metric in zip(axes[0], ("modes", "hq_frac", "reverse_kl"), strict=True):
        for k, v in enumerate(variants):
            values = grid[(grid.variant == v) & (grid.metric == metric)]["value"].to_numpy()
            if len(values):
                ax.bar(k, values.mean(), color=f"C{k}", alpha=0.5)
                ax.plot(np.full(len(values), k), values, "o", color="k", ms=3)
        ax.set_xticks(range(len(variants)), [v.split(".", 1)[1] for v in variants])
        ax.set_title(metric, fontsize=9)
    caption = "2-D grid: modes covered, high-quality fraction and reverse KL per loss; bar = mean, dots = seeds"
    return save_figure(fig, path, caption)
