"""The feature classifier of a dataset: a small CNN trained once in the pipeline (an artefact, shared by every task
that measures sample quality by a Fréchet distance: rsgan, fvae), its test accuracy checked against a floor, and the
real-data features and floors that every Fréchet distance of that dataset is measured against.

Network (the reference protocol's LeNet-type net): conv3×3(32)–ReLU–pool–conv3×3(64)–ReLU–pool–fc128–ReLU–fc10; the
128-d post-ReLU penultimate layer is the feature. Inputs are images in [0, 1], standardised per channel inside the
network, so a caller hands raw [0, 1] pixels (generated images clamped to that range).

The artefact's folder holds `model.pt` (the state dict), `classifier.json` (dataset, test accuracy, channels, floors)
and `real_features.npz` (features of 10,000 training images and 10,000 test images, float32): the generated samples of
a run are compared with the training images' features; `fd_floor` is FD(10k train vs 10k test), `fd_floor_5k` the
same at 5,000 vs 5,000 (the first 5,000 reference training images, what checkpoints compare with, vs every other test
image), i.e. the distance a generator of fresh data would still show.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from kx_tasks.core import short_run
from kx_tasks.core.checkpoints import load_weights
from kx_tasks.core.data import load
from kx_tasks.core.engine import Loop, fit
from kx_tasks.core.io import write_json
from kx_tasks.shared import frechet
from kx_tasks.shared.artefacts import MIN_ACCURACY, ClassifierParams

log = logging.getLogger("kx")

REAL = 10_000  # real images per side of the floors and the reference features


class FeatureNet(nn.Module):
    """conv3×3(32)–pool–conv3×3(64)–pool–fc128–fc10 on standardised [0, 1] images; `features` is the fc128 output."""

    def __init__(self, channels: int, size: int, mean: list[float], std: list[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * (size // 4) ** 2, 128),
            nn.ReLU(),
        )
        self.head = nn.Linear(128, 10)

    def features(self, x01: torch.Tensor) -> torch.Tensor:
        return self.body((x01 - self.mean) / self.std)

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x01))


def as_unit(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W) or (N, C, H, W) -> float32 (N, C, H, W) in [0, 1]."""
    x = torch.as_tensor(images[:, None] if images.ndim == 3 else images)
    return x.float().div_(255.0)


def build(dataset: str):
    """The artefact build function for `dataset` (called like a stage: build(run, inputs, out_dir))."""

    def build_classifier(run, inputs: dict[str, Path], out_dir: Path) -> None:
        cfg: ClassifierParams = run.params
        device = run.torch_device
        data = load(inputs[dataset])
        x_train, y_train = as_unit(data["x_train"]), torch.as_tensor(data["y_train"].astype(np.int64))
        mean = x_train.mean(dim=(0, 2, 3)).tolist()
        std = x_train.std(dim=(0, 2, 3)).tolist()
        x_fit, y_fit = x_train[: cfg.train_size], y_train[: cfg.train_size]
        x_test, y_test = as_unit(data["x_test"]), torch.as_tensor(data["y_test"].astype(np.int64))
        torch.manual_seed(run.seed)
        net = FeatureNet(x_train.shape[1], x_train.shape[-1], mean, std).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        gen = torch.Generator().manual_seed(run.seed)
        steps = (len(x_fit) + cfg.batch_size - 1) // cfg.batch_size

        def batches(epoch: int):
            order = torch.randperm(len(x_fit), generator=gen)
            for i in range(steps):
                idx = order[i * cfg.batch_size : (i + 1) * cfg.batch_size]
                yield x_fit[idx].to(device), y_fit[idx].to(device)

        def step(batch, loop: Loop) -> dict[str, torch.Tensor]:
            x, y = batch
            loss = nn.functional.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return {"ce": loss.detach()}

        trained = fit(
            step,
            batches,
            epochs=cfg.epochs,
            steps_per_epoch=steps,
            models={"net": net},
            optimizers={"adam": opt},
            generators={"data": gen},
            checkpoint_dir=inputs["checkpoints"] / "classifier",
            label=f"{dataset} classifier",
            samples_per_epoch=len(x_fit),
            unit="images",
            total=None,
            history_path=out_dir / "history.jsonl",
            config=cfg.model_dump(mode="json"),
            check_every=50,
        )
        seconds = trained.loop.seconds
        test_acc = float((predict(net, x_test).argmax(1) == y_test).double().mean())
        floor = cfg.min_accuracy or MIN_ACCURACY[dataset]
        short_run.quality_gate(
            test_acc >= floor,
            f"{dataset} classifier: test accuracy {test_acc:.4f} is below {floor}; its features would not "
            "measure sample quality (raise artefacts.<name>.params.epochs)",
        )
        pick = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(12345))[:REAL]
        train_f = features(net, x_train[pick])
        test_f = features(net, x_test[:REAL])
        np.savez_compressed(
            out_dir / "real_features.npz",
            train=train_f.astype(np.float32),
            test=test_f.astype(np.float32),
            train_index=pick.numpy(),
        )
        torch.save(net.state_dict(), out_dir / "model.pt")
        half = REAL // 2
        write_json(
            out_dir / "classifier.json",
            {
                "dataset": dataset,
                "channels": x_train.shape[1],
                "size": x_train.shape[-1],
                "mean": mean,
                "std": std,
                "test_acc": test_acc,
                "min_accuracy": floor,
                "fd_floor": frechet.between(train_f, test_f),
                # every other test image: MNIST's first 5,000 test images are the cleaner half (its README)
                "fd_floor_5k": frechet.between(train_f[:half], test_f[::2][:half]),
                "train_seconds": seconds,
                "epochs": cfg.epochs,
                "train_images": len(x_fit),
            },
        )
        log.info("%s classifier: test accuracy %.4f in %.0f s", dataset, test_acc, seconds)

    return build_classifier


@torch.no_grad()
def predict(net: FeatureNet, x01: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    device = next(net.parameters()).device
    return torch.cat([net(x01[i : i + batch].to(device)).cpu() for i in range(0, len(x01), batch)])


@torch.no_grad()
def features(net: FeatureNet, x01: torch.Tensor, batch: int = 1000) -> np.ndarray:
    """(N, 128) float64 features of [0, 1] images."""
    device = next(net.parameters()).device
    parts = [net.features(x01[i : i + batch].to(device)).double().cpu() for i in range(0, len(x01), batch)]
    return torch.cat(parts).numpy()


def load_classifier(folder: Path, device) -> tuple[FeatureNet, dict, np.ndarray]:
    """The trained net (eval mode), its facts, and the features of the 10,000 reference training images."""
    facts = json.loads((folder / "classifier.json").read_text())
    net = FeatureNet(facts["channels"], facts["size"], facts["mean"], facts["std"]).to(device)
    load_weights(net, folder / "model.pt", device)
    net.eval()
    with np.load(folder / "real_features.npz", allow_pickle=False) as f:
        real = f["train"].astype(np.float64)
    return net, facts, real


build_mnist = build("mnist")
build_fashion_mnist = build("fashion_mnist")
build_cifar10 = build("cifar10")
