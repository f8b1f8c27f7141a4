"""Figures: one matplotlib style, saved atomically as PNG with the caption stored in the file itself."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # headless: no display on cluster nodes
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402  (a matplotlib dependency)

from kx_tasks.core.io import atomic_path  # noqa: E402

CAPTION_KEY = "Description"


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 3.8):
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)


def save_figure(fig, path: str | Path, caption: str) -> Path:
    """Write `fig` to `path` (PNG); the one-line caption travels in the PNG's Description text chunk.

    Fixed metadata (no Software/date stamps) keeps the bytes identical between identical runs.
    """
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={CAPTION_KEY: caption, "Software": None})
    plt.close(fig)
    return path


def tile(images: np.ndarray, cols: int, fill: float = 1.0) -> np.ndarray:
    """Images (N, H, W) or (N, C, H, W) as one mosaic of `cols` columns, filled row by row: (rows·H, cols·W), or
    (rows·H, cols·W, C) for colour; cells after the last image hold `fill`."""
    x = images[:, None] if images.ndim == 3 else images
    n, c, h, w = x.shape
    rows = max(1, -(-n // cols))
    cells = np.full((rows * cols, c, h, w), fill, dtype=np.result_type(x.dtype, np.float32))
    cells[:n] = x
    mosaic = cells.reshape(rows, cols, c, h, w).transpose(0, 3, 1, 4, 2).reshape(rows * h, cols * w, c)
    return mosaic[..., 0] if c == 1 else mosaic


def show(ax, image: np.ndarray, title: str = "") -> None:
    """An image in [0, 1] on `ax` (grey for one channel), without axes."""
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)


def seed_band(ax, x, ys: np.ndarray, k: int, label: str, **style) -> None:
    """A curve over seeds: the mean of `ys` (seeds × points) against `x`, with the band from the seeds' min to max, in
    colour C{k}."""
    ax.plot(x, ys.mean(axis=0), color=f"C{k}", label=label, **style)
    ax.fill_between(x, ys.min(axis=0), ys.max(axis=0), color=f"C{k}", alpha=0.2)


def read_caption(path: str | Path) -> str:
    with Image.open(path) as im:
        return im.text.get(CAPTION_KEY, "") if hasattr(im, "text") else ""
