"""fvae's bits/dim: the definition against a closed-form density (a Gaussian data set), the model-scale Jacobian,
dequantisation, and the importance-weighted bound on a latent model whose marginal is known."""

from __future__ import annotations

import math

import torch

from kx_tasks.fvae import bits
from kx_tasks.fvae.flows import gaussian_log_prob


def test_bits_per_dim_of_the_true_density_is_the_differential_entropy_plus_eight_bits():
    s, dims = 0.07, 16
    g = torch.Generator().manual_seed(0)
    y = 0.5 + s * torch.randn(200_000, dims, dtype=torch.float64, generator=g)
    measured = bits.bits_per_dim(gaussian_log_prob(y, 0.5, math.log(s)), dims).mean()
    closed = (0.5 * math.log(2 * math.pi * math.e * s**2) + math.log(256)) / math.log(2)
    assert abs(float(measured) - closed) < 2e-3
    # the same data seen by a model on x = 2y − 1: its density has scale 2s, the Jacobian restores the bits
    x, log_jac = bits.to_model_scale(y)
    on_x = bits.bits_per_dim(gaussian_log_prob(x, 0.0, math.log(2 * s)) + log_jac, dims).mean()
    assert torch.allclose(on_x, measured, atol=1e-10)


def test_uniform_density_on_the_cube_is_exactly_eight_bits():
    y = bits.dequantise(torch.randint(0, 256, (10, 3, 4, 4), dtype=torch.uint8))
    assert float(y.min()) >= 0 and float(y.max()) < 1
    assert torch.allclose(bits.bits_per_dim(torch.zeros(10), 48), torch.full((10,), 8.0))


def test_dequantisation_stays_inside_each_bin():
    k = torch.tensor([0, 1, 254, 255], dtype=torch.uint8).repeat(1000)
    y = bits.dequantise(k, torch.Generator().manual_seed(1))
    assert torch.all((y * 256).floor() == k.float())


def test_iwae_bound_tightens_with_k_towards_the_marginal():
    """z ~ N(0, 1), y | z ~ N(z, σ²): p(y) = N(0, 1 + σ²); proposal q(z|y) = the prior."""
    sigma, n = 0.5, 2000
    g = torch.Generator().manual_seed(2)
    y = torch.randn(n, dtype=torch.float64, generator=g) * math.sqrt(1 + sigma**2)
    true = -0.5 * (math.log(2 * math.pi * (1 + sigma**2)) + y**2 / (1 + sigma**2))

    def bound(k):
        z = torch.randn(k, n, dtype=torch.float64, generator=g)
        log_w = -0.5 * (math.log(2 * math.pi * sigma**2) + (y - z) ** 2 / sigma**2)  # p(y|z) p(z) / q(z)
        return bits.iwae_log_density(log_w).mean()

    b1, b64, b4096 = bound(1), bound(64), bound(4096)
    assert b1 < b64 < b4096 <= true.mean() + 1e-3
    assert float(true.mean() - b4096) < 0.01
