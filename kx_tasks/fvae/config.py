"""Parameters of the `fvae` task (work in progress: not registered yet), declared once.

A variant is `<dataset>.<model>`: `glow`, `fvae`, `vae_full` (the post's first special case: the same encoder and
decoder as the f-VAE, a diagonal Gaussian posterior on z of x's size, prior N(0, I)) and `vae_low` (a conventional
conv VAE with a low-dimensional latent, the "blurry VAE" reference). Every model of a dataset shares the optimiser,
the warm-up, the clip, the batch order and the dequantisation draws of a seed; the budget is matched in parameters
(sizes below, counts recorded) and in training time (a calibrated number of steps per model, see `budget_seconds`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kx_tasks.core.params import Params

Model = Literal["glow", "fvae", "vae_full", "vae_low"]


class FvaeConfig(Params):
    model: Model = Field("fvae", description="pinned by the variant")
    # sizes (matched parameters: Glow 2 × 8 × 64 ≈ 125k, f-VAE R 12 + prior 4 × 64 ≈ 123k)
    glow_levels: int = Field(2, ge=1, description="glow: levels (a squeeze each; a split prior between levels)")
    glow_depth: int = Field(8, ge=1, description="glow: flow steps per level")
    hidden: int = Field(64, ge=1, description="coupling nets' hidden channels (glow and the f-VAE's prior)")
    affine: bool = Field(False, description="affine coupling instead of additive (bojone's choice: additive)")
    mixing: Literal["lu", "permute"] = Field(
        "lu", description="invertible 1×1 convolution (LU) or bojone's fixed random permutation"
    )
    residual_steps: int = Field(12, ge=1, description="fvae, vae_full: residual steps per squeeze of E and G")
    prior_depth: int = Field(4, ge=1, description="fvae: flow steps of the Glow prior on z")
    low_latent: int = Field(32, ge=1, description="vae_low: latent dimension")
    # optimisation (the protocol: Adam 1e-3, 200-step linear warm-up, batch 64, gradient-norm clip 50)
    lr: float = Field(1e-3, gt=0, description="Adam learning rate after the warm-up")
    warmup_steps: int = Field(200, ge=0, description="linear learning-rate warm-up (Glow users' fix for early NaNs)")
    clip: float = Field(50.0, gt=0, description="gradient-norm clip")
    batch_size: int = Field(64, ge=2, description="minibatch size")
    # budget
    budget_seconds: float = Field(
        240.0, gt=0, description="training seconds per model on one thread, turned into a step count by a "
        "calibration of each model's seconds per step (so a rerun repeats exactly)"
    )  # fmt: skip
    marks: int = Field(4, ge=1, description="evaluation checkpoints at equal fractions of the budget")
