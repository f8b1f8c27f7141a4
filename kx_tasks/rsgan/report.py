"""The report of the `rsgan` task across its variants (matplotlib, numpy and pandas: the report imports no torch):
one table per setting (variants × metrics, mean ± std over seeds); FD against iterations and against training
seconds with seed bands, grid coverage per variant, and the grid generators of the first seed side by side."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kx_tasks.core.plotting import new_figure, save_figure, seed_band
from kx_tasks.core.report import seed_curves, variants_table
from kx_tasks.core.stages import condition, family

THEORY = (
    "sgan.newton_error",
    "rsgan.newton_error",
    "sgan.grad_at_log_ratio",
    "rsgan.grad_at_log_ratio",
    "sgan.fdiv_error",
    "rsgan.fdiv_error",
    "rsgan.fdiv_above_f1",
    "log_ratio_range",
)
GRID = ("modes", "modes_sd", "hq_frac", "reverse_kl", "jsd", "modes_1pct", "timing.ms_per_iteration", "g_grad_norm_cv")
IMAGES = (
    "fd",
    "fd_floor",
    "auc_log_fd",
    "steps_to_tau",
    "timing.seconds_to_tau",
    "reached_tau",
    "class_kl",
    "frac_confident",
    "class_min_share",
    "timing.ms_per_iteration",
    "timing.train_seconds",
    "g_grad_norm_cv",
    "classifier_acc",
)
TABLES = {"theory": THEORY, "grid": GRID, "pacgan": GRID, "mnist": IMAGES, "cifar10": IMAGES}


def report_tables(metrics) -> dict:
    out = {}
    for setting, shown in TABLES.items():
        rows = metrics[metrics.variant.map(family).eq(setting) & metrics.metric.isin(shown)]
        if rows.empty:
            continue
        out[f"{setting}: variants × metrics (mean ± std over seeds)"] = variants_table(rows, shown)
    return out


def plot_variants(metrics, runs, out_dir: Path) -> list[Path]:
    out = []
    images = runs[runs["variant"].map(family).isin(["mnist", "cifar10"])]
    if not images.empty:
        out.append(fd_curves(images, out_dir / "rsgan_fd_curves.png"))
    for grid_family in ("grid", "pacgan"):
        grid = metrics[metrics.variant.map(family).eq(grid_family)]
        if not grid.empty:
            out.append(coverage_bars(grid, out_dir / f"rsgan_{grid_family}_coverage.png"))
    return out


def fd_curves(runs, path: Path) -> Path:
    """Mean FD over seeds at each checkpoint (log scale), the band spanning the seeds' min and max; the time axis
    uses each checkpoint's mean training seconds over seeds."""
    fig, axes = new_figure(2, 1, width=5.0, height=3.6)
    for k, (variant, curve) in enumerate(seed_curves(runs).items()):
        for ax, x in ((axes[0, 0], curve["step"][0]), (axes[0, 1], curve["seconds"].mean(axis=0))):
            seed_band(ax, x, curve["fd"], k, f"{variant} (n={len(curve['fd'])})")
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
        ax.set_xticks(range(len(variants)), [condition(v) for v in variants])
        ax.set_title(metric, fontsize=9)
    caption = "2-D grid: modes covered, high-quality fraction and reverse KL per loss; bar = mean, dots = seeds"
    return save_figure(fig, path, caption)


AUTHOR_ITERATIONS = {  # family -> (iterations, whose)
    "mnist": (1_000_000, "bojone's rsgan_sn_celeba.py: 1M iterations on 64×64 CelebA-HQ; smaller nets on MNIST"),
    "cifar10": (100_000, "Alexia's CIFAR-10 DCGAN setup: 100k iterations"),
    "grid": (400_000, "PacGAN's grid: 400k iterations; smaller nets"),
    "pacgan": (400_000, "PacGAN's grid: 400k iterations, its nets"),
}


def author_compute(variant: str, params: dict) -> tuple[float, str] | None:
    """The share of the author's iterations a run is (none for the exact theory)."""
    family = variant.split(".", 1)[0]
    if family not in AUTHOR_ITERATIONS:
        return None
    total, basis = AUTHOR_ITERATIONS[family]
    ran = params["grid_iterations"] if family in ("grid", "pacgan") else params["iterations"]
    return ran / total, f"iterations of {basis}"
