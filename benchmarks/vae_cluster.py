"""Training throughput of the vae_cluster pipeline's loop next to a bare PyTorch loop, side by side, in one run.

    python benchmarks/vae_cluster.py [--data results/data/mnist.npz] [--arch mlp] [--epochs 3] [--rounds 2]

Both loops train the same model (the one-step ClusterVAE, the default config's or --arch/--width) with the same
batch on the same device tensor; the bare loop has no logging, no history and no checkpoints. They alternate
(bare, kx, bare, kx, ...) so drifts in machine load hit both; each row is the median over rounds of the mean
seconds per epoch. Without --data, random images stand in for MNIST (throughput does not depend on content).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from side_by_side import BARE, ENGINE, print_table

from kx_tasks.vae_cluster.config import VaeClusterConfig
from kx_tasks.vae_cluster.model import ClusterVAE
from kx_tasks.vae_cluster.steps import images_to_tensor, train_model


def bare_loop(model, x: torch.Tensor, epochs: int, batch_size: int, lr: float) -> float:
    """The textbook loop; returns seconds per epoch."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(x)
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n, device=x.device)
        for i in range(0, n, batch_size):
            xb = x[perm[i : i + batch_size]]
            eps = torch.randn(len(xb), model.cfg.latent_dim, device=x.device)
            loss = sum(t.mean() for t in model.loss_terms(xb, eps).values())
            opt.zero_grad()
            loss.backward()
            opt.step()
    sync(x.device)
    return (time.perf_counter() - start) / epochs


def kx_loop(model, x: torch.Tensor, epochs: int, batch_size: int, lr: float) -> float:
    """The engine (kx_tasks.core.engine.fit, through vae_cluster's train_model) with everything the pipeline does:
    progress lines, a finiteness check every step, JSON-lines history, a checkpoint per epoch with every RNG state."""
    with tempfile.TemporaryDirectory() as ckpt:
        start = time.perf_counter()
        train_model(
            model,
            x,
            epochs,
            batch_size,
            lr,
            seed=0,
            label="kx",
            checkpoint_dir=Path(ckpt),
            history_path=Path(ckpt) / "history.jsonl",
        )
        sync(x.device)
        return (time.perf_counter() - start) / epochs


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, help="a prepared mnist/fashion_mnist .npz (default: random images)")
    p.add_argument("--arch", default=VaeClusterConfig().arch)
    p.add_argument("--width", type=int, default=VaeClusterConfig().width)
    p.add_argument("--batch-size", type=int, default=VaeClusterConfig().batch_size)
    p.add_argument("--epochs", type=int, default=3, help="epochs per timed round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--train-size", type=int, default=60000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)  # the engine still formats its per-epoch lines; they are not shown
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cfg = VaeClusterConfig(arch=args.arch, width=args.width, batch_size=args.batch_size)
    if args.data:
        with np.load(args.data) as f:
            images = f["x_train"][: args.train_size]
    else:
        images = np.random.default_rng(0).integers(0, 256, (args.train_size, 28, 28), dtype=np.uint8)
    x = images_to_tensor(images, device)
    loops = {BARE: bare_loop, ENGINE: kx_loop}
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.rounds):
        for name, loop in loops.items():
            torch.manual_seed(0)
            model = ClusterVAE(cfg).to(device)
            times[name].append(loop(model, x, args.epochs, args.batch_size, cfg.lr))
    print(
        f"torch {torch.__version__}, {device}, {args.threads} thread(s); one-step ClusterVAE arch={cfg.arch} "
        f"width={cfg.width}, batch {cfg.batch_size}, {len(x)} images, {args.rounds} rounds x {args.epochs} epochs"
    )
    print_table(times, len(x))


if __name__ == "__main__":
    main()
