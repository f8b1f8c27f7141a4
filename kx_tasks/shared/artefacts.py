"""The artefacts of the shared science, declared (what `kx list` and the Snakemake DAG read, importing no torch): the
feature classifier of each dataset with its parameters. The build code is in kx_tasks.shared.classifier."""

from __future__ import annotations

from pydantic import Field, model_validator

from kx_tasks.core.data import IMAGES
from kx_tasks.core.params import Params
from kx_tasks.core.registry import Artefact, Resources

# Test accuracy below which the features are not trusted (the build fails): the reference protocol's floors.
MIN_ACCURACY = {"mnist": 0.985, "fashion_mnist": 0.89, "cifar10": 0.65}


class ClassifierParams(Params):
    epochs: int = Field(3, ge=1, description="passes over the full training set (Adam, batch 128)")
    lr: float = Field(2e-3, gt=0, description="Adam learning rate")
    batch_size: int = Field(128, ge=1, description="minibatch size")
    train_size: int | None = Field(
        None, ge=100, description="train on the first N training images only (empty: all; a smoke run's shortcut)"
    )
    min_accuracy: float | None = Field(
        None,
        gt=0,
        le=1,
        description="refuse features below this test accuracy (empty: mnist 0.985, fashion_mnist 0.89, cifar10 0.65)",
    )

    @model_validator(mode="after")
    def _consistent(self):
        if self.train_size is not None and self.batch_size > self.train_size:
            raise ValueError(f"batch_size: {self.batch_size} is more than the {self.train_size} train_size images")
        return self


def check(dataset: str, params: ClassifierParams) -> None:
    """Before any job: the training images asked for exist (Artefact.check)."""
    images = IMAGES[dataset][0]
    if params.train_size is not None and params.train_size > images:
        raise ValueError(f"train_size: {params.train_size} is more than the {images} {dataset} training images")
    if params.batch_size > images:
        raise ValueError(f"batch_size: {params.batch_size} is more than the {images} {dataset} training images")


def check_mnist(params: ClassifierParams) -> None:
    check("mnist", params)


def check_fashion_mnist(params: ClassifierParams) -> None:
    check("fashion_mnist", params)


def check_cifar10(params: ClassifierParams) -> None:
    check("cifar10", params)


def artefact(dataset: str) -> Artefact:
    return Artefact(
        name=f"{dataset}_classifier",
        summary=f"the {dataset} feature classifier of the Fréchet distance (test accuracy checked), built once",
        build=f"kx_tasks.shared.classifier:build_{dataset}",
        params=ClassifierParams,
        per_seed=False,
        datasets=(dataset,),
        check=f"kx_tasks.shared.artefacts:check_{dataset}",
        resources=Resources(threads=1, mem_mb=3000, runtime=30, gpu=True),
    )


MNIST = artefact("mnist")
FASHION_MNIST = artefact("fashion_mnist")
CIFAR10 = artefact("cifar10")
