"""What the engine runs for the `mixup` task: SGD with momentum and weight decay over the plan's batches (the plan,
made by the augment stage, fixes every draw: the step draws nothing), the learning-rate schedule as a torch scheduler
the engine steps and checkpoints, and the share of step time spent building the mixed batch (a loop timer)."""

from __future__ import annotations

import time

import torch

from kx_tasks.core.engine import fit
from kx_tasks.mixup.config import MixupConfig
from kx_tasks.mixup.model import mixed_loss
from kx_tasks.mixup.plan import batch_slices, crop_flip


def train_model(model, x, y, plan, cfg: MixupConfig, checkpoint_dir, out_dir, label):
    """SGD (momentum, weight decay) with the configured learning-rate schedule over the plan's batches; returns the
    model, the engine's log and the share of step time spent building the mixed batch (the augmentation's cost)."""
    n = len(x)
    slices = batch_slices(n, cfg.batch_size)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    sched = lr_schedule(opt, cfg, len(slices))

    def batches(epoch: int):
        for sl in slices:
            yield (
                epoch,
                plan["order"][epoch, sl],
                plan["partner"][epoch, sl],
                plan["lam_x"][epoch, sl],
                plan["lam_y"][epoch, sl],
            )

    def images(epoch: int, idx: torch.Tensor) -> torch.Tensor:
        """The images `idx` as epoch `epoch` shows them (with the plan's crop and flip where the recipe has them)."""
        if not cfg.crop_flip:
            return x[idx]
        return crop_flip(x[idx], plan["shift"][epoch, idx], plan["flip"][epoch, idx])

    def step(batch, loop) -> dict[str, torch.Tensor]:
        t0 = time.perf_counter()
        epoch, ia, ib, lam_x, lam_y = batch
        lx = lam_x[:, None, None, None]
        x_mixed = lx * images(epoch, ia) + (1 - lx) * images(epoch, ib)
        t1 = time.perf_counter()
        ce = mixed_loss(model(x_mixed), y[ia], y[ib], lam_y)
        opt.zero_grad(set_to_none=True)
        ce.mean().backward()
        opt.step()
        loop.add_time("mix", t1 - t0)
        loop.add_time("step", time.perf_counter() - t0)
        return {"ce": ce}

    log = fit(
        step,
        batches,
        epochs=cfg.epochs,
        steps_per_epoch=len(slices),
        models={"cnn": model},
        optimizers={"sgd": opt},
        schedules={"lr": sched},
        checkpoint_dir=checkpoint_dir / "cnn",
        label=f"{label} cnn",
        samples_per_epoch=n,
        unit="images",
        history_path=out_dir / "history.jsonl",
        config=cfg.model_dump(mode="json"),
    )
    return model, log, log.loop.timers["mix"] / max(log.loop.timers["step"], 1e-12)


def lr_schedule(opt, cfg: MixupConfig, steps_per_epoch: int):
    """Stepped once per optimisation step: one-cycle (warm-up, then cosine) or the official ÷10 at 50% and 75%."""
    total = cfg.epochs * steps_per_epoch
    if cfg.lr_schedule == "step":
        milestones = [round(0.5 * cfg.epochs) * steps_per_epoch, round(0.75 * cfg.epochs) * steps_per_epoch]
        return torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)
    return torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=total, pct_start=cfg.warmup, cycle_momentum=False
    )
