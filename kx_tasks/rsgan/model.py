"""The generator and discriminator of each setting; D returns raw logits (B, 1), G returns samples.

- grid (PacGAN's 2-D grid nets, width scaled): G = 4 × [Linear(w, no bias)–BN–ReLU] → Linear(2);
  D = 3 × Maxout(d, pieces) → Linear(1). PacGAN: w = 400, d = 200, 5 pieces, N(0, 0.02²) init (here: PyTorch's).
- mnist (bojone's DCGAN pair, keras/rsgan_sn_celeba.py and dcgan_sn_celeba.py, scaled to 28×28):
  G = Linear(z → 7·7·2w)–BN–ReLU → ConvT4×4/2(w)–BN–ReLU → ConvT4×4/2(1)–tanh;
  D = Conv4×4/2(w)–LReLU(0.2) → Conv4×4/2(2w)–LReLU(0.2) → Linear(1). bojone's D also has BN (with SN on its γ);
  the scaled pair drops it, as the relativistic-GAN repository does under spectral norm.
- cifar10 (the "standard CNN" of the SN-GAN paper, `--arch 1` of the relativistic-GAN repository's DCGAN setup):
  G = Linear(z → 4·4·512)–BN–ReLU → 3 × ConvT4×4/2 (256, 128, 64)–BN–ReLU → Conv3×3(3)–tanh;
  D = Conv3×3(64) Conv4×4/2(64) Conv3×3(128) Conv4×4/2(128) Conv3×3(256) Conv4×4/2(256) Conv3×3(512), each
  LReLU(0.1) → Linear(1); no BN in D under spectral norm.

Spectral norm is PyTorch's `parametrizations.spectral_norm`: one power iteration per forward pass in training mode,
its vector u kept between calls (Miyato et al.'s algorithm, and the relativistic-GAN repository's). bojone's Keras
edit instead restarts the power iteration from a vector of ones on every call and runs 5 iterations: the same fixed
point, a different estimate early in training and 5× the iteration cost; kx does not reproduce that detail.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

NOISE_SEED = 1_000_003  # the fixed noise of every checkpoint's samples (the same z for all checkpoints and twins)


class Maxout(nn.Module):
    def __init__(self, n_in: int, n_out: int, pieces: int):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out * pieces)
        self.n_out, self.pieces = n_out, pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(len(x), self.n_out, self.pieces).amax(dim=2)


def grid_generator(width: int) -> nn.Module:
    layers: list[nn.Module] = []
    for i in range(4):
        layers += [nn.Linear(2 if i == 0 else width, width, bias=False), nn.BatchNorm1d(width), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, 2))


def grid_discriminator(width: int, pieces: int) -> nn.Module:
    return nn.Sequential(
        Maxout(2, width, pieces), Maxout(width, width, pieces), Maxout(width, width, pieces), nn.Linear(width, 1)
    )


def _sn(module: nn.Module, on: bool) -> nn.Module:
    return spectral_norm(module) if on else module


def mnist_generator(z_dim: int, width: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(z_dim, 7 * 7 * 2 * width),
        nn.BatchNorm1d(7 * 7 * 2 * width),
        nn.ReLU(),
        nn.Unflatten(1, (2 * width, 7, 7)),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.ConvTranspose2d(width, 1, 4, 2, 1),
        nn.Tanh(),
    )


def mnist_discriminator(width: int, sn: bool) -> nn.Module:
    return nn.Sequential(
        _sn(nn.Conv2d(1, width, 4, 2, 1), sn),
        nn.LeakyReLU(0.2),
        _sn(nn.Conv2d(width, 2 * width, 4, 2, 1), sn),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        _sn(nn.Linear(2 * width * 7 * 7, 1), sn),
    )


def cifar_generator(z_dim: int) -> nn.Module:
    layers: list[nn.Module] = [
        nn.Linear(z_dim, 4 * 4 * 512),
        nn.BatchNorm1d(4 * 4 * 512),
        nn.ReLU(),
        nn.Unflatten(1, (512, 4, 4)),
    ]
    for a, b in ((512, 256), (256, 128), (128, 64)):
        layers += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.BatchNorm2d(b), nn.ReLU()]
    return nn.Sequential(*layers, nn.Conv2d(64, 3, 3, 1, 1), nn.Tanh())


def cifar_discriminator(sn: bool) -> nn.Module:
    spec = [
        (3, 64, 3, 1),
        (64, 64, 4, 2),
        (64, 128, 3, 1),
        (128, 128, 4, 2),
        (128, 256, 3, 1),
        (256, 256, 4, 2),
        (256, 512, 3, 1),
    ]
    layers: list[nn.Module] = []
    for a, b, k, s in spec:
        layers += [_sn(nn.Conv2d(a, b, k, s, 1), sn), nn.LeakyReLU(0.1)]
    return nn.Sequential(*layers, nn.Flatten(), _sn(nn.Linear(512 * 4 * 4, 1), sn))


@torch.no_grad()
def generate(G, n: int, z_dim: int, device, seed: int = NOISE_SEED, batch: int = 1000) -> torch.Tensor:
    """n samples in [0, 1] (clamped) from fixed noise, G in eval mode."""
    G.eval()
    g = torch.Generator(device).manual_seed(seed)
    out = [G(torch.randn(min(batch, n - i), z_dim, generator=g, device=device)) for i in range(0, n, batch)]
    return torch.cat(out).add_(1).div_(2).clamp_(0, 1)
