"""The rsgan task's GAN loop (kx_tasks.rsgan.steps.train_gan on the shared engine) next to a bare PyTorch loop on the
same nets, side by side, for SGAN and RSGAN: seconds per iteration, and RSGAN's extra cost (the real batch its G step
evaluates D on) in both loops.

    python benchmarks/rsgan.py [--setting mnist|grid] [--iterations 100] [--rounds 3]

Both loops run bojone's schedule on the default MNIST twins (1 D step : 2 G steps, batch 64, Adam 2e-4 (0.5, 0.999),
spectral norm in D) or the grid nets (1 : 1, batch 100). The bare loop is the textbook one (pytorch/examples' DCGAN:
D on a detached fake, then G; no logging, checkpoints, RNG bookkeeping, gradient-norm diagnostic or finiteness
checks), once as written and once with D's weights frozen during G's steps (what kx's step does: G's update needs
no gradient of D's weights; the saving is largest for RSGAN, whose G step runs D twice); the kx loop is the task's
own, with an evaluation callback that does nothing (the FD checkpoints are evaluation, not training). Rounds alternate
(bare, frozen, kx, bare, ...) so drifts in machine load hit all three; random data stand in for the images
(throughput does not depend on content).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from side_by_side import BARE, ENGINE, print_table

from kx_tasks.rsgan import model, steps
from kx_tasks.rsgan.config import RsganConfig
from kx_tasks.rsgan.losses import d_loss, g_loss, needs_real

FROZEN = "bare, D frozen in G steps"


def make(setting: str, cfg: RsganConfig):
    torch.manual_seed(0)
    if setting == "grid":
        return model.grid_generator(cfg.grid_width), model.grid_discriminator(cfg.grid_d_width, cfg.grid_pieces), 2
    return model.mnist_generator(cfg.z_dim, cfg.width), model.mnist_discriminator(cfg.width, True), cfg.z_dim


def bare_loop(
    G, D, x, loss: str, g_steps: int, batch: int, z_dim: int, iterations: int, lr, betas, freeze: bool = False
) -> float:
    opt_g, opt_d = steps.adam(G, lr, betas), steps.adam(D, lr, betas)
    start = time.perf_counter()
    for _ in range(iterations):
        fake = G(torch.randn(batch, z_dim)).detach()
        d = d_loss(loss, D(x[torch.randint(0, len(x), (batch,))]), D(fake)).mean()
        opt_d.zero_grad()
        d.backward()
        opt_d.step()
        D.requires_grad_(not freeze)
        for _ in range(g_steps):
            real = D(x[torch.randint(0, len(x), (batch,))]) if needs_real(loss) else None
            g = g_loss(loss, real, D(G(torch.randn(batch, z_dim)))).mean()
            opt_g.zero_grad()
            g.backward()
            opt_g.step()
        D.requires_grad_(True)
    return (time.perf_counter() - start) / iterations


def kx_loop(G, D, x, loss: str, g_steps: int, batch: int, z_dim: int, iterations: int, lr, betas) -> float:
    opt_g, opt_d = steps.adam(G, lr, betas), steps.adam(D, lr, betas)
    schedule = steps.Schedule(loss, g_steps, iterations, batch, z_dim, iterations // 2)
    gen = torch.Generator().manual_seed(0)

    def real(n, g):
        return x[torch.randint(0, len(x), (n,), generator=g)]

    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        ckpt = Path(d) / "ckpt"
        steps.train_gan(G, D, real, schedule, opt_g, opt_d, gen, lambda loop: {}, ckpt, Path(d), "bench", {})
        return (time.perf_counter() - start) / iterations


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--setting", choices=("mnist", "grid"), default="mnist")
    p.add_argument("--iterations", type=int, default=100, help="iterations per timed round (even)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    cfg = RsganConfig()
    if args.setting == "grid":
        x, batch, g_steps, lr, betas = (
            torch.randn(100_000, 2),
            cfg.grid_batch_size,
            1,
            cfg.grid_lr,
            (cfg.grid_beta1, 0.999),
        )
    else:
        x, batch, g_steps, lr, betas = (
            torch.rand(60_000, 1, 28, 28) * 2 - 1,
            cfg.batch_size,
            2,
            cfg.lr,
            (cfg.beta1, cfg.beta2),
        )
    print(
        f"torch {torch.__version__}, cpu, {args.threads} thread(s); {args.setting} nets, 1 D : {g_steps} G, batch "
        f"{batch}, {args.rounds} rounds x {args.iterations} iterations"
    )
    for loss in ("sgan", "rsgan"):
        loops = {BARE: bare_loop, FROZEN: partial(bare_loop, freeze=True), ENGINE: kx_loop}
        times: dict[str, list[float]] = {name: [] for name in loops}
        for _ in range(args.rounds):
            for name, loop in loops.items():
                G, D, z_dim = make(args.setting, cfg)
                times[name].append(loop(G, D, x, loss, g_steps, batch, z_dim, args.iterations, lr, betas))
        print(f"\n{loss}:")
        print_table(times, 1, unit="iterations", per="iteration")
        same = statistics.median(times[ENGINE]) / statistics.median(times[FROZEN]) - 1
        print(f"engine overhead against the bare loop doing the same computation (D frozen): {same:+.1%}")


if __name__ == "__main__":
    main()
