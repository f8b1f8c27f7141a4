"""The f-VAE of the post, its VAE special case with the same encoder and decoder, and the loss they share.

The post's general loss, for one image x and one u ~ q(u) = N(0, I), with z = F_x(u):

    L(x, u) = log q(u) − log|det ∂F_x(u)/∂u| − log p(x|z) − log p(z)          (−ELBO; E_u of it is the loss)

since q(z|x) = q(u)·|det ∂F_x/∂u|⁻¹. `general_loss` computes it for any F_x that returns (z, log|det|); the f-VAE
is F_x(u) = σ₁u + E(x) with a Glow prior p(z) = N(F(z); 0, I)·|det ∂F/∂z| (bojone/flow f-VAEs.py with the December
2018 log-determinants: the exact −ELBO), and its first special case F_x(u) = σ(x)⊗u + μ(x) with p(z) = N(0, I) is
the standard VAE (`vae_full`). The decoder likelihood is N(x; G(z), σ₂²) with one learned scalar σ₂ for every model.

Encoder E: 2 × [squeeze → R residual steps x + conv1×1_zero(ReLU(BN(conv3×3(x))))], width = the current channels
(1×28×28 → 4×14×14 → 16×7×7: z the size of x, no dimension reduction); decoder G: the mirror (R steps, unsqueeze) × 2.

References:
- Su Jianlin, "细水长flow之f-VAEs：Glow与VAEs的联姻", https://kexue.fm/archives/5977; arXiv 1809.05861.
- bojone/flow, f-VAEs.py (encoder, decoder, scalar σ₁ and σ₂, the flow prior).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from kx_tasks.fvae.flows import Glow, gaussian_log_prob, squeeze, unsqueeze, zero_conv


def general_loss(
    x: torch.Tensor, u: torch.Tensor, posterior_flow: Callable, log_likelihood: Callable, log_prior: Callable
) -> dict[str, torch.Tensor]:
    """The post's loss per image for one u: posterior_flow(x, u) -> (z, log|det ∂z/∂u|); log_likelihood(x, z) and
    log_prior(z) per image. Returns its terms and their sum `loss` (the −ELBO), each of shape (B,)."""
    z, logdet = posterior_flow(x, u)
    terms = {
        "log_q_u": gaussian_log_prob(u),
        "neg_logdet": -logdet,
        "recon": -log_likelihood(x, z),
        "prior": -log_prior(z),
    }
    terms["loss"] = terms["log_q_u"] + terms["neg_logdet"] + terms["recon"] + terms["prior"]
    return terms


class ResidualStep(nn.Module):
    """x + conv1×1_zero(ReLU(BN(conv3×3(x)))): the identity at init."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            zero_conv(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Encoder(nn.Module):
    def __init__(self, channels: int, squeezes: int, steps: int):
        super().__init__()
        self.levels = nn.ModuleList()
        for _ in range(squeezes):
            channels *= 4
            self.levels.append(nn.Sequential(*[ResidualStep(channels) for _ in range(steps)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for level in self.levels:
            x = level(squeeze(x))
        return x


class Decoder(nn.Module):
    def __init__(self, channels: int, squeezes: int, steps: int):
        super().__init__()
        self.levels = nn.ModuleList()
        for i in range(squeezes):
            self.levels.append(nn.Sequential(*[ResidualStep(channels * 4 ** (squeezes - i)) for _ in range(steps)]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for level in self.levels:
            z = unsqueeze(level(z))
        return z


class GaussianDecoder(nn.Module):
    """log N(x; G(z), σ₂²) per image, σ₂ = e^{log_sigma} a learned scalar."""

    def __init__(self, decoder: nn.Module, log_sigma: float = math.log(0.1)):
        super().__init__()
        self.decoder = decoder
        self.log_sigma = nn.Parameter(torch.tensor(float(log_sigma)))

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return gaussian_log_prob(x, self.decoder(z), self.log_sigma)


class FVAE(nn.Module):
    """z = E(x) + σ₁u, prior N(F(z); 0, I)|det ∂F/∂z| with F a one-level Glow on z's shape, likelihood N(G(z), σ₂²)."""

    def __init__(
        self,
        shape: tuple[int, int, int],
        squeezes: int,
        steps: int,
        flow_depth: int,
        flow_hidden: int,
        affine: bool = False,
        seed: int = 0,
        flow_levels: int = 1,
        mixing: str = "permute",
    ):
        super().__init__()
        c, h, w = shape
        self.encoder = Encoder(c, squeezes, steps)
        self.likelihood = GaussianDecoder(Decoder(c, squeezes, steps))
        z_shape = (c * 4**squeezes, h // 2**squeezes, w // 2**squeezes)
        self.prior = Glow(
            z_shape,
            levels=flow_levels,
            depth=flow_depth,
            hidden=flow_hidden,
            affine=affine,
            mixing=mixing,
            squeeze_first=False,
            seed=seed,
        )
        self.log_sigma1 = nn.Parameter(torch.tensor(math.log(0.1)))
        self.z_shape = z_shape

    def posterior_flow(self, x: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x) + torch.exp(self.log_sigma1) * u
        return z, self.log_sigma1 * u[0].numel() * torch.ones(len(u), dtype=u.dtype, device=u.device)

    def loss(self, x: torch.Tensor, u: torch.Tensor) -> dict[str, torch.Tensor]:
        return general_loss(x, u, self.posterior_flow, self.likelihood.log_likelihood, self.prior.log_prob)

    def sample(self, n: int, temperature: float = 1.0, generator=None) -> torch.Tensor:
        """The decoder mean G(F⁻¹(T·u)) (as bojone samples: no pixel noise)."""
        return self.likelihood.decoder(self.prior.sample(n, temperature, generator))

    def latent(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x -> the prior's standard-normal latents of z = E(x) (u = 0): the space sampling draws from."""
        return self.prior(self.encoder(x))[0]

    def from_latent(self, latents: list[torch.Tensor]) -> torch.Tensor:
        return self.likelihood.decoder(self.prior.reverse(latents))


class GaussianPriorVAE(nn.Module):
    """A VAE with a diagonal Gaussian posterior, prior N(0, I) and the Gaussian likelihood: a subclass sets
    `likelihood`, `z_shape` and `posterior_flow(x, u) -> (z, log|det ∂z/∂u|)`."""

    def loss(self, x: torch.Tensor, u: torch.Tensor) -> dict[str, torch.Tensor]:
        return general_loss(x, u, self.posterior_flow, self.likelihood.log_likelihood, gaussian_log_prob)

    def sample(self, n: int, temperature: float = 1.0, generator=None) -> torch.Tensor:
        p = next(self.parameters())
        z = temperature * torch.randn(n, *self.z_shape, generator=generator, device=p.device, dtype=p.dtype)
        return self.likelihood.decoder(z)

    def latent(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x -> [the posterior mean μ(x)] (the prior is N(0, I): sampling draws z there)."""
        return [self.posterior_flow(x, torch.zeros(len(x), *self.z_shape, device=x.device, dtype=x.dtype))[0]]

    def from_latent(self, latents: list[torch.Tensor]) -> torch.Tensor:
        return self.likelihood.decoder(latents[0])


class FullVAE(GaussianPriorVAE):
    """The post's first special case: the same E and G, posterior N(μ(x), diag σ(x)²) on z of x's size (two 1×1
    heads on E's output, the log-σ head zero-initialised), prior N(0, I)."""

    def __init__(self, shape: tuple[int, int, int], squeezes: int, steps: int):
        super().__init__()
        c, h, w = shape
        self.encoder = Encoder(c, squeezes, steps)
        zc = c * 4**squeezes
        self.mean = nn.Conv2d(zc, zc, 1)
        self.log_std = zero_conv(zc, zc, 1)
        self.likelihood = GaussianDecoder(Decoder(c, squeezes, steps))
        self.z_shape = (zc, h // 2**squeezes, w // 2**squeezes)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.encoder(x)
        return self.mean(e), self.log_std(e)

    def posterior_flow(self, x: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.posterior(x)
        return mean + torch.exp(log_std) * u, log_std.flatten(1).sum(1)

    def closed_form_loss(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """The textbook VAE loss: −log p(x|z) at z = μ + σu, plus KL(N(μ, σ²) ‖ N(0, I)) in closed form."""
        mean, log_std = self.posterior(x)
        z = mean + torch.exp(log_std) * u
        kl = 0.5 * (mean**2 + torch.exp(2 * log_std) - 1 - 2 * log_std).flatten(1).sum(1)
        return -self.likelihood.log_likelihood(x, z) + kl


class GlowModel(nn.Module):
    """Glow on the image itself (exact log density); `loss` takes the same (x, u) as the VAEs and ignores u."""

    def __init__(
        self,
        shape: tuple[int, int, int],
        levels: int,
        depth: int,
        hidden: int,
        affine: bool = False,
        mixing: str = "lu",
        seed: int = 0,
    ):
        super().__init__()
        self.flow = Glow(shape, levels=levels, depth=depth, hidden=hidden, affine=affine, mixing=mixing, seed=seed)
        self.z_shape = shape

    def loss(self, x: torch.Tensor, u: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        return {"loss": -self.flow.log_prob(x)}

    def sample(self, n: int, temperature: float = 1.0, generator=None) -> torch.Tensor:
        return self.flow.sample(n, temperature, generator)

    def latent(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.flow(x)[0]

    def from_latent(self, latents: list[torch.Tensor]) -> torch.Tensor:
        return self.flow.reverse(latents)


class LowVAE(GaussianPriorVAE):
    """The conventional "blurry" reference: a conv VAE with a low-dimensional latent, conv4×4/2(w)–ReLU–
    conv4×4/2(2w)–ReLU–Linear(2·latent) and its mirror, prior N(0, I), the same Gaussian likelihood with scalar σ₂."""

    def __init__(self, shape: tuple[int, int, int], latent: int = 32, width: int = 8):
        super().__init__()
        c, h, w = shape
        flat = 2 * width * (h // 4) * (w // 4)
        self.encoder = nn.Sequential(
            nn.Conv2d(c, width, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, 2, 1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(flat, 2 * latent),
        )
        decoder = nn.Sequential(
            nn.Linear(latent, flat),
            nn.ReLU(),
            nn.Unflatten(1, (2 * width, h // 4, w // 4)),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(width, c, 4, 2, 1),
        )
        self.likelihood = GaussianDecoder(decoder)
        self.z_shape = (latent,)

    def posterior_flow(self, x: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.encoder(x).chunk(2, dim=1)
        return mean + torch.exp(log_std) * u, log_std.sum(1)


def build(cfg, shape: tuple[int, int, int], seed: int) -> nn.Module:
    """The model a config names (`cfg.model`), at its sizes; `seed` fixes the flows' permutations and LU init."""
    if cfg.model == "glow":
        return GlowModel(shape, cfg.glow_levels, cfg.glow_depth, cfg.glow_hidden, cfg.affine, cfg.glow_mixing, seed)
    if cfg.model == "fvae":
        return FVAE(
            shape,
            cfg.squeezes,
            cfg.residual_steps,
            cfg.prior_depth,
            cfg.prior_hidden,
            cfg.affine,
            seed,
            cfg.prior_levels,
            cfg.prior_mixing,
        )
    if cfg.model == "vae_full":
        return FullVAE(shape, cfg.squeezes, cfg.residual_steps)
    return LowVAE(shape, cfg.low_latent, cfg.low_width)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
