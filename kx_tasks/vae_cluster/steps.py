"""What the engine calls to train both models of the task: minibatch Adam over a tensor already on the device.

No DataLoader and no per-step host work beyond the engine's finiteness flag: the data sit on the device as one
float tensor, a batch is an index into it, and shuffling and the reparameterisation noise come from one generator
seeded with the run's seed. benchmarks/vae_cluster.py holds this against a bare PyTorch loop.
"""

from __future__ import annotations

from pathlib import Path

import torch

from kx_tasks.core.engine import TrainLog, fit


def images_to_tensor(images, device) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1] on `device`."""
    return torch.as_tensor(images).to(device=device, dtype=torch.float32).div_(255.0).unsqueeze(1)


def train_model(
    model: torch.nn.Module,
    x: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    label: str,
    checkpoint_dir: Path | None = None,
    history_path: Path | None = None,
    adam_eps: float = 1e-8,
) -> TrainLog:
    """Train `model` (anything with loss_terms(x, eps) -> {name: (B,)} and cfg.latent_dim) on `x` (N, 1, 28, 28)
    with Adam; one epoch = one pass in a fresh random order. Keras' Adam (the author's) adds ε to sqrt(v̂)·sqrt(1 −
    β₂ᵗ) rather than to sqrt(v̂): the same update up to ε-sized terms."""
    device = x.device
    gen = torch.Generator(device=device).manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, eps=adam_eps)
    n = len(x)
    steps = (n + batch_size - 1) // batch_size

    def batches(epoch: int):
        perm = torch.randperm(n, generator=gen, device=device)
        for i in range(steps):
            yield x[perm[i * batch_size : (i + 1) * batch_size]]

    def step(xb: torch.Tensor, loop) -> dict[str, torch.Tensor]:
        eps = torch.randn(len(xb), model.cfg.latent_dim, generator=gen, device=device)
        terms = model.loss_terms(xb, eps)
        loss = sum(t.mean() for t in terms.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return terms

    return fit(
        step,
        batches,
        epochs=epochs,
        steps_per_epoch=steps,
        models={"model": model},
        optimizers={"adam": opt},
        generators={"data": gen},
        checkpoint_dir=checkpoint_dir,
        label=label,
        samples_per_epoch=n,
        unit="images",
        history_path=history_path,
        config=model.cfg.model_dump(mode="json"),
    )
