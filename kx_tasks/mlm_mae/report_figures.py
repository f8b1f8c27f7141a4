"""The report's figures of the mlm_mae task (matplotlib, numpy, pandas): the DropToken sweep (accuracy per ratio with
seed dots, the post's CLUE table beside it for shape, and the speed-up against the token-count ideal) and the
correction's paired differences with their equivalence bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kx_tasks.core.plotting import new_figure, save_figure
from kx_tasks.mlm_mae.config import BAND, SETS
from kx_tasks.mlm_mae.tables import RATIOS, paired_differences, variant_values

# The post's table (kexue.fm/archives/8770): CLUE dev accuracy, BERT-base, best over epochs, one run per cell.
POST_CLUE = {
    "IFLYTEK": (60.06, 60.56, 60.10, 61.29, 61.45),
    "TNEWS": (56.80, 57.00, 56.68, 56.88, 57.02),
    "AFQMC": (72.41, 72.61, 72.50, 72.34, 69.76),
    "OCNLI": (73.93, 73.76, 74.54, 73.09, 70.68),
    "WSC": (78.62, 77.30, 77.30, 73.68, 69.41),
    "CSL": (83.93, 83.33, 83.30, 83.37, 82.56),
}


def plot_variants(metrics, runs, out_dir: Path) -> list[Path]:
    out = []
    if metrics.variant.str.contains(r"\.drop").any():
        out.append(droptoken(metrics, out_dir / "mlm_mae_droptoken.png"))
    diffs = paired_differences(metrics)
    if not diffs.empty:
        out.append(correction(diffs, out_dir / "mlm_mae_correction.png"))
    return out


def droptoken(metrics, path: Path) -> Path:
    fig, axes = new_figure(3, 1, width=4.0, height=3.4)
    ratios = list(RATIOS.values())
    for k, s in enumerate(SETS):
        if not metrics.variant.str.startswith(f"{s}.").any():
            continue
        means = []
        for v, r in RATIOS.items():
            acc = 100 * variant_values(metrics, f"{s}.{v}", "test_acc_last").to_numpy()
            axes[0, 0].plot(np.full(len(acc), r), acc, "o", color=f"C{k}", ms=3, alpha=0.6)
            means.append(acc.mean() if len(acc) else np.nan)
        axes[0, 0].plot(ratios, means, "-", color=f"C{k}", label=s)
        speed = [variant_values(metrics, f"{s}.{v}", "timing.speedup").mean() if v != "plain" else 1.0
                 for v in RATIOS]  # fmt: skip
        axes[0, 2].plot(ratios, speed, "o-", color=f"C{k}", label=s)
    axes[0, 0].set_title("kx: last-epoch test accuracy (dots: seeds)", fontsize=9)
    for name, row in POST_CLUE.items():
        axes[0, 1].plot(ratios, np.array(row) - row[0], "o-", ms=3, label=name)
    axes[0, 1].axhline(0, color="0.5", lw=0.8)
    axes[0, 1].set_title("the post: CLUE dev accuracy − ratio 0", fontsize=9)
    grid = np.linspace(0, 0.5, 51)
    axes[0, 2].plot(grid, 1 / (1 - grid), "--", color="0.5", label="1/(1−r): token count")
    axes[0, 2].set_title("training-step speed-up", fontsize=9)
    for ax in axes[0]:
        ax.set_xlabel("DropToken ratio")
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel("accuracy (%)")
    caption = ("DropToken: kx's accuracy per ratio (every fine-tuning set run; seeds as dots), the post's CLUE table "
               "as differences from ratio 0, and the measured training-step speed-up against the token-count "
               "ideal")  # fmt: skip
    return save_figure(fig, path, caption)


def correction(diffs, path: Path) -> Path:
    fig, axes = new_figure(1, 1, width=5.0, height=3.2)
    ax = axes[0, 0]
    for i, row in enumerate(diffs.itertuples()):
        mean = float(row[3])
        low, high = (float(v) for v in row[4].strip("[]").split(","))
        band = 100 * BAND[row.set]
        ax.fill_between([i - 0.35, i + 0.35], -band, band, color="C2", alpha=0.15)
        ax.errorbar(i, mean, yerr=[[mean - low], [high - mean]], fmt="o", color="C0", capsize=4)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xticks(range(len(diffs)), [f"{r.set}\n{r[2]} mask" for r in diffs.itertuples()])
    ax.set_ylabel("corrected − plain (points)")
    caption = ("The embedding correction: paired difference in last-epoch test accuracy with its 95% interval; "
               "shaded: the equivalence band of 'no significant change'")  # fmt: skip
    return save_figure(fig, path, caption)
