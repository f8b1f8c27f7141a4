"""What the fvae task measures on a trained model: test bits/dim (1 draw, and the IWAE bound), samples at a
temperature, a sharpness score, and the reconstruction error. Every function fixes its own random draws by `seed`,
so two models evaluated with the same seed see the same dequantisation of the same test images.

Sharpness (after the variance-of-Laplacian focus measure, Pech-Pacheco et al. 2000): per image, the variance of the
3×3 Laplacian response; the task reports its mean over samples ÷ its mean over real test images (blur → < 1).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from kx_tasks.fvae.bits import bits_per_dim, dequantise, iwae_log_density, to_model_scale

LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


@torch.no_grad()
def bpd_per_image(model, images: torch.Tensor, seed: int, k: int = 1, batch: int = 500) -> np.ndarray:
    """Per image bits/dim of uint8 `images` (N, C, H, W): one dequantisation draw each; with k > 1 the k-sample
    importance-weighted bound (k draws of u per image, the same y), with k = 1 the −ELBO (exact NLL for Glow)."""
    model.eval()
    g = torch.Generator(images.device).manual_seed(seed)
    dims = images[0].numel()
    out = []
    for i in range(0, len(images), batch):
        x, log_jacobian = to_model_scale(dequantise(images[i : i + batch], g))
        weights = []
        for _ in range(k):
            u = torch.randn(len(x), *model.z_shape, generator=g, device=x.device)
            weights.append(-model.loss(x, u)["loss"])
        log_p = iwae_log_density(torch.stack(weights)) + log_jacobian
        out.append(bits_per_dim(log_p, dims).double().cpu())
    return torch.cat(out).numpy()


@torch.no_grad()
def samples(model, n: int, temperature: float, seed: int, batch: int = 1000) -> torch.Tensor:
    """n samples at temperature T on [0, 1] (the model's x in [−1, 1] mapped back, clamped), from fixed noise."""
    model.eval()
    device = next(model.parameters()).device
    g = torch.Generator(device).manual_seed(seed)
    out = [model.sample(min(batch, n - i), temperature, g) for i in range(0, n, batch)]
    return torch.cat(out).add_(1).div_(2).clamp_(0, 1)


def laplacian_variance(x01: torch.Tensor) -> torch.Tensor:
    """Per image (N, C, H, W): the variance of the 3×3 Laplacian response over channels and valid pixels."""
    c = x01.shape[1]
    kernel = LAPLACIAN.to(x01).expand(c, 1, 3, 3)
    return F.conv2d(x01, kernel, groups=c).flatten(1).var(1)


def sharpness_ratio(samples01: torch.Tensor, real01: torch.Tensor) -> float:
    return float(laplacian_variance(samples01).mean() / laplacian_variance(real01).mean())


@torch.no_grad()
def recon_mse(model, images: torch.Tensor, seed: int, batch: int = 500) -> float:
    """Mean squared error on [0, 1] of the decoder mean at the posterior's centre (u = 0), per pixel."""
    model.eval()
    g = torch.Generator(images.device).manual_seed(seed)
    total, count = 0.0, 0
    for i in range(0, len(images), batch):
        y = dequantise(images[i : i + batch], g)
        x, _ = to_model_scale(y)
        z, _ = model.posterior_flow(x, torch.zeros(len(x), *model.z_shape, device=x.device))
        recon = model.likelihood.decoder(z).add(1).div(2).clamp(0, 1)
        total += float((recon - y).pow(2).sum())
        count += y.numel()
    return total / count


@torch.no_grad()
def interpolation(model, a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """Images along the straight line between the latents of x-scale images a and b (each (C, H, W)), on [0, 1]."""
    model.eval()
    la, lb = model.latent(a[None]), model.latent(b[None])
    t = torch.linspace(0, 1, steps, device=a.device)
    mixed = [
        (1 - t.view(-1, *[1] * (p.dim() - 1))) * p + t.view(-1, *[1] * (p.dim() - 1)) * q
        for p, q in zip(la, lb, strict=True)
    ]
    return model.from_latent(mixed).add(1).div(2).clamp(0, 1)
