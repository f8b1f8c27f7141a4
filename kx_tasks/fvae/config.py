"""Parameters of the `fvae` task, declared once (defaults = the default CPU run on MNIST).

A variant is `<dataset>.<model>`: `glow` (multi-scale Glow on the image), `fvae` (the post's model: z = E(x) + σ₁u of
x's size, a Glow prior on z, likelihood N(G(z), σ₂²)), `vae_full` (the post's first special case: the same E and G,
a diagonal Gaussian posterior on z of x's size, prior N(0, I)) and `vae_low` (a conventional conv VAE with a
32-d latent: the "blurry VAE" the post argues against). Every model of a dataset shares the optimiser, the warm-up,
the clip, the batch size, the data stream of a seed and every evaluation.

The budget is matched two ways, both reported. Parameters: the default sizes give Glow 40.8k and the f-VAE 39.6k
(−3%; printed as `params`). Training time: each model runs its own number of steps (`<model>_steps`), chosen so that
each takes about the same seconds on one thread of the reference 2-core machine (`python benchmarks/fvae.py
--calibrate` measures seconds per step and prints the step counts for a budget on yours); the measured training
seconds of every run are reported beside, so the match is checked, not assumed. Step counts, not a clock, end a run,
so the same config and seed give the same metrics. "Same number of epochs" is read from the f-VAE's own curve at
Glow's step count.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from kx_tasks.core.data import IMAGES
from kx_tasks.core.params import Params
from kx_tasks.core.stages import family

Model = Literal["glow", "fvae", "vae_full", "vae_low"]
MODELS = ("glow", "fvae", "vae_full", "vae_low")
DATASETS = ("mnist", "fashion_mnist", "cifar10")
TEMPERATURES = (1.0, 0.8, 0.7)  # bojone samples at 1 and 0.8; rosinality's Glow default is 0.7


class FvaeConfig(Params):
    model: Model = Field("fvae", description="pinned by the variant")
    # sizes
    squeezes: int = Field(2, ge=1, description="fvae, vae_full: squeezes of E (and unsqueezes of G); z has x's size")
    residual_steps: int = Field(4, ge=1, description="fvae, vae_full: residual steps per squeeze (bojone: 12)")
    prior_levels: int = Field(1, ge=1, description="fvae: levels of the Glow prior on z (no squeeze before the first)")
    prior_depth: int = Field(3, ge=1, description="fvae: flow steps per level of the prior (bojone: 12)")
    prior_hidden: int = Field(32, ge=1, description="fvae: coupling nets' hidden channels of the prior (bojone: 256)")
    prior_mixing: Literal["lu", "permute"] = Field(
        "permute", description="fvae: channel mixing of the prior's steps (bojone's f-VAE: a fixed random permutation)"
    )
    glow_levels: int = Field(2, ge=1, description="glow: levels (a squeeze each; a split prior between levels)")
    glow_depth: int = Field(4, ge=1, description="glow: flow steps per level")
    glow_hidden: int = Field(48, ge=1, description="glow: coupling nets' hidden channels")
    glow_mixing: Literal["lu", "permute"] = Field(
        "lu", description="glow: invertible 1×1 convolution (LU) or a fixed random permutation"
    )
    affine: bool = Field(False, description="affine coupling instead of additive (bojone's choice: additive)")
    low_latent: int = Field(32, ge=1, description="vae_low: latent dimension")
    low_width: int = Field(8, ge=1, description="vae_low: channels of the first conv (the second has twice)")
    # optimisation (the protocol: Adam 1e-3, 200-step linear warm-up, batch 64, gradient-norm clip 50)
    lr: float = Field(1e-3, gt=0, description="Adam learning rate after the warm-up")
    warmup_steps: int = Field(200, ge=0, description="linear learning-rate warm-up (Glow users' fix for early NaNs)")
    clip: float = Field(50.0, gt=0, description="gradient-norm clip")
    batch_size: int = Field(64, ge=2, description="minibatch size")
    # matched training time: steps per model (≈ 100 s each on one thread of the reference machine)
    glow_steps: int = Field(600, ge=1, description="glow: optimisation steps")
    fvae_steps: int = Field(960, ge=1, description="fvae: optimisation steps")
    vae_full_steps: int = Field(1080, ge=1, description="vae_full: optimisation steps")
    vae_low_steps: int = Field(4800, ge=1, description="vae_low: optimisation steps")
    marks: int = Field(8, ge=2, description="checkpoints per run at equal fractions of its steps (≈ equal seconds)")
    # evaluation
    curve_images: int = Field(1000, ge=10, le=10_000, description="test images of each checkpoint's bits/dim")
    curve_samples: int = Field(2000, ge=100, le=10_000, description="samples of each checkpoint's FD (T = 0.8)")
    test_images: int = Field(10_000, ge=10, le=10_000, description="test images of the final bits/dim (1 draw each)")
    iwae_images: int = Field(256, ge=1, le=10_000, description="test images of the importance-weighted bound")
    iwae_k: int = Field(64, ge=1, description="importance samples per image of the IWAE bound")
    fd_samples: int = Field(5000, ge=100, le=10_000, description="samples of the final FD at each temperature")
    tau_factor: float = Field(
        20.0, gt=1, description="'reaches a given FD' = checkpoint FD ≤ tau_factor × the classifier's 5k floor"
    )

    def steps(self) -> int:
        return getattr(self, f"{self.model}_steps")

    @model_validator(mode="after")
    def _consistent(self):
        for model in MODELS:
            n = getattr(self, f"{model}_steps")
            if n % self.marks:
                raise ValueError(f"{model}_steps: {n} is not a multiple of marks ({self.marks})")
        return self


# CIFAR-10 at the architecture sizes of the paper setting that fit (issue 13; bojone's 128×128 design scaled by its
# levels): E/G with 3 squeezes (32×32×3 -> 4×4×192) and 12 residual steps, a prior of 3 levels × 12 steps × 256
# (49.9M parameters in all); Glow with 3 levels at the Glow paper's hidden 512, 42 steps per level to match (49.7M);
# Adam 1e-4 after a 2,000-step warm-up, batch 64; the same steps for every model (matched epochs: 100 at 50k images;
# matched seconds need `benchmarks/fvae.py --calibrate` on the GPU in use).
CIFAR_SETUP = dict(
    squeezes=3,
    residual_steps=12,
    prior_levels=3,
    prior_depth=12,
    prior_hidden=256,
    glow_levels=3,
    glow_depth=42,
    glow_hidden=512,
    lr=1e-4,
    warmup_steps=2000,
    batch_size=64,
    glow_steps=78_000,
    fvae_steps=78_000,
    vae_full_steps=78_000,
    vae_low_steps=78_000,
    marks=26,
)
PINS = {f"{d}.{m}": ({"model": m, **CIFAR_SETUP} if d == "cifar10" else {"model": m}) for d in DATASETS for m in MODELS}
VARIANTS = tuple(PINS)


def squeezes_of(cfg: FvaeConfig) -> tuple[str, int]:
    """(the parameter that sets them, how many times the variant's model halves the image side)."""
    if cfg.model == "glow":
        return "glow_levels", cfg.glow_levels  # a squeeze at the start of every level
    if cfg.model == "fvae":
        return "squeezes", cfg.squeezes + cfg.prior_levels - 1  # E's, then the prior's (none before its first level)
    if cfg.model == "vae_full":
        return "squeezes", cfg.squeezes
    return "", 0  # vae_low: strided convolutions with padding, any side


def check_run(variant: str, cfg: FvaeConfig, artefacts: dict) -> None:
    """Before any job: the image side survives the model's squeezes, and a batch fits in the training set."""
    images, side = IMAGES[family(variant)]
    key, times = squeezes_of(cfg)
    if times and side % 2**times:
        extra = f" + prior_levels {cfg.prior_levels} - 1" if cfg.model == "fvae" else ""
        raise ValueError(
            f"{key}: {getattr(cfg, key)}{extra} squeezes do not divide the {side}×{side} images of {family(variant)} "
            f"(each halves the side; {side} allows at most {(side & -side).bit_length() - 1})"
        )
    if cfg.batch_size > images:
        raise ValueError(f"batch_size: {cfg.batch_size} is more than the {images} {family(variant)} training images")
