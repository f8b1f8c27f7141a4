"""Stages of the `mixup` task: augment (the seeded plan), train (steps.py on the shared engine), evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from kx_tasks.core import short_run
from kx_tasks.core.checkpoints import load_weights
from kx_tasks.core.data import load
from kx_tasks.core.io import write_json
from kx_tasks.core.settings import Run
from kx_tasks.mixup import figures, steps
from kx_tasks.mixup.config import MixupConfig
from kx_tasks.mixup.metrics import between_samples, ece, fixed_pairs, logits_of
from kx_tasks.mixup.model import make_model
from kx_tasks.mixup.plan import make_plan, subset_indices


def as_images(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) grey images -> (N, 1, 28, 28); (N, 3, 32, 32) colour images as they are."""
    return images[:, None] if images.ndim == 3 else images


def channel_stats(images: np.ndarray) -> dict[str, list[float]]:
    """Per-channel mean and std of the training subset in [0, 1] (CIFAR's usual normalisation; one channel: the
    subset's pixel mean and std)."""
    x = as_images(images).astype(np.float64) / 255.0
    return {"mean": x.mean(axis=(0, 2, 3)).tolist(), "std": x.std(axis=(0, 2, 3)).tolist()}


def standardise(images: np.ndarray, mean, std, device) -> torch.Tensor:
    """uint8 images -> float32 (N, C, H, W), standardised per channel (`mean`, `std`: a number or one per channel)."""
    x = torch.as_tensor(as_images(images)).to(device=device, dtype=torch.float32).div_(255.0)
    shape = (1, -1, 1, 1)
    return (x - torch.as_tensor(mean, dtype=torch.float32, device=device).reshape(shape)) / torch.as_tensor(
        std, dtype=torch.float32, device=device
    ).reshape(shape)


def augment(run: Run, inputs: dict[str, Path], out_dir: Path) -> None:
    cfg: MixupConfig = run.params
    data = load(inputs[run.family])
    subset = subset_indices(data["y_train"], cfg.train_size, run.seed)
    plan = make_plan(cfg, len(subset), run.seed)
    np.savez_compressed(out_dir / "plan.npz", subset=subset, **plan)
    figures.plot_examples(data["x_train"][subset], data["y_train"][subset], plan, cfg, run, out_dir / "examples.png")


def read_plan(augment_dir: Path, device) -> dict[str, torch.Tensor]:
    with np.load(augment_dir / "plan.npz", allow_pickle=False) as f:
        return {k: torch.as_tensor(f[k]).to(device) for k in f.files}


def train(run: Run, inputs: dict[str, Path], out_dir: Path) -> None:
    cfg: MixupConfig = run.params
    device = run.torch_device
    data = load(inputs[run.family])
    plan = read_plan(inputs["augment"], device)
    subset = plan["subset"].cpu().numpy()
    norm = channel_stats(data["x_train"][subset])
    x = standardise(data["x_train"][subset], norm["mean"], norm["std"], device)
    y = torch.as_tensor(data["y_train"][subset].astype(np.int64), device=device)
    torch.manual_seed(run.seed)  # the same initial weights for every variant of a seed
    model = make_model(cfg.arch, cfg.width, x.shape[1]).to(device)
    model, log, share = steps.train_model(model, x, y, plan, cfg, inputs["checkpoints"], out_dir, run.variant)
    torch.save(model.state_dict(), out_dir / "model.pt")
    write_json(out_dir / "normalisation.json", norm)
    write_json(out_dir / "augment_share.json", {"timing.augment_share": share})


def evaluate(run: Run, inputs: dict[str, Path], out_dir: Path) -> dict[str, float]:
    cfg: MixupConfig = run.params
    device = run.torch_device
    data = load(inputs[run.family])
    norm = json.loads((inputs["train"] / "normalisation.json").read_text())
    x_test = standardise(data["x_test"], norm["mean"], norm["std"], device)
    model = make_model(cfg.arch, cfg.width, x_test.shape[1]).to(device)
    load_weights(model, inputs["train"] / "model.pt", device)
    model.eval()
    y_test = torch.as_tensor(data["y_test"].astype(np.int64), device=device)
    subset = np.load(inputs["augment"] / "plan.npz")["subset"]
    subset = subset[: short_run.share_of(len(subset), "clean training pass")]  # all of it outside a shake-down
    x_train = standardise(data["x_train"][subset], norm["mean"], norm["std"], device)
    y_train = torch.as_tensor(data["y_train"][subset].astype(np.int64), device=device)

    logits = logits_of(model, x_test).double()
    probs = torch.softmax(logits, dim=1)
    test_acc = float((logits.argmax(1) == y_test).double().mean())
    train_acc = float((logits_of(model, x_train).argmax(1) == y_train).double().mean())
    metrics = {
        "test_acc": test_acc,
        "test_nll": float(torch.nn.functional.cross_entropy(logits, y_test)),
        "ece": ece(probs.cpu(), y_test.cpu()),
        "train_acc_clean": train_acc,
        "gen_gap": train_acc - test_acc,
    }
    pairs = short_run.share_of(cfg.pairs, "test pairs")
    a, b = (torch.as_tensor(i, device=device) for i in fixed_pairs(data["y_test"], pairs))
    metrics.update(between_samples(model, x_test[a], x_test[b], y_test[a], y_test[b]))
    a, b = (torch.as_tensor(i, device=device) for i in fixed_pairs(data["y_test"], max(pairs // 4, 1), same_class=True))
    same = between_samples(model, x_test[a], x_test[b], y_test[a], y_test[b])
    metrics["same_class.lin_gap_rel"] = same["lin_gap_rel"]
    metrics.update(json.loads((inputs["train"] / "augment_share.json").read_text()))
    figures.plot_line(model, x_test, data["y_test"], run, out_dir / "line.png")
    return metrics
