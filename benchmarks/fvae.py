"""The fvae task's training loop (kx_tasks.fvae.steps.train_model on the shared engine) next to a bare PyTorch loop
on the same model, side by side, for each model; and, with --calibrate, the step counts that give every model the same
training seconds on this machine (the `<model>_steps` parameters of the matched-time budget).

    python benchmarks/fvae.py [--models glow fvae vae_full vae_low] [--steps 60] [--rounds 3]
    python benchmarks/fvae.py --calibrate --budget 100

Both loops do the same computation per step: dequantise a uint8 batch drawn with replacement, draw u, the model's
loss, backward, a gradient-norm clip, one fused Adam step (the bare loop sets the warm-up learning rate too). The bare
loop has no checkpoints, progress, RNG bookkeeping, history or finiteness checks; the kx loop runs with an
evaluation callback that does nothing (the checkpoints' bits/dim and FD are evaluation, not training). Rounds
alternate (bare, kx, bare, ...) so drifts in machine load hit both; random images stand in for MNIST (throughput
does not depend on content).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import torch
from side_by_side import BARE, ENGINE, print_table

from kx_tasks.fvae import model as models
from kx_tasks.fvae.bits import dequantise, to_model_scale
from kx_tasks.fvae.config import MODELS, FvaeConfig
from kx_tasks.fvae.steps import train_model, warmup_factor


def make(cfg: FvaeConfig):
    torch.manual_seed(0)
    return models.build(cfg, (1, 28, 28), 0)


def bare_loop(model, images: torch.Tensor, cfg: FvaeConfig, steps: int) -> float:
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr, fused=True)
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = cfg.lr * warmup_factor(step, cfg.warmup_steps)
        batch = images[torch.randint(0, len(images), (cfg.batch_size,), generator=gen)]
        x, _ = to_model_scale(dequantise(batch, gen))
        loss = model.loss(x, torch.randn(len(x), *model.z_shape, generator=gen))["loss"].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.clip)
        opt.step()
    return (time.perf_counter() - start) / steps


def kx_loop(model, images: torch.Tensor, cfg: FvaeConfig, steps: int) -> float:
    cfg = cfg.model_copy(update={f"{cfg.model}_steps": steps, "marks": 2})
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        train_model(
            model, images, cfg, torch.Generator().manual_seed(0), lambda loop: {}, Path(d) / "ckpt", Path(d), "bench"
        )
        return (time.perf_counter() - start) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--steps", type=int, default=60, help="steps per timed round (even)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--calibrate", action="store_true", help="print <model>_steps for --budget seconds each")
    p.add_argument("--budget", type=float, default=100.0, help="training seconds per model (with --calibrate)")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    images = torch.randint(0, 256, (60_000, 1, 28, 28), dtype=torch.uint8)
    base = FvaeConfig()
    print(
        f"torch {torch.__version__}, cpu, {args.threads} thread(s); batch {base.batch_size}, {args.rounds} rounds x "
        f"{args.steps} steps; default sizes"
    )
    per_step = {}
    for name in args.models:
        cfg = base.model_copy(update={"model": name})
        loops = {ENGINE: kx_loop} if args.calibrate else {BARE: bare_loop, ENGINE: kx_loop}
        times: dict[str, list[float]] = {n: [] for n in loops}
        for _ in range(args.rounds):
            for n, run in loops.items():
                times[n].append(run(make(cfg), images, cfg, args.steps))
        per_step[name] = statistics.median(times[ENGINE])
        if not args.calibrate:
            print(f"\n{name} ({models.count_parameters(make(cfg))} parameters):")
            print_table(times, cfg.batch_size, unit="images", per="step")
    if args.calibrate:
        print(f"\nsteps for {args.budget:g} training seconds per model (multiples of marks = {base.marks}):")
        for name, s in per_step.items():
            steps = max(base.marks, round(args.budget / s / base.marks) * base.marks)
            print(f"  {name}_steps: {steps}    # {1000 * s:.0f} ms per step")


if __name__ == "__main__":
    main()
