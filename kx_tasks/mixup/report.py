"""The report of the `mixup` task across its variants (matplotlib and pandas only: the report imports no torch):
the variants × metrics table and the figures across variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kx_tasks.core.io import read_json
from kx_tasks.core.plotting import new_figure, save_figure
from kx_tasks.core.report import variants_table
from kx_tasks.core.stages import condition

SHOWN = (
    "test_acc",
    "test_nll",
    "ece",
    "train_acc_clean",
    "gen_gap",
    "lin_gap_rel",
    "lin_gap_logit_rel",
    "same_class.lin_gap_rel",
    "mid_pair_mass",
    "mid_balance",
    "miss_rate",
)


def report_tables(metrics) -> dict:
    """Variants × metrics, mean ± std over seeds (variants in the order of kx info mixup)."""
    return {"variants × metrics (mean ± std over seeds)": variants_table(metrics, SHOWN)}


def plot_variants(metrics, runs, out_dir: Path) -> list[Path]:
    """The report's figures across variants: test accuracy and the normalised linearity gap per variant with one
    dot per seed; and the prediction along the fixed test line, ERM against mixup (seed 0 of each dataset)."""
    out = []
    variants = list(dict.fromkeys(runs["variant"]))
    fig, axes = new_figure(2, 1, width=6.0, height=3.6)
    for ax, metric, label in (
        (axes[0, 0], "test_acc", "test accuracy"),
        (axes[0, 1], "lin_gap_rel", "linearity gap (probabilities, normalised)"),
    ):
        for k, v in enumerate(variants):
            values = metrics[(metrics.variant == v) & (metrics.metric == metric)]["value"].to_numpy()
            ax.plot(np.full(len(values), k), values, "o", color="C0", alpha=0.7, ms=4)
            if len(values):
                ax.plot([k - 0.3, k + 0.3], [values.mean()] * 2, color="k", lw=1.2)
        ax.set_xticks(range(len(variants)), [v.replace(".", "\n", 1) for v in variants], fontsize=7, rotation=60)
        ax.set_ylabel(label)
    caption = "Test accuracy and the normalised probability-space linearity gap per variant: one dot per seed, "
    out.append(save_figure(fig, out_dir / "mixup_variants.png", caption + "the bar is the mean"))
    lines = [(r.variant, Path(r.dir) / "line.json") for r in runs.itertuples() if r.seed == runs.seed.min()]
    lines = [(v, read_json(p)) for v, p in lines if p.exists() and condition(v) in ("erm", "mixup")]
    if lines:
        fig, axes = new_figure()
        ax = axes[0, 0]
        for k, (variant, line) in enumerate(lines):
            style = "-" if variant.endswith("mixup") else ":"
            ax.plot(line["eps"], line["p_a"], style, color=f"C{k}", label=f"{variant}: p(y_a = {line['y_a']})")
            ax.plot(
                line["eps"], line["p_b"], style, color=f"C{k}", alpha=0.5, label=f"{variant}: p(y_b = {line['y_b']})"
            )
        ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls="--")
        ax.plot([0, 1], [1, 0], color="0.6", lw=0.8, ls="--")
        ax.set_xlabel("ε  (x = ε·x_a + (1 − ε)·x_b)")
        ax.set_ylabel("predicted probability")
        ax.legend(fontsize=6)
        caption = "Prediction along the straight line between two fixed test images, ERM against mixup (first seed); "
        out.append(save_figure(fig, out_dir / "mixup_line.png", caption + "grey: a model linear between them"))
    return out


AUTHOR_IMAGES = 200 * 50_000  # the mixup paper's CIFAR-10 recipe: 200 epochs of 50,000 images


def author_compute(variant: str, params: dict) -> tuple[float, str]:
    """The share of the mixup paper's CIFAR-10 training (200 epochs × 50,000 images) a run is, in images seen."""
    net = "PreAct ResNet-18" if params["arch"] == "preact_resnet18" else "a small CNN, not PreAct ResNet-18"
    return params["epochs"] * params["train_size"] / AUTHOR_IMAGES, f"images seen of the paper's 200 × 50,000; {net}"
