"""The one-step clustering VAE of the post, and the plain VAE of the two-step baseline.

Latents (z, y). Encoder p(z|x) = N(μ(x), σ²(x)); decoder q(x|z) Gaussian with fixed variance, so
-log q(x|z) = recon_weight · ½‖x - G(z)‖² + const; prior q(z|y) = N(μ_y, I) with a learnable mean per class
(initialised at 0); q(y) uniform; classifier p(y|z). The loss, the post's eq. 5, for one z ~ p(z|x):

    -log q(x|z) + Σ_y p(y|z) log(p(z|x) / q(z|y)) + KL(p(y|z) ‖ q(y))

The Σ_y term is a batched matrix product: p(y|z) as (B, 1, K) times the per-class, per-dimension log-ratios
(B, K, D), as the post's Keras code does with batch_dot.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from kx_tasks.shared.nets import mlp
from kx_tasks.vae_cluster.config import VaeClusterConfig

IMAGE = (1, 28, 28)
PIXELS = 28 * 28


class Encoder(nn.Module):
    """x (B, 1, 28, 28) in [0, 1] -> (μ, log σ²), each (B, D)."""

    def __init__(self, cfg: VaeClusterConfig):
        super().__init__()
        w = cfg.width
        if cfg.arch == "conv":
            self.body = nn.Sequential(
                nn.Conv2d(1, w, 3, stride=2, padding=1),
                nn.LeakyReLU(0.2),
                nn.Conv2d(w, w, 3, padding=1),
                nn.LeakyReLU(0.2),
                nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),
                nn.LeakyReLU(0.2),
                nn.Conv2d(2 * w, 2 * w, 3, padding=1),
                nn.LeakyReLU(0.2),
                nn.Flatten(),
            )
            features = 2 * w * 7 * 7
        else:
            self.body = nn.Sequential(nn.Flatten(), *mlp([PIXELS, w, w], last=nn.ReLU()))
            features = w
        self.mean = nn.Linear(features, cfg.latent_dim)
        self.log_var = nn.Linear(features, cfg.latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mean(h), self.log_var(h)


class Decoder(nn.Module):
    """z (B, D) -> G(z) (B, 1, 28, 28) in (0, 1); the mirror of the encoder."""

    def __init__(self, cfg: VaeClusterConfig):
        super().__init__()
        w = cfg.width
        if cfg.arch == "conv":
            self.body = nn.Sequential(
                nn.Linear(cfg.latent_dim, 2 * w * 7 * 7),
                nn.Unflatten(-1, (2 * w, 7, 7)),
                nn.ConvTranspose2d(2 * w, 2 * w, 3, padding=1),
                nn.LeakyReLU(0.2),
                nn.ConvTranspose2d(2 * w, 2 * w, 3, stride=2, padding=1, output_padding=1),
                nn.LeakyReLU(0.2),
                nn.ConvTranspose2d(2 * w, w, 3, padding=1),
                nn.LeakyReLU(0.2),
                nn.ConvTranspose2d(w, w, 3, stride=2, padding=1, output_padding=1),
                nn.LeakyReLU(0.2),
                nn.ConvTranspose2d(w, 1, 3, padding=1),
                nn.Sigmoid(),
            )
        else:
            self.body = nn.Sequential(*mlp([cfg.latent_dim, w, w, PIXELS], last=nn.Sigmoid()), nn.Unflatten(-1, IMAGE))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)


def reconstruction_nll(x: torch.Tensor, x_hat: torch.Tensor, weight: float) -> torch.Tensor:
    """-log q(x|z) up to a constant: weight · ½‖x - x̂‖², per sample (B,)."""
    return 0.5 * weight * (x - x_hat).square().flatten(1).sum(1)


def sample_posterior(mean, log_var, eps):
    return mean + torch.exp(0.5 * log_var) * eps


class ClusterVAE(nn.Module):
    """The post's model: encoder, decoder, classifier p(y|z) and class means μ_y."""

    def __init__(self, cfg: VaeClusterConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.classifier = nn.Sequential(*mlp([cfg.latent_dim, cfg.classifier_hidden, cfg.n_clusters]))
        self.class_means = nn.Parameter(torch.zeros(cfg.n_clusters, cfg.latent_dim))

    def loss_terms(self, x: torch.Tensor, eps: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three terms of eq. 5 per sample (B,), for the posterior sample z = μ + σ·eps."""
        mean, log_var = self.encoder(x)
        z = sample_posterior(mean, log_var, eps)
        logits = self.classifier(z)
        p_y = logits.softmax(-1)  # (B, K)
        # log p(z|x) - log q(z|y) per class and dimension; the ½log 2π of both densities cancel.
        log_p = -0.5 * log_var - 0.5 * eps.square()  # (B, D): log N(z; μ, σ²) at z = μ + σ·eps
        log_q = -0.5 * (z[:, None, :] - self.class_means[None]).square()  # (B, K, D)
        log_ratio = log_p[:, None, :] - log_q
        prior = torch.bmm(p_y[:, None, :], log_ratio).squeeze(1).sum(-1)  # Σ_y p(y|z) log(p(z|x)/q(z|y))
        categorical = (p_y * (logits.log_softmax(-1) + math.log(self.cfg.n_clusters))).sum(-1)  # KL(p(y|z)‖U)
        recon = reconstruction_nll(x, self.decoder(z), self.cfg.recon_weight)
        return {"recon": recon, "prior": prior, "categorical": categorical}


class PlainVAE(nn.Module):
    """The two-step baseline's VAE: same encoder/decoder, prior N(0, I), closed-form KL."""

    def __init__(self, cfg: VaeClusterConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def loss_terms(self, x: torch.Tensor, eps: torch.Tensor) -> dict[str, torch.Tensor]:
        mean, log_var = self.encoder(x)
        z = sample_posterior(mean, log_var, eps)
        kl = 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(-1)
        return {"recon": reconstruction_nll(x, self.decoder(z), self.cfg.recon_weight), "kl": kl}


MODELS = {"onestep": ClusterVAE, "vae": PlainVAE}
