"""Clustering metrics: cluster ids vs true labels (the ids are arbitrary, so every metric is invariant to them).

- purity: each cluster takes its most frequent true label (the post's metric; more clusters than classes can
  only raise it).
- Hungarian accuracy: the best one-to-one cluster -> label map, by scipy's linear_sum_assignment.
- NMI: normalised mutual information (arithmetic mean of the entropies), scikit-learn's.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import normalized_mutual_info_score


def contingency(clusters, labels, n_clusters: int | None = None, n_labels: int | None = None) -> np.ndarray:
    """counts[c, l]: how many points of cluster c carry label l (ids are 0-based integers)."""
    clusters, labels = np.asarray(clusters), np.asarray(labels)
    if clusters.shape != labels.shape or clusters.ndim != 1:
        raise ValueError(f"clusters and labels must be 1-d of equal length, got {clusters.shape} and {labels.shape}")
    for name, ids in (("cluster ids", clusters), ("labels", labels)):
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"{name} must be integers, got dtype {ids.dtype}")
    clusters, labels = clusters.astype(np.int64), labels.astype(np.int64)  # uint8 labels (MNIST) included
    if len(clusters) and (clusters.min() < 0 or labels.min() < 0):
        raise ValueError("cluster ids and labels must be >= 0")
    n_c = max(n_clusters or 0, int(clusters.max(initial=-1)) + 1)
    n_l = max(n_labels or 0, int(labels.max(initial=-1)) + 1)
    counts = np.zeros((n_c, n_l), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    return counts


def purity(clusters, labels) -> float:
    counts = contingency(clusters, labels)
    return float(counts.max(1).sum() / counts.sum())


def _matching(clusters, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """counts, and the rows/cols of the one-to-one cluster -> label map with the most points matched."""
    counts = contingency(clusters, labels)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return counts, rows, cols


def hungarian_match(clusters, labels) -> dict[int, int]:
    """The best one-to-one cluster -> label map; unmatched clusters are left out."""
    _, rows, cols = _matching(clusters, labels)
    return {int(r): int(c) for r, c in zip(rows, cols, strict=True)}


def hungarian_accuracy(clusters, labels) -> float:
    counts, rows, cols = _matching(clusters, labels)
    return float(counts[rows, cols].sum() / counts.sum())


def nmi(clusters, labels) -> float:
    return float(normalized_mutual_info_score(labels, clusters))


def clustering_scores(clusters, labels) -> dict[str, float]:
    """purity, acc (Hungarian), nmi and the number of non-empty clusters."""
    return {
        "purity": purity(clusters, labels),
        "acc": hungarian_accuracy(clusters, labels),
        "nmi": nmi(clusters, labels),
        "clusters_used": float(len(np.unique(clusters))),
    }
