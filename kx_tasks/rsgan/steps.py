"""One GAN training loop for every setting, on the shared engine: the task's step (1 D step, then `g_steps` G steps,
two Adam optimisers) and the engine's resume, progress, non-finite stop and evaluation callbacks.

All draws (real batches, noise) come from one seeded generator handed to the engine, so the twins of a setting
(same seed) share initial weights and, step for step, the same noise and real indices until their losses make the
parameters differ; RSGAN/RaSGAN's G step draws one extra real batch (the relativistic term), which shifts their stream
after the first G step and costs one more D forward-backward: `seconds` counts it (training wall time, evaluation
excluded, the engine's clock), so curves against seconds compare the losses at equal compute.

bojone's scripts and PacGAN draw real batches by shuffled passes over the data; kx draws them with replacement
(uniform indices), which keeps an iteration independent of any epoch boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from kx_tasks.core.engine import Loop, fit
from kx_tasks.rsgan import grid
from kx_tasks.rsgan.config import RsganConfig
from kx_tasks.rsgan.losses import d_loss, g_loss, needs_real
from kx_tasks.rsgan.model import NOISE_SEED, generate
from kx_tasks.shared import classifier, frechet


@dataclass(frozen=True)
class Schedule:
    loss: str
    g_steps: int
    iterations: int
    batch_size: int
    z_dim: int
    eval_every: int


def adam(model: torch.nn.Module, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam with the fused kernel (CPU and CUDA): the same update, one kernel for all parameters, ~13% faster per
    iteration on the small grid nets here (no change on the conv nets)."""
    return torch.optim.Adam(model.parameters(), lr=lr, betas=betas, fused=True)


def make_step(
    G: torch.nn.Module,
    D: torch.nn.Module,
    real_batch: Callable[[int, torch.Generator], torch.Tensor],
    s: Schedule,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    gen: torch.Generator,
):
    """One iteration (what the engine calls, and what the interleaved timing times): 1 D step, then g_steps G steps;
    RSGAN/RaSGAN's G step also passes a real batch through D."""
    device = next(G.parameters()).device
    g_params = list(G.parameters())

    def noise() -> torch.Tensor:
        return torch.randn(s.batch_size, s.z_dim, generator=gen, device=device)

    def step(_=None, loop: Loop | None = None) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            fake = G(noise())
        d = d_loss(s.loss, D(real_batch(s.batch_size, gen)), D(fake))
        opt_d.zero_grad(set_to_none=True)
        d.mean().backward()
        opt_d.step()
        D.requires_grad_(False)  # G's steps need no gradient of D's weights
        for _ in range(s.g_steps):
            real = D(real_batch(s.batch_size, gen)) if needs_real(s.loss) else None
            g = g_loss(s.loss, real, D(G(noise())))
            opt_g.zero_grad(set_to_none=True)
            g.mean().backward()
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in g_params]))
            opt_g.step()
        D.requires_grad_(True)
        return {
            "d_loss": d.detach(),
            "g_loss": g.detach(),
            "g_grad_norm": norm.detach(),
            "g_grad_norm_sq": norm.detach() ** 2,
        }

    return step


def step_cost_vs_sgan(nets: Callable[[], tuple], real_batch, s: Schedule, lr: float, betas, seed: int) -> float:
    """The seconds of one iteration under s.loss ÷ one under SGAN's loss, with the same nets (`nets()` builds a
    fresh pair), schedule and draws, timed interleaved in this process (kx_tasks.core.timing)."""
    from kx_tasks.core.timing import interleaved_ratio

    timed = []
    for loss in (s.loss, "sgan"):
        torch.manual_seed(seed)
        G, D = nets()
        device = next(G.parameters()).device
        gen = torch.Generator(device).manual_seed(seed)
        step = make_step(G, D, real_batch, replace(s, loss=loss), adam(G, lr, betas), adam(D, lr, betas), gen)
        timed.append(step)
    return interleaved_ratio(*timed, device=device)


def train_gan(
    G: torch.nn.Module,
    D: torch.nn.Module,
    real_batch: Callable[[int, torch.Generator], torch.Tensor],
    schedule: Schedule,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    gen: torch.Generator,
    evaluate: Callable[[Loop], dict[str, float]],
    checkpoint_dir: Path,
    out_dir: Path,
    label: str,
    config: dict,
):
    """Train for schedule.iterations; `evaluate(loop)` runs every eval_every iterations and its rows (with the
    engine's `step` and `seconds`, the training time so far) go to out_dir/evals.jsonl. Returns the TrainLog."""
    s = schedule
    step = make_step(G, D, real_batch, s, opt_g, opt_d, gen)

    def batches(epoch: int):
        for _ in range(s.eval_every):
            yield None

    if s.iterations % s.eval_every:
        raise ValueError(f"iterations: {s.iterations} is not a multiple of eval_every ({s.eval_every})")
    return fit(
        step,
        batches,
        epochs=s.iterations // s.eval_every,
        steps_per_epoch=s.eval_every,
        models={"G": G, "D": D},
        optimizers={"G": opt_g, "D": opt_d},
        generators={"data": gen},
        checkpoint_dir=checkpoint_dir,
        label=label,
        samples_per_epoch=s.eval_every,
        unit="iterations",
        total=None,
        history_path=out_dir / "history.jsonl",
        evaluate=evaluate,
        eval_every=s.eval_every,
        evals_path=out_dir / "evals.jsonl",
        config=config,
        check_every=s.eval_every,
    )


def grid_checkpoint(G, cfg: RsganConfig, device):
    """The grid's evaluation: mode coverage, and G's samples at fixed noise kept with the loop (in every checkpoint,
    so a resumed run still has the snapshots of its first attempt)."""
    fixed = torch.Generator(device).manual_seed(NOISE_SEED)
    z_fixed = torch.randn(grid.PACGAN_SAMPLES, 2, generator=fixed, device=device)

    def sample(n: int) -> torch.Tensor:
        return G(torch.randn(n, 2, device=device))  # the engine forks the global RNG around evaluations

    @torch.no_grad()
    def evaluate(loop: Loop) -> dict[str, float]:
        G.eval()
        loop.kept[f"step{loop.step}"] = G(z_fixed).cpu()
        return grid.coverage(sample, cfg.grid_draws)

    return evaluate


def image_checkpoint(G, net, real_features: np.ndarray, n: int, z_dim: int, device):
    real_stats = frechet.gaussian(real_features)

    def evaluate(loop: Loop) -> dict[str, float]:
        feats = classifier.features(net, generate(G, n, z_dim, device))
        return {"fd": frechet.distance(*frechet.gaussian(feats), *real_stats)}

    return evaluate
