"""Parameters of the `rsgan` task, declared once (defaults = the default CPU run).

A variant is `<family>.<loss>`, its family the setting: `theory` (exact checks on a finite support), `grid.*`
(PacGAN's 25-Gaussian grid at CPU scale; `pacgan.*` pins PacGAN's own nets and 400k iterations),
`mnist.*` (bojone's DCGAN pair at 28×28), `cifar10.*` (the relativistic-GAN repository's DCGAN setup, GPU). The
variant pins the loss, spectral norm and the D : G schedule, so the twins of a setting share everything else: nets,
optimiser, initial weights (same seed), data order and noise. `grid_*` parameters belong to the grid; the others to
the image settings (MNIST; CIFAR-10's variants pin the official setup).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from kx_tasks.core.data import IMAGES
from kx_tasks.core.params import Params
from kx_tasks.core.stages import family

Loss = Literal["sgan", "rsgan", "rasgan"]


class RsganConfig(Params):
    loss: Loss = Field(
        "rsgan", description="pinned by the variant: `sgan` (non-saturating), `rsgan`, `rasgan` (corrected form)"
    )
    spectral_norm: bool = Field(True, description="pinned by the variant: spectral norm on every layer of D")
    g_steps: int = Field(2, ge=1, description="pinned by the variant: G steps per D step (bojone: 2; Alexia: 1)")
    # exact theory
    support: int = Field(30, ge=2, le=500, description="`theory`: points of the finite support of p and q")
    # images (MNIST; the cifar10 variants pin the official DCGAN setup)
    iterations: int = Field(
        500, ge=1, description="images: iterations of the schedule (1 D step + g_steps G steps each)"
    )
    batch_size: int = Field(64, ge=2, description="images: batch of D's and G's steps (bojone: 64)")
    lr: float = Field(2e-4, gt=0, description="images: Adam learning rate of D and G")
    beta1: float = Field(0.5, ge=0, lt=1, description="images: Adam β₁")
    beta2: float = Field(0.999, ge=0, lt=1, description="images: Adam β₂")
    z_dim: int = Field(64, ge=1, description="images: generator noise dimension, z ~ N(0, I)")
    width: int = Field(32, ge=1, description="mnist: channels of D's first conv and G's last hidden layer")
    eval_every: int = Field(100, ge=1, description="images: iterations between FD checkpoints (and checkpoints)")
    fd_samples: int = Field(5000, ge=100, le=10_000, description="images: samples of each checkpoint's FD")
    final_samples: int = Field(
        10_000, ge=100, le=10_000, description="images: samples of the final FD and class histogram"
    )
    tau_factor: float = Field(
        3.0, gt=1, description="images: 'reached a given quality' = FD ≤ tau_factor × the real-vs-real floor"
    )
    # 2-D grid
    grid_iterations: int = Field(3500, ge=1, description="grid: iterations (1 D step + 1 G step each)")
    grid_width: int = Field(64, ge=1, description="grid: G's hidden width (PacGAN: 400)")
    grid_d_width: int = Field(32, ge=1, description="grid: D's maxout units per layer (PacGAN: 200)")
    grid_pieces: int = Field(5, ge=1, description="grid: maxout pieces (PacGAN: 5)")
    grid_lr: float = Field(5e-4, gt=0, description="grid: Adam learning rate (PacGAN: 1e-4)")
    grid_beta1: float = Field(0.5, ge=0, lt=1, description="grid: Adam β₁ (PacGAN: 0.8)")
    grid_batch_size: int = Field(100, ge=2, description="grid: batch (PacGAN: 100)")
    grid_points: int = Field(100_000, ge=100, description="grid: training points drawn from the mixture, per seed")
    grid_eval_every: int = Field(500, ge=1, description="grid: iterations between coverage checkpoints")
    grid_draws: int = Field(10, ge=1, description="grid: independent 2,500-sample draws averaged into `modes`")

    @model_validator(mode="after")
    def _consistent(self):
        # checkpoints (and the engine's epochs) fall on multiples of the evaluation interval
        if self.iterations % self.eval_every:
            raise ValueError(f"eval_every: {self.eval_every} does not divide the {self.iterations} iterations")
        if self.grid_iterations % self.grid_eval_every:
            raise ValueError(
                f"grid_eval_every: {self.grid_eval_every} does not divide the {self.grid_iterations} grid_iterations"
            )
        return self


SETTINGS = ("theory", "grid", "pacgan", "mnist", "cifar10")
GRIDS = ("grid", "pacgan")  # the 2-D grid at CPU scale, and at PacGAN's own scale
_GRID = {f"grid.{loss}": {"loss": loss, "spectral_norm": False, "g_steps": 1} for loss in ("sgan", "rsgan", "rasgan")}
# PacGAN's 2-D grid experiment exactly (fjxmlzn/PacGAN, 2DGrid_GAN): G 4 × 400, D 3 × maxout(200, 5 pieces), Adam
# 1e-4 with β₁ 0.8, batch 100, 100,000 training points, 400 epochs of 1,000 iterations (400k), one evaluation per
# 10 epochs here (theirs: every epoch).
PACGAN_SETUP = dict(
    grid_width=400,
    grid_d_width=200,
    grid_pieces=5,
    grid_lr=1e-4,
    grid_beta1=0.8,
    grid_batch_size=100,
    grid_points=100_000,
    grid_iterations=400_000,
    grid_eval_every=10_000,
)
_PACGAN = {f"pacgan.{loss}": {**_GRID[f"grid.{loss}"], **PACGAN_SETUP} for loss in ("sgan", "rsgan", "rasgan")}
_MNIST = {
    "mnist.sgan": {"loss": "sgan", "spectral_norm": False, "g_steps": 2},
    "mnist.sgan_sn": {"loss": "sgan", "spectral_norm": True, "g_steps": 2},
    "mnist.rsgan_sn": {"loss": "rsgan", "spectral_norm": True, "g_steps": 2},
    "mnist.rasgan_sn": {"loss": "rasgan", "spectral_norm": True, "g_steps": 2},
    "mnist.sgan_sn_1to1": {"loss": "sgan", "spectral_norm": True, "g_steps": 1},
    "mnist.rsgan_sn_1to1": {"loss": "rsgan", "spectral_norm": True, "g_steps": 1},
}
# The relativistic-GAN repository's CIFAR-10 "DCGAN setup" (code/stable.sh): standard CNN, batch 32, Adam 2e-4
# (0.5, 0.999), 1 D step per G step, 100k iterations, spectral norm; z 128 (GAN_losses_iter.py's default).
CIFAR_SETUP = dict(
    iterations=100_000,
    batch_size=32,
    lr=2e-4,
    beta1=0.5,
    beta2=0.999,
    z_dim=128,
    eval_every=5000,
    spectral_norm=True,
    g_steps=1,
)
_CIFAR = {f"cifar10.{loss}_sn": {**CIFAR_SETUP, "loss": loss} for loss in ("sgan", "rsgan", "rasgan")}
PINS = {"theory": {}, **_GRID, **_PACGAN, **_MNIST, **_CIFAR}
VARIANTS = tuple(PINS)


def check_run(variant: str, cfg: RsganConfig, artefacts: dict) -> None:
    if family(variant) in GRIDS and cfg.grid_batch_size > cfg.grid_points:
        raise ValueError(f"grid_batch_size: {cfg.grid_batch_size} is more than the {cfg.grid_points} grid_points")
    if family(variant) in IMAGES and cfg.batch_size > IMAGES[family(variant)][0]:
        raise ValueError(
            f"batch_size: {cfg.batch_size} is more than the {IMAGES[family(variant)][0]} {family(variant)} "
            "training images"
        )
