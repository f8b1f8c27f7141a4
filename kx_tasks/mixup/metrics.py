"""What a run is measured by: accuracy, NLL, calibration, and the post's own argument — how far the model is from
linear between two samples — on a fixed set of test pairs shared by every run.

Linearity gap of a map f between x_a and x_b, at ε ∈ {0.1, …, 0.9}: the distance between f(εx_a + (1−ε)x_b) and
εf(x_a) + (1−ε)f(x_b), averaged over pairs and ε. On probabilities the distance is total variation (½‖·‖₁) and the
gap is divided by the mean TV(p(x_a), p(x_b)) (a constant predictor is trivially linear: always read it with the
accuracy); on logits it is the Euclidean distance divided by the mean ‖g(x)‖. The post's "f" is the model's output
distribution (the soft labels mixup trains against); softmax of an affine map is not affine, so the two spaces can
disagree, and both are reported.
"""

from __future__ import annotations

import numpy as np
import torch

EPSILONS = tuple(round(0.1 * k, 1) for k in range(1, 10))
PAIR_SEED = 20180707  # the post's date: the test pairs are the same for every run, seed and variant
ECE_BINS = 15


def fixed_pairs(labels: np.ndarray, count: int, same_class: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """`count` fixed pairs of test indices (a, b), a ≠ b, with y_a ≠ y_b (or y_a = y_b with same_class)."""
    rng = np.random.default_rng(PAIR_SEED + int(same_class))
    a_out, b_out = [], []
    while sum(map(len, a_out)) < count:
        a, b = rng.integers(0, len(labels), (2, 4 * count))
        keep = (a != b) & ((labels[a] == labels[b]) if same_class else (labels[a] != labels[b]))
        a_out.append(a[keep])
        b_out.append(b[keep])
    return np.concatenate(a_out)[:count], np.concatenate(b_out)[:count]


@torch.no_grad()
def logits_of(model: torch.nn.Module, x: torch.Tensor, chunk: int = 2000) -> torch.Tensor:
    return torch.cat([model(x[i : i + chunk]) for i in range(0, len(x), chunk)])


def ece(probs: torch.Tensor, labels: torch.Tensor, bins: int = ECE_BINS) -> float:
    """Expected calibration error: |accuracy − confidence| over equal-width confidence bins, weighted by count."""
    conf, pred = probs.max(dim=1)
    correct = (pred == labels).double()
    edges = torch.linspace(0, 1, bins + 1, dtype=conf.dtype)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += float(inside.double().mean() * (correct[inside].mean() - conf[inside].double().mean()).abs())
    return total


def tv(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return 0.5 * (p - q).abs().sum(dim=1)


def gap(f, x_a: torch.Tensor, x_b: torch.Tensor, distance, epsilons=EPSILONS) -> torch.Tensor:
    """Per pair, the mean over ε of distance(f(εx_a + (1−ε)x_b), εf(x_a) + (1−ε)f(x_b))."""
    f_a, f_b = f(x_a), f(x_b)
    gaps = [distance(f(e * x_a + (1 - e) * x_b), e * f_a + (1 - e) * f_b) for e in epsilons]
    return torch.stack(gaps).mean(dim=0)


def between_samples(model: torch.nn.Module, x_a, x_b, y_a, y_b) -> dict[str, float]:
    """The linearity gaps (probabilities and logits), the midpoint label mass per pair, and the miss rate (argmax
    neither y_a nor y_b) on the ε grid; one forward pass per pair and ε."""
    logits = {e: logits_of(model, e * x_a + (1 - e) * x_b).double() for e in (0.0, *EPSILONS, 1.0)}
    g_b, g_a = logits[0.0], logits[1.0]
    p_b, p_a = torch.softmax(g_b, dim=1), torch.softmax(g_a, dim=1)
    lin, lin_logit, missed = [], [], []
    for e in EPSILONS:
        g = logits[e]
        lin.append(tv(torch.softmax(g, dim=1), e * p_a + (1 - e) * p_b))
        lin_logit.append((g - (e * g_a + (1 - e) * g_b)).norm(dim=1))
        pred = g.argmax(dim=1)
        missed.append(((pred != y_a) & (pred != y_b)).double())
    lin, lin_logit = torch.stack(lin).mean(dim=0), torch.stack(lin_logit).mean(dim=0)
    mid = torch.softmax(logits[0.5], dim=1)
    mass_a, mass_b = mid.gather(1, y_a[:, None])[:, 0], mid.gather(1, y_b[:, None])[:, 0]
    return {
        "lin_gap": float(lin.mean()),
        "lin_gap_rel": float(lin.mean() / tv(p_a, p_b).mean()),
        "lin_gap_logit_rel": float(lin_logit.mean() / torch.cat([g_a, g_b]).norm(dim=1).mean()),
        "mid_pair_mass": float((mass_a + mass_b).mean()),
        "mid_balance": float((mass_a - mass_b).abs().mean()),
        "miss_rate": float(torch.stack(missed).mean()),
    }
