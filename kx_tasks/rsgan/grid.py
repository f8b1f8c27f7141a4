"""PacGAN's 2-D grid: 25 Gaussians at {−4, −2, 0, 2, 4}², σ = 0.05, and its coverage metrics.

Definitions (PacGAN, synthetic_data_experiments/.../extensions.py MetricLogger): a sample's distance to a mode is
√Σ(d²/σ²); it is high quality (HQ) when the distance to the nearest mode is < 3 (3σ = 0.15 in data units); a mode is
covered when it has ≥ 1 HQ sample among 2,500. kx adds (stated because PacGAN's code defines no reverse KL):
`reverse_kl` = Σ_k q̂_k log(25 q̂_k), q̂ the histogram of the HQ samples over the modes (normalised over HQ samples),
on 100,000 samples; `jsd` = JSD(q̂ ‖ uniform) as PacGAN logs it; `modes_1pct` = modes holding ≥ 1% of the HQ samples.
The 2,500-sample mode count is noisy (about ±1.5 modes between draws of one generator), so `modes` is the mean over
`draws` independent 2,500-sample draws, `modes_sd` their standard deviation.
"""

from __future__ import annotations

import numpy as np
import torch

SIGMA = 0.05
MODES = torch.tensor([(a, b) for a in (-4.0, -2.0, 0.0, 2.0, 4.0) for b in (-4.0, -2.0, 0.0, 2.0, 4.0)])
PACGAN_SAMPLES = 2500
LARGE_SAMPLES = 100_000


def training_points(n: int, generator: torch.Generator) -> torch.Tensor:
    """n points of the mixture (equal weights), drawn once per seed (PacGAN: 100,000)."""
    k = torch.randint(0, len(MODES), (n,), generator=generator)
    return MODES[k] + SIGMA * torch.randn(n, 2, generator=generator)


def nearest(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(σ-normalised distance to the nearest mode, its index) of each sample (N, 2)."""
    d = torch.cdist(x.double(), MODES.double().to(x.device)) / SIGMA
    return d.min(dim=1)


def histogram(x: torch.Tensor) -> tuple[np.ndarray, float]:
    """HQ samples per mode (25,), and the HQ fraction."""
    dist, idx = nearest(x)
    hq = dist < 3.0
    counts = torch.bincount(idx[hq], minlength=len(MODES)).cpu().numpy()
    return counts, float(hq.double().mean())


def reverse_kl(counts: np.ndarray) -> float:
    """KL(q̂ ‖ uniform) of the HQ histogram; log 25 when every HQ sample sits on one mode, nan without HQ samples."""
    total = counts.sum()
    if total == 0:
        return float("nan")
    q = counts[counts > 0] / total
    return float((q * np.log(len(counts) * q)).sum())


def jsd(counts: np.ndarray) -> float:
    total = counts.sum()
    if total == 0:
        return float("nan")
    q = counts / total
    u = np.full_like(q, 1.0 / len(q))
    m = (q + u) / 2

    def kl(a):
        return float((a[a > 0] * np.log(a[a > 0] / m[a > 0])).sum())

    return (kl(q) + kl(u)) / 2


@torch.no_grad()
def coverage(sample, draws: int) -> dict[str, float]:
    """`sample(n)` -> (n, 2) generator samples. PacGAN's metrics on `draws` × 2,500 samples, kx's on 100,000."""
    modes = [int((histogram(sample(PACGAN_SAMPLES))[0] > 0).sum()) for _ in range(draws)]
    counts, hq = histogram(sample(LARGE_SAMPLES))
    rkl = reverse_kl(counts)
    return {
        "modes": float(np.mean(modes)),
        "modes_sd": float(np.std(modes, ddof=1)) if draws > 1 else 0.0,
        "hq_frac": hq,
        # with no HQ sample at all the histogram is undefined: the worst case (all mass on one mode) is reported
        "reverse_kl": rkl if np.isfinite(rkl) else float(np.log(len(MODES))),
        "jsd": jsd(counts) if counts.sum() else float(np.log(2)),
        "modes_1pct": float((counts >= 0.01 * max(counts.sum(), 1)).sum()) if counts.sum() else 0.0,
    }
