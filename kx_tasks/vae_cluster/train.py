"""The training loop shared by both models: minibatch Adam over a tensor already on the device.

No DataLoader and no per-step host work: the data sit on the device as one float tensor, a batch is an index
into it, and per-step loss terms are summed on the device and read once per epoch. benchmarks/vae_cluster.py
holds this loop to within 10% of a bare PyTorch loop with the same model and batch.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from kx_tasks import checkpoints
from kx_tasks.progress import Progress

log = logging.getLogger("kx")


def images_to_tensor(images, device) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1] on `device`."""
    return torch.as_tensor(images).to(device=device, dtype=torch.float32).div_(255.0).unsqueeze(1)


def fit(
    model: torch.nn.Module,
    x: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    label: str,
    checkpoint_dir: Path | None = None,
) -> list[dict[str, float]]:
    """Train `model` (anything with loss_terms(x, eps) -> {name: (B,)}) on `x`; returns per-epoch history.

    Shuffling and the reparameterisation noise come from one generator seeded with `seed`, so a run is
    repeatable; with `checkpoint_dir` the state is saved each epoch and a rerun resumes where it stopped.
    """
    device = x.device
    gen = torch.Generator(device=device).manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history: list[dict[str, float]] = []
    start_epoch = 0
    if checkpoint_dir is not None and (state := checkpoints.load_latest(checkpoint_dir, map_location=device)):
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"].cpu())  # a generator's state is a CPU byte tensor, CUDA's too
        history = state["history"]
        start_epoch = state["step"]
        log.info("%s: resumed from epoch %d", label, start_epoch)
    n = len(x)
    steps = (n + batch_size - 1) // batch_size
    progress = Progress(epochs, f"{label} epoch", unit="epoch", every_s=0.0, log=log, done=start_epoch)
    model.train()
    for epoch in range(start_epoch, epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen, device=device)
        sums: dict[str, torch.Tensor] = {}
        for i in range(steps):
            xb = x[perm[i * batch_size : (i + 1) * batch_size]]
            eps = torch.randn(len(xb), model.cfg.latent_dim, generator=gen, device=device)
            terms = model.loss_terms(xb, eps)
            loss = sum(t.mean() for t in terms.values())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for k, t in terms.items():
                    sums[k] = sums.get(k, 0.0) + t.sum()
        wall = time.perf_counter() - t0
        row = {k: float(v) / n for k, v in sums.items()}
        row["loss"] = sum(row.values())
        row.update(epoch=epoch + 1, seconds=wall, images_per_s=n / wall)
        history.append(row)
        terms_text = " ".join(f"{k} {row[k]:.3f}" for k in sums)
        progress.update(1, note=f"loss {row['loss']:.3f} ({terms_text}), {row['images_per_s']:.0f} images/s")
        if checkpoint_dir is not None:
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state()}
            checkpoints.save({**state, "history": history}, checkpoint_dir, epoch + 1)
    model.eval()
    return history
