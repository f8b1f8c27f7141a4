"""Parameters of the `mixup` task, declared once (defaults = the default CPU run on a 5,000-image subset).

A variant is `<dataset>.<method>`; the method's own settings (which mixing, α, SamplePairing's schedule) are pinned
by the variant (METHODS), so every variant of a seed shares the CNN, the optimiser, the subset, the initial weights
and the batch order, and differs only in what the augmentation plan mixes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from kx_tasks.core.params import Params
from kx_tasks.core.stages import family

TRAIN_IMAGES = 60_000  # the largest training set (MNIST, Fashion-MNIST); CIFAR-10 has 50,000: see check_run
DATASET_IMAGES = {"mnist": 60_000, "fashion_mnist": 60_000, "cifar10": 50_000}
Mixing = Literal["none", "mixup", "samplepairing", "samplepairing_sym", "half_soft"]


class MixupConfig(Params):
    mixing: Mixing = Field(
        "none",
        description="what the plan mixes (pinned by the variant): `none` (ERM); `mixup` (λ ~ Beta(α, α), partner a "
        "permutation of the batch, target λy_a + (1−λ)y_b); `samplepairing` ((x_a + x_b)/2, partner uniform from "
        "the training subset, label y_a); `samplepairing_sym` (the post's re-description: label y_a or y_b at "
        "random); `half_soft` ((x_a + x_b)/2 with target ½y_a + ½y_b)",
    )
    alpha: float = Field(
        1.0, gt=0, description="`mixup`: λ ~ Beta(α, α); α = 1 is uniform (the post's ε, the official default)"
    )
    per_sample_lambda: bool = Field(
        False, description="`mixup`: one λ per sample instead of one per batch (the official code: per batch)"
    )
    schedule: Literal["paper", "always"] = Field(
        "paper",
        description="SamplePairing forms: `paper` (off for the first 15% of epochs, then 8 epochs on / 2 off, off for "
        "the last 10%), `always` on",
    )
    train_size: int = Field(
        5000, ge=10, le=TRAIN_IMAGES, description="class-balanced training subset (train_size/10 per class), per seed"
    )
    epochs: int = Field(
        15, ge=1, description="passes over the subset (the pilot: 40; 15 keeps the default run within its budget)"
    )
    batch_size: int = Field(128, ge=1, description="minibatch size (the official mixup code: 128)")
    lr: float = Field(0.05, gt=0, description="peak learning rate of the one-cycle schedule (SGD)")
    warmup: float = Field(0.15, gt=0, lt=1, description="fraction of steps of the one-cycle warm-up")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum (constant)")
    weight_decay: float = Field(1e-4, ge=0, description="SGD weight decay (the official mixup code: 1e-4)")
    arch: Literal["small_cnn", "preact_resnet18"] = Field(
        "small_cnn",
        description="`small_cnn`: conv3×3(w)–pool–conv3×3(2w)–pool–fc256–fc10; `preact_resnet18`: the official mixup "
        "code's network (PreAct ResNet-18, kuangliu/pytorch-cifar), for CIFAR-10",
    )
    width: int = Field(
        32, ge=1, description="`small_cnn`: filters of the first conv layer (the second has twice as many)"
    )
    lr_schedule: Literal["onecycle", "step"] = Field(
        "onecycle",
        description="`onecycle`: warm-up to `lr`, cosine down; `step`: `lr`, ÷10 at 50% and 75% of the epochs (the "
        "official recipe: 100 and 150 of 200)",
    )
    crop_flip: bool = Field(
        False, description="random crop (zero padding 4) and horizontal flip, drawn in the plan (CIFAR-10's recipe)"
    )
    pairs: int = Field(
        2000,
        ge=40,
        le=10_000,
        description="fixed test pairs (y_a ≠ y_b) of the linearity metrics; a quarter as many same-class pairs",
    )

    @model_validator(mode="after")
    def _consistent(self):
        if self.batch_size > self.train_size:
            raise ValueError(f"batch_size: {self.batch_size} is more than the {self.train_size} training images")
        if self.train_size % 10:
            raise ValueError(f"train_size: {self.train_size} is not a multiple of the 10 classes")
        return self


# Each method's pins (the variant `<dataset>.<method>` pins these over the config).
METHODS = {
    "erm": {"mixing": "none"},
    "mixup": {"mixing": "mixup", "alpha": 1.0},
    "mixup_a0.2": {"mixing": "mixup", "alpha": 0.2},
    "samplepairing": {"mixing": "samplepairing", "schedule": "paper"},
    "samplepairing_on": {"mixing": "samplepairing", "schedule": "always"},
    "samplepairing_sym": {"mixing": "samplepairing_sym", "schedule": "always"},
    "mix_half_soft": {"mixing": "half_soft", "schedule": "always"},
}

# The official mixup recipe for CIFAR-10 (facebookresearch/mixup-cifar10 train.py): PreAct ResNet-18, SGD 0.1,
# momentum 0.9, weight decay 1e-4, batch 128, 200 epochs, ÷10 at 100 and 150, crop + flip, all 50,000 images.
CIFAR_RECIPE = dict(
    arch="preact_resnet18",
    lr=0.1,
    momentum=0.9,
    weight_decay=1e-4,
    batch_size=128,
    epochs=200,
    lr_schedule="step",
    crop_flip=True,
    train_size=50_000,
)


def check_run(variant: str, cfg: MixupConfig, artefacts: dict) -> None:
    """Before any job: the subset fits in the variant's dataset."""
    dataset = family(variant)
    if cfg.train_size > DATASET_IMAGES[dataset]:
        raise ValueError(f"train_size: {cfg.train_size} is more than the {DATASET_IMAGES[dataset]} {dataset} images")
