"""The one-step clustering VAE of the post, and the plain VAE of the two-step baseline.

Latents (z, y). Encoder p(z|x) = N(μ(x), σ²(x)); decoder q(x|z) Gaussian with fixed variance, so
-log q(x|z) = recon_weight · ½‖x - G(z)‖² + const; prior q(z|y) = N(μ_y, I) with a learnable mean per class
(initialised at 0); q(y) uniform; classifier p(y|z). The loss, the post's eq. 5, for one z ~ p(z|x):

    -log q(x|z) + Σ_y p(y|z) log(p(z|x) / q(z|y)) + KL(p(y|z) ‖ q(y))

The Σ_y term is a batched matrix product: p(y|z) as (B, 1, K) times the per-class, per-dimension log-ratios
(B, K, D), as the post's Keras code does with batch_dot. Each KL(p(z|x) ‖ q(z|y)) is either estimated at the one
sample z (`kl_form: sample`, the author's code since December 2018) or taken in closed form (`closed`, September
2018).

Padding. Keras' `padding='same'` on TensorFlow pads a stride-2 layer on one side only (a convolution gets its extra
row and column at the bottom and right; a transposed one drops its last ones); PyTorch pads both sides. A net with
PyTorch's padding fed the image turned by 180° and turned back at the output is the Keras net with every kernel
flipped and the dense weights permuted: the same function class, the same glorot/zero initial distribution and the
same Adam steps. So the conv net turns images on the way in and out (two cheap copies) instead of padding
asymmetrically, which costs ~25% more per step on a CPU (tests/test_vae_cluster.py checks the equivalence).

References:
- bojone/vae, vae_keras_cluster.py at 1311e5d (December 2018) and c3da14e (September 2018).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from kx_tasks.shared.nets import mlp
from kx_tasks.vae_cluster.config import VaeClusterConfig

IMAGE = (1, 28, 28)
PIXELS = 28 * 28


def keras_init(model: nn.Module) -> None:
    """Keras' defaults: glorot_uniform kernels, zero biases (the class means start at zero either way).
    xavier_uniform_ on a ConvTranspose2d weight (in, out, k, k) sums the same two fans as Keras' (k, k, out, in)."""
    for layer in model.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)


class Encoder(nn.Module):
    """x (B, 1, 28, 28) in [0, 1] -> (μ, log σ²), each (B, D)."""

    def __init__(self, cfg: VaeClusterConfig):
        super().__init__()
        self.cfg = cfg
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
        h = self.body(x.flip(-2, -1) if self.cfg.arch == "conv" else x)  # Keras' padding: see the module docstring
        return self.mean(h), self.log_var(h)


class Decoder(nn.Module):
    """z (B, D) -> G(z) (B, 1, 28, 28) in (0, 1); the mirror of the encoder."""

    def __init__(self, cfg: VaeClusterConfig):
        super().__init__()
        self.cfg = cfg
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
        x = self.body(z)
        return x.flip(-2, -1) if self.cfg.arch == "conv" else x


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
        if cfg.init == "keras":
            keras_init(self)

    def loss_terms(self, x: torch.Tensor, eps: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three terms of eq. 5 per sample (B,), for the posterior sample z = μ + σ·eps."""
        mean, log_var = self.encoder(x)
        z = sample_posterior(mean, log_var, eps)
        logits = self.classifier(z)
        p_y = logits.softmax(-1)  # (B, K)
        if self.cfg.kl_form == "closed":  # KL(N(μ, σ²) ‖ N(μ_y, 1)) per class and dimension, (B, K, D)
            gap = (mean[:, None, :] - self.class_means[None]).square()
            log_ratio = -0.5 * (1.0 + log_var[:, None, :] - gap - log_var.exp()[:, None, :])
        else:  # log p(z|x) - log q(z|y) at the sample; the ½log 2π of both densities cancel.
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
        if cfg.init == "keras":
            keras_init(self)

    def loss_terms(self, x: torch.Tensor, eps: torch.Tensor) -> dict[str, torch.Tensor]:
        mean, log_var = self.encoder(x)
        z = sample_posterior(mean, log_var, eps)
        kl = 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(-1)
        return {"recon": reconstruction_nll(x, self.decoder(z), self.cfg.recon_weight), "kl": kl}


MODELS = {"onestep": ClusterVAE, "vae": PlainVAE}
