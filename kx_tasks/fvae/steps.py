"""One training loop for the four models, on the shared engine: the task's step (dequantise a batch, one u draw,
the model's −ELBO or exact NLL, a gradient-norm clip, one fused Adam step) and the engine's linear learning-rate
warm-up (a schedule of the global step), resume, progress, non-finite stop and evaluation callbacks.

Every draw (batch indices, dequantisation noise, u) comes from one seeded generator handed to the engine, so the
models of a seed see the same image indices and dequantisation draws at a given step. Batches are drawn with
replacement (uniform indices); `epochs` counts images seen ÷ training-set size. The progress line prints the
training batch's bits/dim (`bpd`) from the first epoch, and `seconds` in each evaluation row is training wall time
(evaluation excluded).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch

from kx_tasks.core.engine import Loop, fit, step_schedule
from kx_tasks.fvae.bits import bits_per_dim, dequantise, to_model_scale


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Learning-rate multiplier at 0-based `step`: linear from 1/warmup to 1 over the warm-up, then 1."""
    return 1.0 if step >= warmup_steps else (step + 1) / warmup_steps


def adam(model: torch.nn.Module, cfg) -> torch.optim.Adam:
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, fused=True)


def make_step(model: torch.nn.Module, opt: torch.optim.Optimizer, cfg, gen: torch.Generator):
    """The training step (what the engine calls, and what the interleaved timing times): dequantise the uint8 batch,
    one u draw, the model's loss, a gradient-norm clip, one Adam step."""
    params = [p for p in model.parameters() if p.requires_grad]

    def step(batch: torch.Tensor, loop: Loop | None = None) -> dict[str, torch.Tensor]:
        x, log_jacobian = to_model_scale(dequantise(batch, gen))
        u = torch.randn(len(x), *model.z_shape, generator=gen, device=batch.device)
        loss = model.loss(x, u)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.mean().backward()
        norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip)
        opt.step()
        loss = loss.detach()
        return {
            "loss": loss,
            "bpd": bits_per_dim(-loss + log_jacobian, batch[0].numel()),
            "grad_norm": norm.detach(),
            "clipped": (norm > cfg.clip).float().detach(),
        }

    return step


def step_cost_vs_glow(cfg, images: torch.Tensor, seed: int) -> float:
    """The seconds of one training step of cfg.model ÷ one of Glow at the same config, on the same batch, timed
    interleaved in this process (kx_tasks.core.timing): what "training time" claims compare, times step counts."""
    from kx_tasks.core.timing import interleaved_ratio
    from kx_tasks.fvae.model import build

    batch = images[: cfg.batch_size]
    timed = []
    for c in (cfg, cfg.model_copy(update={"model": "glow"})):
        torch.manual_seed(seed)
        model = build(c, tuple(images.shape[1:]), seed).to(images.device)
        step = make_step(model, adam(model, c), c, torch.Generator(images.device).manual_seed(seed))
        timed.append(partial(step, batch))
    return interleaved_ratio(*timed, device=images.device)


def train_model(
    model: torch.nn.Module,
    images: torch.Tensor,
    cfg,
    gen: torch.Generator,
    evaluate: Callable[[Loop], dict[str, float]],
    checkpoint_dir: Path,
    out_dir: Path,
    label: str,
):
    """Train `model` for cfg.steps() steps on uint8 `images` (N, C, H, W, on the model's device); `evaluate(loop)` runs
    at cfg.marks equal fractions of the steps and its rows (with the engine's `step` and `seconds`, and `images`) go to
    out_dir/evals.jsonl."""
    steps = cfg.steps()
    every = steps // cfg.marks
    device = images.device
    opt = adam(model, cfg)
    step = make_step(model, opt, cfg, gen)

    def batches(epoch: int):
        for _ in range(every):
            yield images[torch.randint(0, len(images), (cfg.batch_size,), generator=gen, device=device)]

    def evaluate_with_images(loop: Loop) -> dict[str, float]:
        return {"images": loop.step * cfg.batch_size, **evaluate(loop)}

    return fit(
        step,
        batches,
        epochs=cfg.marks,
        steps_per_epoch=every,
        models={"model": model},
        optimizers={"adam": opt},
        schedules={"warmup": step_schedule(opt, partial(warmup_factor, warmup_steps=cfg.warmup_steps))},
        generators={"data": gen},
        checkpoint_dir=checkpoint_dir,
        label=label,
        samples_per_epoch=every * cfg.batch_size,
        unit="images",
        total=None,
        history_path=out_dir / "history.jsonl",
        evaluate=evaluate_with_images,
        eval_every=every,
        evals_path=out_dir / "evals.jsonl",
        config=cfg.model_dump(mode="json"),
        check_every=min(every, 50),
    )
