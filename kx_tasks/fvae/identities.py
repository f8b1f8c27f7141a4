"""The post's two special cases of the general f-VAE loss, as numbers that must be zero (tests and claims).

1. F_x(u) = σ(x)⊗u + μ(x), p(z) = N(0, I) (`FullVAE`): per u, the general loss is −log p(x|z) + log q(z|x) − log p(z)
   exactly, and its mean over u is the standard VAE loss with the closed-form KL ("this result automatically includes
   the reparameterization process").
2. F_x(u) = F(σu + x), q(x|z) = N(x; F⁻¹(z), σ²), p(z) = N(0, I): −log q(x|F_x(u)) = D/2·log 2πσ² + ½‖u‖², and the
   whole loss is the flow's negative log density of x + σu ("a regular flow model whose input has added Gaussian
   noise"), exactly.

Both run in float64 on a copy of a model (trained or not).
"""

from __future__ import annotations

import copy
import math

import torch

from kx_tasks.fvae.flows import Glow, gaussian_log_prob
from kx_tasks.fvae.model import FullVAE, general_loss


@torch.no_grad()
def vae_special_case(vae: FullVAE, x: torch.Tensor, draws: int, generator: torch.Generator) -> dict[str, float]:
    """`vae_exact`: max over images and draws of |general loss − (recon + log q(z|x) − log p(z))|; `vae_mc_z`: the
    largest |z-score| over images of mean_u(general loss − closed-form VAE loss) (≈ N(0, 1) when the identity holds)."""
    vae = copy.deepcopy(vae).cpu().double().eval()
    x = x.double()
    xs = x.repeat_interleave(draws, 0)
    u = torch.randn(len(xs), *vae.z_shape, dtype=torch.float64, generator=generator)
    terms = vae.loss(xs, u)
    mean, log_std = vae.posterior(xs)
    z = mean + torch.exp(log_std) * u
    log_q = torch.distributions.Normal(mean, torch.exp(log_std)).log_prob(z).flatten(1).sum(1)
    exact = (terms["loss"] - (terms["recon"] + log_q - gaussian_log_prob(z))).abs().max()
    diff = (terms["loss"] - vae.closed_form_loss(xs, u)).view(len(x), draws)
    z_scores = diff.mean(1) / (diff.std(1) / math.sqrt(draws))
    return {"vae_exact": float(exact), "vae_mc_z": float(z_scores.abs().max())}


@torch.no_grad()
def flow_special_case(flow: Glow, x: torch.Tensor, sigma: float, generator: torch.Generator) -> dict[str, float]:
    """`flow_recon`: max |−log q(x|F_x(u)) − (D/2·log 2πσ² + ½‖u‖²)|; `flow_loss`: max |loss − (−log p_F(x + σu))|.
    z = F(σu + x) is the flow's list of latents (one per level), with p(z) = N(0, I) on all of them."""
    flow = copy.deepcopy(flow).cpu().double().eval()
    x = x.double()
    u = torch.randn(x.shape, dtype=torch.float64, generator=generator)
    dims = x[0].numel()

    def log_prior(z):
        return sum(gaussian_log_prob(part) for part in z)

    def posterior_flow(x, u):
        z, log_p = flow(sigma * u + x)
        return z, log_p - log_prior(z) + dims * math.log(sigma)

    def log_likelihood(x, z):
        return gaussian_log_prob(x, flow.reverse(z), math.log(sigma))

    terms = general_loss(x, u, posterior_flow, log_likelihood, log_prior)
    expected = dims / 2 * math.log(2 * math.pi * sigma**2) + 0.5 * u.flatten(1).pow(2).sum(1)
    return {
        "flow_recon": float((terms["recon"] - expected).abs().max()),
        "flow_loss": float((terms["loss"] + flow.log_prob(x + sigma * u)).abs().max()),
    }
