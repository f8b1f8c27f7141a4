"""Bits per dimension, one definition for every model of the fvae task.

Data: 8-bit images k ∈ {0, …, 255}^D, uniformly dequantised to y = (k + U)/256 ∈ [0, 1)^D with U ~ U[0, 1)^D (one
draw per image and pass). A model gives a density p(y) on that cube (a model working on x = 2y − 1 adds the scale's
log-Jacobian, D·log 2: `to_model_scale`). Then

    bits/dim = (−log p(y) + D·log 256) / (D·ln 2)

per image, an upper bound on the 8-bit discrete NLL in bits/dim (Theis et al. 2016): exact in y for Glow; for the VAEs
−log p(y) is replaced by the −ELBO (a further upper bound), or by the importance-weighted bound with k samples
(Burda et al. 2016), log p(y) ≥ log (1/k) Σ_i p(y, z_i)/q(z_i|y), tighter as k grows. The constant D·log 256 is per
image (the discretisation of every pixel), never per batch (rosinality/glow-pytorch #35).

References:
- L. Theis, A. van den Oord, M. Bethge, "A note on the evaluation of generative models", ICLR 2016.
- Y. Burda, R. Grosse, R. Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016.
"""

from __future__ import annotations

import math

import torch

LOG_256 = math.log(256.0)


def dequantise(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 images -> y = (k + U)/256 in [0, 1), float32, one uniform draw per pixel."""
    k = images.to(torch.float32)
    u = torch.rand(k.shape, generator=generator, device=k.device, dtype=k.dtype)
    return (k + u) / 256.0


def to_model_scale(y: torch.Tensor) -> tuple[torch.Tensor, float]:
    """y in [0, 1) -> x = 2y − 1 in [−1, 1), with log|dx/dy| per image (add it to log p(x) to get log p(y))."""
    dims = y[0].numel()
    return 2.0 * y - 1.0, dims * math.log(2.0)


def bits_per_dim(log_density_y: torch.Tensor, dims: int) -> torch.Tensor:
    """Per image: (−log p(y) + D·log 256) / (D·ln 2), from the log density of the dequantised y (nats)."""
    return (-log_density_y + dims * LOG_256) / (dims * math.log(2.0))


def iwae_log_density(log_weights: torch.Tensor) -> torch.Tensor:
    """(k, B) log importance weights log p(y, z_i) − log q(z_i|y) -> (B,) the k-sample bound log mean_i e^{w_i}."""
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])
