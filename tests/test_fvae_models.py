"""fvae's models: the post's two special cases of the general f-VAE loss as exact identities (float64), and the
f-VAE's shapes (z the size of x) and a training step."""

from __future__ import annotations

import pytest
import torch

from kx_tasks.fvae import identities
from kx_tasks.fvae import model as models
from kx_tasks.fvae.flows import Glow

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
    its mean over u is the closed-form VAE loss (within 4 standard errors over 2·10⁴ draws per image)."""
    vae = _perturbed(models.FullVAE((1, 8, 8), squeezes=2, steps=1))
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64, generator=G64)
    out = identities.vae_special_case(vae, x, 20_000, torch.Generator().manual_seed(3))
    assert out["vae_exact"] < 1e-10 and out["vae_mc_z"] < 4, out


@pytest.mark.slow
def test_vae_identity_check_is_not_vacuous():
    """A closed form off by 5 nats (≈ 16 standard errors here) is caught by the Monte-Carlo z-score."""
    vae = _perturbed(models.FullVAE((1, 8, 8), squeezes=2, steps=1))
    original = vae.closed_form_loss
    vae.closed_form_loss = lambda x, u: original(x, u) + 5.0
    out = identities.vae_special_case(
        vae, torch.randn(2, 1, 8, 8, dtype=torch.float64, generator=G64), 20_000, torch.Generator().manual_seed(3)
    )
    assert out["vae_mc_z"] > 10, out


def test_flow_special_case_is_a_flow_on_noisy_inputs():
    """F_x(u) = F(σu + x), q(x|z) = N(x; F⁻¹(z), σ²), p(z) = N(0, I): −log q(x|z) = D/2·log 2πσ² + ½‖u‖², and the
    whole loss is the flow's NLL of x + σu, exactly."""
    flow = _perturbed(Glow((4, 2, 2), levels=1, depth=2, hidden=6, squeeze_first=False))
    x = torch.randn(5, 4, 2, 2, dtype=torch.float64, generator=G64)
    out = identities.flow_special_case(flow, x, 0.3, torch.Generator().manual_seed(4))
    assert out["flow_recon"] < 1e-9 and out["flow_loss"] < 1e-9, out


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
    for model in (
        models.GlowModel((1, 28, 28), levels=2, depth=2, hidden=16),
        models.LowVAE((1, 28, 28)),
        models.FVAE((1, 28, 28), 2, 1, 2, 16),
        models.FullVAE((1, 28, 28), 2, 1),
    ):
        model.train()
        u = torch.randn(4, *model.z_shape)
        loss = model.loss(x, u)["loss"]
        assert loss.shape == (4,) and torch.isfinite(loss).all(), type(model).__name__
        model.eval()
        assert model.sample(2, 0.7).shape == (2, 1, 28, 28)
