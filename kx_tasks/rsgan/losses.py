"""The three GAN losses in logit space (softplus, i.e. BCEWithLogits, never log σ of a probability): SGAN
(non-saturating generator), RSGAN and RaSGAN, for the discriminator's raw outputs on real (r) and fake (f) batches.

    SGAN    D: softplus(−r) + softplus(f)            G: softplus(−f)
    RSGAN   D: softplus(−(r − f))                    G: softplus(−(f − r))        (pairs r_i with f_i)
    RaSGAN  D: [softplus(−(r − mean f)) + softplus(f − mean r)] / 2
            G: [softplus(−(f − mean r)) + softplus(r − mean f)] / 2

softplus(−t) = −log σ(t) and softplus(t) = −log(1 − σ(t)). bojone's rsgan_sn_celeba.py writes −log(σ(·) + 1e-9)
(the 1e-9 bounds the loss at ~20.7; here it is exact); the relativistic-GAN repository writes
BCEWithLogits(r − f, 1). RaSGAN is the corrected form of AlexiaJM/RelativisticGAN issue #2: the fake-side term is
f − mean(r) (the early code had mean(f) − r); both terms are halved as in the repository's code.

Each function returns per-sample losses, shape (B,).
"""

from __future__ import annotations

import torch
from torch.nn.functional import softplus

LOSSES = ("sgan", "rsgan", "rasgan")


def d_loss(loss: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    real, fake = real.reshape(-1), fake.reshape(-1)
    if loss == "sgan":
        return softplus(-real) + softplus(fake)
    if loss == "rsgan":
        return softplus(-(real - fake))
    if loss == "rasgan":
        return (softplus(-(real - fake.mean())) + softplus(fake - real.mean())) / 2
    raise ValueError(f"loss: unknown '{loss}' (known: {', '.join(LOSSES)})")


def g_loss(loss: str, real: torch.Tensor | None, fake: torch.Tensor) -> torch.Tensor:
    """`real`: the discriminator on a fresh real batch (None for SGAN, whose generator loss has no real term)."""
    fake = fake.reshape(-1)
    if loss == "sgan":
        return softplus(-fake)
    real = real.reshape(-1)
    if loss == "rsgan":
        return softplus(-(fake - real))
    if loss == "rasgan":
        return (softplus(-(fake - real.mean())) + softplus(real - fake.mean())) / 2
    raise ValueError(f"loss: unknown '{loss}' (known: {', '.join(LOSSES)})")


def needs_real(loss: str) -> bool:
    """Whether the generator's step evaluates the discriminator on real data (the relativistic losses do)."""
    return loss != "sgan"
