"""The decoder's local volume: vol(J) = sqrt(det(JᵀJ)), J = ∂G/∂z (784 x D), the non-square determinant.

A small cube of side h around z in latent space maps to a D-dimensional parallelotope of volume vol(J)·h^D in
pixel space; log vol(J) says how much the decoder stretches space there. Jacobians come batched from
torch.func in forward mode (vmap over jacfwd: D = 20 tangents per point instead of 784 cotangents, which for the
conv decoder at 256 points per chunk needed >20 GB); the log-volume from kx_tasks.shared.linalg (Householder QR,
in float64).
"""

from __future__ import annotations

import torch
from torch.func import jacfwd, vmap

from kx_tasks.core.progress import Progress
from kx_tasks.shared.linalg import log_volume


def decoder_jacobians(decoder: torch.nn.Module, z: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """J for every row of z (N, D) -> (N, pixels, D)."""

    def flat(zi: torch.Tensor) -> torch.Tensor:
        return decoder(zi[None]).reshape(-1)

    jac = vmap(jacfwd(flat))
    return torch.cat([jac(z[i : i + chunk]).detach() for i in range(0, len(z), chunk)])


def decoder_log_volume(decoder: torch.nn.Module, z: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """log sqrt(det(JᵀJ)) at every row of z (N, D) -> (N,), float64."""
    out = []
    progress = Progress(len(z), "decoder Jacobians", unit="points")  # slow for the conv decoder on a CPU
    for i in range(0, len(z), chunk):
        J = decoder_jacobians(decoder, z[i : i + chunk], chunk)
        out.append(log_volume(J.double()))
        progress.update(len(J))
    return torch.cat(out)


def line(a: torch.Tensor, b: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n points (1 - t)·a + t·b for t evenly spaced on [0, 1]; returns (t, points)."""
    t = torch.linspace(0.0, 1.0, n, dtype=a.dtype, device=a.device)
    return t, (1 - t)[:, None] * a[None] + t[:, None] * b[None]
