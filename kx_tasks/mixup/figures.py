"""Figures of the `mixup` task: what the plan feeds the network, and the model's prediction along a straight line
between two test images (the post's picture of "linear between samples")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from kx_tasks.core.io import write_json
from kx_tasks.core.plotting import new_figure, save_figure
from kx_tasks.mixup.config import MixupConfig
from kx_tasks.mixup.metrics import fixed_pairs, logits_of

SHOWN = 16


def plot_examples(images: np.ndarray, labels: np.ndarray, plan: dict, cfg: MixupConfig, run, path: Path) -> None:
    """The first training batch of the first epoch where the mixing is on, as the network sees it."""
    on = np.flatnonzero(plan["active"])
    epoch = int(on[0]) if len(on) else 0
    fig, axes = new_figure(8, 2, width=1.3, height=1.6)
    for k, ax in enumerate(axes.ravel()[:SHOWN]):
        ia, ib = plan["order"][epoch, k], plan["partner"][epoch, k]
        lx, ly = float(plan["lam_x"][epoch, k]), float(plan["lam_y"][epoch, k])
        image = (lx * images[ia].astype(np.float64) + (1 - lx) * images[ib]) / 255.0
        if image.ndim == 3:  # colour, channel-first as prepared: matplotlib wants (H, W, C)
            ax.imshow(image.transpose(1, 2, 0))
        else:
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        text = f"{labels[ia]}" if ly == 1 else f"{ly:.2f}·{labels[ia]}+{1 - ly:.2f}·{labels[ib]}"
        ax.set_title(text, fontsize=7)
        ax.axis("off")
    caption = (
        f"{run.variant}, seed {run.seed}: the first batch of epoch {epoch + 1} as the network sees it "
        f"(mixing '{cfg.mixing}'); the title is the training target"
    )
    save_figure(fig, path, caption)


def plot_line(model: torch.nn.Module, x_test: torch.Tensor, y_test: np.ndarray, run, path: Path) -> None:
    """p(y_a) and p(y_b) along x(ε) = εx_a + (1−ε)x_b for the first fixed test pair, beside the straight line a
    linear model would follow."""
    a, b = (int(i[0]) for i in fixed_pairs(y_test, 1))
    eps = torch.linspace(0, 1, 41, dtype=x_test.dtype, device=x_test.device)
    mixed = eps[:, None, None, None] * x_test[a] + (1 - eps[:, None, None, None]) * x_test[b]
    probs = torch.softmax(logits_of(model, mixed).double(), dim=1).cpu().numpy()
    e = eps.cpu().numpy()
    line = {
        "eps": e.tolist(),
        "y_a": int(y_test[a]),
        "y_b": int(y_test[b]),
        "p_a": probs[:, y_test[a]].tolist(),
        "p_b": probs[:, y_test[b]].tolist(),
    }
    write_json(path.with_suffix(".json"), line)  # the report draws every variant's line on one figure
    fig, axes = new_figure()
    ax = axes[0, 0]
    for cls, name, colour in ((y_test[a], "y_a", "C0"), (y_test[b], "y_b", "C1")):
        ax.plot(e, probs[:, cls], color=colour, label=f"p({name} = {cls})")
        ax.plot([0, 1], [probs[0, cls], probs[-1, cls]], color=colour, ls="--", lw=0.8)
    ax.set_xlabel("ε  (x = ε·x_a + (1 − ε)·x_b)")
    ax.set_ylabel("predicted probability")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    ax.set_title(f"{run.variant}, seed {run.seed}", fontsize=9)
    caption = (
        f"{run.variant}, seed {run.seed}: prediction along the straight line between two fixed test images "
        "(the same pair in every run); dashed: what a model linear between them would predict"
    )
    save_figure(fig, path, caption)
