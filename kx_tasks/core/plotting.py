"""Figures: one matplotlib style, saved atomically as PNG with the caption stored in the file itself."""

from __future__ import annotations

from pathlib import Path

import matplotlib

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


def read_caption(path: str | Path) -> str:
    with Image.open(path) as im:
        return im.text.get(CAPTION_KEY, "") if hasattr(im, "text") else ""
