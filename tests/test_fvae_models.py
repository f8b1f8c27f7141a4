"""fvae's models: the post's two special cases of the general f-VAE loss as exact identities (float64), and the
f-VAE's shapes (z the size of x) and a training step."""

from __future__ import annotations

import math

import torch

from kx_tasks.fvae import models
from kx_tasks.fvae.flows import Glow, gaussian_log_prob

G64 = torch.Generator().manual_seed(0)


def _perturbed(model):
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.endswith(("lower", "upper", "log_s", "log_sigma", "log_sigma1")):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
    return model.double().eval()


def test_vae_special_case_is_the_standard_vae_loss():
    """F_x(u) = σ(x)u + μ(x), p(z) = N(0, I): per u the general loss is −log p(x|z) + log q(z|x) − log p(z) exactly;
    its mean over u is the closed-form VAE loss (within 4 standard errors over 10⁵ draws)."""
    vae = _perturbed(models.FullVAE((1, 8, 8), squeezes=2, steps=1))
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64, generator=G64)
    n = 100_000
    u = torch.randn(n, 16, 2, 2, dtype=torch.float64, generator=G64)
    xs = x.repeat_interleave(n // 2, 0)
    terms = vae.loss(xs, u)
    mean, log_std = vae.posterior(xs)
    z = mean + torch.exp(log_std) * u
    log_q = torch.distributions.Normal(mean, torch.exp(log_std)).log_prob(z).flatten(1).sum(1)
    sample_kl_form = terms["recon"] + log_q - gaussian_log_prob(z)
    assert torch.allclose(terms["loss"], sample_kl_form, atol=1e-10)
    diff = (terms["loss"] - vae.closed_form_loss(xs, u)).detach()
    for half in diff.chunk(2):  # each image separately
        se = half.std() / math.sqrt(len(half))
        assert abs(float(half.mean())) < 4 * float(se), (float(half.mean()), float(se))


def test_flow_special_case_is_a_flow_on_noisy_inputs():
    """F_x(u) = F(σu + x), q(x|z) = N(x; F⁻¹(z), σ²), p(z) = N(0, I): −log q(x|z) = D/2·log 2πσ² + ½‖u‖², and the
    whole loss is the flow's NLL of x + σu, exactly."""
    flow = _perturbed(Glow((4, 2, 2), levels=1, depth=2, hidden=6, squeeze_first=False))
    sigma, d = 0.3, 16
    x = torch.randn(5, 4, 2, 2, dtype=torch.float64, generator=G64)
    u = torch.randn(5, 4, 2, 2, dtype=torch.float64, generator=G64)

    def posterior_flow(x, u):
        (z,), log_p = flow(sigma * u + x)
        return z, log_p - gaussian_log_prob(z) + d * math.log(sigma)

    def log_likelihood(x, z):
        return gaussian_log_prob(x, flow.reverse([z]), math.log(sigma))

    terms = models.general_loss(x, u, posterior_flow, log_likelihood, gaussian_log_prob)
    expected_recon = d / 2 * math.log(2 * math.pi * sigma**2) + 0.5 * u.flatten(1).pow(2).sum(1)
    assert torch.allclose(terms["recon"], expected_recon, atol=1e-9)
    assert torch.allclose(terms["loss"], -flow.log_prob(x + sigma * u), atol=1e-9)


def test_fvae_keeps_z_the_size_of_x_and_trains():
    model = models.FVAE((1, 28, 28), squeezes=2, steps=1, flow_depth=2, flow_hidden=16)
    assert model.z_shape == (16, 7, 7)
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    u = torch.randn(8, *model.z_shape)
    model.train()
    terms = model.loss(x, u)
    assert all(t.shape == (8,) and torch.isfinite(t).all() for t in terms.values())
    terms["loss"].mean().backward()
    assert model.log_sigma1.grad is not None and model.likelihood.log_sigma.grad is not None
    model.eval()
    assert model.sample(3, 0.8).shape == (3, 1, 28, 28)
    assert models.FullVAE((1, 28, 28), 2, 1).sample(2).shape == (2, 1, 28, 28)


def test_every_model_takes_the_same_batch_and_samples_images():
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    for model in (models.GlowModel((1, 28, 28), levels=2, depth=2, hidden=16), models.LowVAE((1, 28, 28)),
                  models.FVAE((1, 28, 28), 2, 1, 2, 16), models.FullVAE((1, 28, 28), 2, 1)):  # fmt: skip
        model.train()
        u = torch.randn(4, *model.z_shape)
        loss = model.loss(x, u)["loss"]
        assert loss.shape == (4,) and torch.isfinite(loss).all(), type(model).__name__
        model.eval()
        assert model.sample(2, 0.7).shape == (2, 1, 28, 28)
