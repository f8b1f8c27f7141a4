"""Glow's layers and a multi-scale Glow, each an exact bijection: `forward(x) -> (y, logdet)` with logdet of shape
(B,), and `reverse(y) -> x`. Every step starts as the identity (or as actnorm's data-dependent standardisation), so a
fresh flow is a whitening of its input.

- ActNorm: per-channel affine y = (x + b)·e^{s}, initialised from the first training batch so that y has zero mean
  and unit variance per channel (Glow's data-dependent init).
- InvConv1x1: an invertible 1×1 convolution in LU form, W = P·L·(U + diag(sign·e^{log|s|})), P fixed, initialised
  from a random rotation; log|det| = H·W·Σ log|s|. `Permute` is the fixed random channel permutation of bojone/flow.
- Coupling: additive (y_b = x_b + t(x_a), bojone's choice) or affine (y_b = (x_b + t)·σ(r + 2)/σ(2), the identity
  at init); t comes from conv3×3(h)–ReLU–conv1×1(h)–ReLU–conv3×3 with a zero-initialised last layer.
- SplitPrior: after a level, half the channels leave the flow with a learned conditional Gaussian prior whose mean and
  log-scale come from a zero-initialised conv of the kept half (Glow's split prior, bojone's CondActnorm).

References:
- D. P. Kingma, P. Dhariwal, "Glow: Generative Flow with Invertible 1×1 Convolutions", NeurIPS 2018; openai/glow.
- bojone/flow, flow_layers.py (Actnorm, Permute, CoupleWrapper, CondActnorm, Squeeze).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

LOG_2PI = math.log(2 * math.pi)


def squeeze(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, 4C, H/2, W/2): each 2×2 block becomes 4 channels."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // 2, 2, w // 2, 2)
    return x.permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    x = x.reshape(b, c // 4, 2, 2, h, w)
    return x.permute(0, 1, 4, 2, 5, 3).reshape(b, c // 4, 2 * h, 2 * w)


def gaussian_log_prob(x: torch.Tensor, mean=0.0, log_scale=0.0) -> torch.Tensor:
    """Σ over every dimension but the first of log N(x; mean, e^{2·log_scale})."""
    log_scale = torch.as_tensor(log_scale, dtype=x.dtype, device=x.device)
    lp = -0.5 * (LOG_2PI + 2 * log_scale + ((x - mean) * torch.exp(-log_scale)) ** 2)
    return lp.flatten(1).sum(1)


class ActNorm(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def _initialize(self, x: torch.Tensor) -> None:
        self.loc.copy_(-x.mean(dim=(0, 2, 3), keepdim=True))
        self.log_scale.copy_(-torch.log(x.std(dim=(0, 2, 3), keepdim=True) + 1e-6))
        self.initialized.fill_(True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not bool(self.initialized) and self.training:
            self._initialize(x)
        logdet = self.log_scale.sum() * x.shape[2] * x.shape[3]
        return (x + self.loc) * torch.exp(self.log_scale), logdet.expand(len(x))

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * torch.exp(-self.log_scale) - self.loc


class InvConv1x1(nn.Module):
    def __init__(self, channels: int, generator: torch.Generator | None = None):
        super().__init__()
        w = torch.linalg.qr(torch.randn(channels, channels, generator=generator))[0]
        p, lower, upper = torch.linalg.lu(w)
        s = torch.diagonal(upper)
        self.register_buffer("p", p)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_s = nn.Parameter(torch.log(s.abs()))

    def weight(self) -> torch.Tensor:
        eye = torch.eye(len(self.log_s), dtype=self.log_s.dtype, device=self.log_s.device)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.p @ lower @ upper

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logdet = self.log_s.sum() * x.shape[2] * x.shape[3]
        return F.conv2d(x, self.weight()[:, :, None, None]), logdet.expand(len(x))

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        return F.conv2d(y, torch.linalg.inv(self.weight())[:, :, None, None])


class Permute(nn.Module):
    def __init__(self, channels: int, generator: torch.Generator | None = None):
        super().__init__()
        perm = torch.randperm(channels, generator=generator)
        self.register_buffer("perm", perm)
        self.register_buffer("inverse", torch.argsort(perm))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x[:, self.perm], x.new_zeros(len(x))

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        return y[:, self.inverse]


def zero_conv(n_in: int, n_out: int, kernel: int = 3) -> nn.Conv2d:
    conv = nn.Conv2d(n_in, n_out, kernel, padding=kernel // 2)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class Coupling(nn.Module):
    def __init__(self, channels: int, hidden: int, affine: bool = False):
        super().__init__()
        self.split = channels // 2
        out = channels - self.split
        self.affine = affine
        self.net = nn.Sequential(
            nn.Conv2d(self.split, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1),
            nn.ReLU(),
            zero_conv(hidden, 2 * out if affine else out),
        )

    def _shift_scale(self, xa: torch.Tensor):
        h = self.net(xa)
        if not self.affine:
            return h, None
        shift, raw = h[:, 0::2], h[:, 1::2]
        log_scale = F.logsigmoid(raw + 2.0) - F.logsigmoid(torch.tensor(2.0, dtype=h.dtype, device=h.device))
        return shift, log_scale

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xa, xb = x[:, : self.split], x[:, self.split :]
        shift, log_scale = self._shift_scale(xa)
        if log_scale is None:
            return torch.cat([xa, xb + shift], 1), x.new_zeros(len(x))
        yb = (xb + shift) * torch.exp(log_scale)
        return torch.cat([xa, yb], 1), log_scale.flatten(1).sum(1)

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        ya, yb = y[:, : self.split], y[:, self.split :]
        shift, log_scale = self._shift_scale(ya)
        xb = yb - shift if log_scale is None else yb * torch.exp(-log_scale) - shift
        return torch.cat([ya, xb], 1)


class FlowStep(nn.Module):
    """actnorm → invertible 1×1 conv (or a fixed permutation) → coupling."""

    def __init__(self, channels: int, hidden: int, affine: bool, mixing: str, generator: torch.Generator | None):
        super().__init__()
        mix = InvConv1x1(channels, generator) if mixing == "lu" else Permute(channels, generator)
        self.layers = nn.ModuleList([ActNorm(channels), mix, Coupling(channels, hidden, affine)])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        total = x.new_zeros(len(x))
        for layer in self.layers:
            x, logdet = layer(x)
            total = total + logdet
        return x, total

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        for layer in reversed(self.layers):
            y = layer.reverse(y)
        return y


class SplitPrior(nn.Module):
    """Factor out the second half of the channels with N(mean(kept), e^{2 logs(kept)}), learned, zero at init."""

    def __init__(self, channels: int):
        super().__init__()
        self.keep = channels // 2
        self.conv = zero_conv(self.keep, 2 * (channels - self.keep))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (kept half, standardised factored half ε, log p(factored | kept) in the flow's coordinates)."""
        kept, out = x[:, : self.keep], x[:, self.keep :]
        mean, log_scale = self.conv(kept).chunk(2, dim=1)
        eps = (out - mean) * torch.exp(-log_scale)
        return kept, eps, gaussian_log_prob(out, mean, log_scale)

    def reverse(self, kept: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        mean, log_scale = self.conv(kept).chunk(2, dim=1)
        return torch.cat([kept, mean + eps * torch.exp(log_scale)], 1)


class Glow(nn.Module):
    """A multi-scale Glow on (C, H, W): per level, [squeeze →] `depth` steps [→ split prior], N(0, I) on the output.

    forward(x) -> (ε list, log p(x)): the standardised latents (one per split, then the top) and the exact log
    density of x (log N(ε) summed, plus every log-determinant, minus the split priors' log-scales). reverse(ε list)
    -> x; sample(n, temperature) draws ε ~ N(0, T²I)."""

    def __init__(
        self,
        shape: tuple[int, int, int],
        levels: int,
        depth: int,
        hidden: int,
        affine: bool = False,
        mixing: str = "lu",
        squeeze_first: bool = True,
        seed: int = 0,
    ):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        c, h, w = shape
        self.shape = shape
        self.squeeze_first = squeeze_first
        self.levels = nn.ModuleList()
        self.splits = nn.ModuleList()
        self.latent_shapes: list[tuple[int, int, int]] = []
        for level in range(levels):
            if squeeze_first or level > 0:
                c, h, w = 4 * c, h // 2, w // 2
            self.levels.append(nn.ModuleList([FlowStep(c, hidden, affine, mixing, generator) for _ in range(depth)]))
            if level < levels - 1:
                self.splits.append(SplitPrior(c))
                self.latent_shapes.append((c - c // 2, h, w))
                c = c // 2
        self.latent_shapes.append((c, h, w))

    def _squeezes(self, level: int) -> bool:
        return self.squeeze_first or level > 0

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        log_p = x.new_zeros(len(x))
        latents = []
        for level, steps in enumerate(self.levels):
            if self._squeezes(level):
                x = squeeze(x)
            for step in steps:
                x, logdet = step(x)
                log_p = log_p + logdet
            if level < len(self.splits):
                x, eps, lp = self.splits[level](x)
                latents.append(eps)
                log_p = log_p + lp
        latents.append(x)
        return latents, log_p + gaussian_log_prob(x)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return self(x)[1]

    def reverse(self, latents: list[torch.Tensor]) -> torch.Tensor:
        x = latents[-1]
        for level in reversed(range(len(self.levels))):
            if level < len(self.splits):
                x = self.splits[level].reverse(x, latents[level])
            for step in reversed(self.levels[level]):
                x = step.reverse(x)
            if self._squeezes(level):
                x = unsqueeze(x)
        return x

    def noise(self, n: int, temperature: float = 1.0, generator=None, device=None, dtype=None) -> list[torch.Tensor]:
        return [
            temperature * torch.randn(n, *s, generator=generator, device=device, dtype=dtype)
            for s in self.latent_shapes
        ]

    def sample(self, n: int, temperature: float = 1.0, generator=None) -> torch.Tensor:
        p = next(self.parameters())
        return self.reverse(self.noise(n, temperature, generator, p.device, p.dtype))
