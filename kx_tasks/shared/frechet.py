"""Feature-Fréchet distance without Inception: the Fréchet distance between Gaussians fitted to the penultimate
features of a small classifier trained in the pipeline (kx_tasks.shared.classifier), as dfaroughy/FID-MNIST's
"Fréchet LeNet Distance" does for MNIST.

    FD = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^{1/2})

in float64, with scipy's matrix square root; a complex part larger than 1e-3 × the trace is an error, a smaller one
is dropped (the usual FID convention). FD is biased upwards in the sample size, so callers always compare the same
sizes (kx: 10,000 vs 10,000 at the end of a run, 5,000 vs 5,000 at checkpoints).

References:
- M. Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", NeurIPS 2017.
- dfaroughy/FID-MNIST (the method with a LeNet-type classifier): https://github.com/dfaroughy/FID-MNIST
"""

from __future__ import annotations

import warnings

import numpy as np


def gaussian(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ddof = 1) of (N, d) features, in float64."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features: expected (N >= 2, d), got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """The Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    from scipy import linalg

    diff = mu1 - mu2
    with warnings.catch_warnings():  # dead ReLU features make Σ singular; the imaginary-part check below decides
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(sigma1 @ sigma2)
    if np.iscomplexobj(root):
        trace = np.trace(sigma1) + np.trace(sigma2)
        imaginary = np.abs(root.imag).max()
        if imaginary > 1e-3 * max(trace, 1e-12):
            raise FloatingPointError(f"Fréchet distance: sqrtm has a large imaginary part ({imaginary:g})")
        root = root.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(root))


def between(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FD between two feature samples."""
    return distance(*gaussian(features_a), *gaussian(features_b))
