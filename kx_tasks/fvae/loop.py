"""One training loop for the four models, on the shared engine: the task's step (dequantise a batch, one u draw,
the model's −ELBO or exact NLL, a linear learning-rate warm-up, a gradient-norm clip, one fused Adam step) and the
engine's resume, progress, non-finite stop and evaluation callbacks.

Every draw (batch indices, dequantisation noise, u) comes from one seeded generator handed to the engine, so the
models of a seed see the same image indices and dequantisation draws at a given step. Batches are drawn with
replacement (uniform indices); `epochs` counts images seen ÷ training-set size. The progress line prints the
training batch's bits/dim (`bpd`) from the first epoch, and `seconds` in each evaluation row is training wall time
(evaluation excluded).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from kx_tasks.core import checkpoints
from kx_tasks.core.engine import fit
from kx_tasks.fvae.bits import bits_per_dim, dequantise, to_model_scale


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Learning-rate multiplier at 0-based `step`: linear from 1/warmup to 1 over the warm-up, then 1."""
    return 1.0 if step >= warmup_steps else (step + 1) / warmup_steps


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def train(
    model: torch.nn.Module,
    images: torch.Tensor,
    cfg,
    gen: torch.Generator,
    evaluate: Callable[[int], dict[str, float]],
    checkpoint_dir: Path,
    out_dir: Path,
    label: str,
):
    """Train `model` for cfg.steps() steps on uint8 `images` (N, C, H, W, on the model's device); `evaluate(step)` runs
    at cfg.marks equal fractions of the steps and its rows (with `seconds`) go to out_dir/evals.jsonl."""
    steps = cfg.steps()
    every = steps // cfg.marks
    device = images.device
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr, fused=True)
    dims = images[0].numel()
    resumed = checkpoints.load_latest(checkpoint_dir)
    clock = {"start": 0.0, "evals": 0.0, "step": resumed["step"] if resumed else 0}
    clock["offset"] = float(resumed["metrics"]["evaluations"][-1]["seconds"]) if resumed else 0.0

    def batches(epoch: int):
        for _ in range(every):
            yield images[torch.randint(0, len(images), (cfg.batch_size,), generator=gen, device=device)]

    def step(batch: torch.Tensor) -> dict[str, torch.Tensor]:
        if not clock["start"]:
            clock["start"] = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = cfg.lr * warmup_factor(clock["step"], cfg.warmup_steps)
        clock["step"] += 1
        x, log_jacobian = to_model_scale(dequantise(batch, gen))
        u = torch.randn(len(x), *model.z_shape, generator=gen, device=device)
        loss = model.loss(x, u)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.mean().backward()
        norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip)
        opt.step()
        loss = loss.detach()
        return {"loss": loss, "bpd": bits_per_dim(-loss + log_jacobian, dims), "grad_norm": norm.detach(),
                "clipped": (norm > cfg.clip).float().detach()}  # fmt: skip

    def evaluate_with_time(global_step: int) -> dict[str, float]:
        _sync(device)
        t0 = time.perf_counter()
        seconds = clock["offset"] + (t0 - clock["start"]) - clock["evals"]
        row = {"seconds": seconds, "images": global_step * cfg.batch_size, **evaluate(global_step)}
        _sync(device)
        clock["evals"] += time.perf_counter() - t0
        return row

    return fit(
        step,
        batches,
        epochs=cfg.marks,
        steps_per_epoch=every,
        models={"model": model},
        optimizers={"adam": opt},
        generators={"data": gen},
        checkpoint_dir=checkpoint_dir,
        label=label,
        samples_per_epoch=every * cfg.batch_size,
        unit="images",
        total=None,
        history_path=out_dir / "history.jsonl",
        evaluate=evaluate_with_time,
        eval_every=every,
        evals_path=out_dir / "evals.jsonl",
        config=cfg.model_dump(mode="json"),
        check_every=min(every, 50),
    )
