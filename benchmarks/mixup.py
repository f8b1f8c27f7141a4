"""Training throughput of the mixup task's loop next to a bare PyTorch loop on the same CNN, side by side, and the
share of a step spent building the mixed batch (the augmentation's cost).

    python benchmarks/mixup.py [--data results/data/fashion_mnist.npz] [--epochs 3] [--rounds 3]

Both loops train SmallCNN with SGD + one-cycle on 5,000 images with mixup (α = 1, one λ per batch) from the same
plan; the bare loop indexes and blends the batch inline and has no logging, history or checkpoints. They alternate
(bare, kx, bare, kx, ...) so drifts in machine load hit both; each row is the median over rounds of the mean seconds
per epoch. Without --data, random images stand in (throughput does not depend on content).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from side_by_side import BARE, ENGINE, print_table

from kx_tasks.mixup.config import METHODS, MixupConfig
from kx_tasks.mixup.model import SmallCNN, mixed_loss
from kx_tasks.mixup.plan import batch_slices, make_plan
from kx_tasks.mixup.steps import train_model


def bare_loop(model, x, y, plan, cfg: MixupConfig) -> float:
    """The textbook loop over the same plan; returns seconds per epoch."""
    slices = batch_slices(len(x), cfg.batch_size)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.epochs * len(slices), pct_start=cfg.warmup, cycle_momentum=False
    )
    start = time.perf_counter()
    for e in range(cfg.epochs):
        for sl in slices:
            ia, ib = plan["order"][e, sl], plan["partner"][e, sl]
            lam = plan["lam_x"][e, sl]
            xm = lam[:, None, None, None] * x[ia] + (1 - lam[:, None, None, None]) * x[ib]
            loss = mixed_loss(model(xm), y[ia], y[ib], plan["lam_y"][e, sl]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return (time.perf_counter() - start) / cfg.epochs


def kx_loop(model, x, y, plan, cfg: MixupConfig) -> tuple[float, float]:
    """The task's own train_model (the shared engine) with everything the pipeline does: progress, finiteness
    checks, history, a checkpoint per epoch; returns (seconds per epoch, augmentation share of a step)."""
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        _, _, share = train_model(model, x, y, plan, cfg, Path(d) / "ckpt", Path(d), "bench")
        return (time.perf_counter() - start) / cfg.epochs, share


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, help="a prepared fashion_mnist/mnist .npz (default: random images)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per timed round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    cfg = MixupConfig(**METHODS["mixup"], epochs=args.epochs)
    if args.data:
        with np.load(args.data) as f:
            images, labels = f["x_train"][: cfg.train_size], f["y_train"][: cfg.train_size]
    else:
        rng = np.random.default_rng(0)
        images, labels = (
            rng.integers(0, 256, (cfg.train_size, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, cfg.train_size),
        )
    x = (torch.as_tensor(images, dtype=torch.float32).unsqueeze(1) / 255.0 - 0.3) / 0.35
    y = torch.as_tensor(labels.astype(np.int64))
    plan = {k: torch.as_tensor(v) for k, v in make_plan(cfg, len(x), 0).items()}
    times: dict[str, list[float]] = {BARE: [], ENGINE: []}
    shares = []
    for _ in range(args.rounds):
        torch.manual_seed(0)
        times[BARE].append(bare_loop(SmallCNN(cfg.width), x, y, plan, cfg))
        torch.manual_seed(0)
        seconds, share = kx_loop(SmallCNN(cfg.width), x, y, plan, cfg)
        times[ENGINE].append(seconds)
        shares.append(share)
    print(
        f"torch {torch.__version__}, cpu, {args.threads} thread(s); SmallCNN width {cfg.width}, mixup α=1 per batch, "
        f"batch {cfg.batch_size}, {len(x)} images, {args.rounds} rounds x {args.epochs} epochs"
    )
    print_table(times, len(x))
    print(f"augmentation (index + blend) share of a training step: {statistics.median(shares):.2%} (target: ≤ 5%)")


if __name__ == "__main__":
    main()
