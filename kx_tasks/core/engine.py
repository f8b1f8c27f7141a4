"""The training engine every task that trains a network runs on (after MAE's engine_pretrain.py and nanoGPT's loop).

The task owns its models, optimisers and random generators and writes one `step(batch) -> {term: tensor}` (one
optimisation step: one Adam for a VAE, two for a GAN) and one `batches(epoch)` iterator; the engine owns the rest:
resume from the last checkpoint with every RNG state (the task's generators, torch CPU/CUDA, numpy, random), so a
killed and resumed run equals an uninterrupted one; progress lines with rate and ETA; per-epoch history as JSON
lines; a stop on a non-finite loss term naming the term and the step; checkpoints in nanoGPT's dict shape
({model, optimizer, config, step, metrics, ...}); and optional evaluation callbacks every N steps.

    from kx_tasks.core.engine import fit
    gen = torch.Generator(device).manual_seed(run.seed)              # every draw of the loop comes from here
    model = MyVAE().to(device); opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    def batches(epoch):
        perm = torch.randperm(len(x), generator=gen, device=device)
        for i in range(0, len(x), 100):
            yield x[perm[i : i + 100]]
    def step(xb):                                                    # returns per-sample loss terms, (B,) each
        terms = model.loss_terms(xb, torch.randn(len(xb), 20, generator=gen, device=device))
        opt.zero_grad(); sum(t.mean() for t in terms.values()).backward(); opt.step(); return terms
    log = fit(step, batches, epochs=20, steps_per_epoch=600, models={"vae": model}, optimizers={"adam": opt},
              generators={"data": gen}, checkpoint_dir=inputs["checkpoints"] / "vae", label="mnist vae")

Per-epoch rows hold each term's mean per sample (terms of shape (B,)) or per step (scalars), their sum as "loss",
the epoch's wall time and rate. Checkpoints are written at the end of each epoch: a run killed mid-epoch redoes
that epoch from its start state, so `batches` and `step` must draw only from the generators handed to `fit`
(or the global RNGs, which are restored too).

References:
- MAE, engine_pretrain.py (the non-finite stop): https://github.com/facebookresearch/mae
- nanoGPT, train.py (the checkpoint dict): https://github.com/karpathy/nanoGPT
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from kx_tasks.core import checkpoints
from kx_tasks.core.progress import Progress

log = logging.getLogger("kx")


class NonFiniteLoss(FloatingPointError):
    """A loss term became NaN or infinite; the message names the term and the step."""


@dataclass
class TrainLog:
    history: list[dict] = field(default_factory=list)  # one row per epoch
    evaluations: list[dict] = field(default_factory=list)  # one row per evaluation callback: {"step": s, ...}


def rng_state(generators: dict[str, torch.Generator]) -> dict:
    """Every random state a loop can draw from, in types that torch.load(weights_only=True) accepts."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "generators": {name: g.get_state() for name, g in generators.items()},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos)}
        | {"has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": version, "state": list(internal), "gauss_next": gauss_next},
    }


def set_rng_state(state: dict, generators: dict[str, torch.Generator]) -> None:
    for name, g in generators.items():
        g.set_state(state["generators"][name].cpu())  # a generator's state is a CPU byte tensor, CUDA's too
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"]:
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))


def _write_jsonl(path: Path | None, rows: list[dict], mode: str) -> None:
    if path is not None:
        with open(path, mode, encoding="utf-8") as f:
            f.writelines(json.dumps(row, sort_keys=True) + "\n" for row in rows)


def fit(
    step: Callable[[object], dict[str, torch.Tensor]],
    batches: Callable[[int], Iterable],
    *,
    epochs: int,
    steps_per_epoch: int,
    models: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    generators: dict[str, torch.Generator] | None = None,
    checkpoint_dir: Path | None = None,
    label: str = "train",
    samples_per_epoch: int | None = None,
    unit: str = "samples",
    total: str | None = "loss",
    history_path: Path | None = None,
    evaluate: Callable[[int], dict[str, float]] | None = None,
    eval_every: int = 0,
    evals_path: Path | None = None,
    config: dict | None = None,
    check_every: int = 1,
    progress_every_s: float = 30.0,
) -> TrainLog:
    """Train for `epochs` epochs of `batches(epoch)`, calling `step(batch)` on each; see the module docstring.

    total: name of the history column holding the sum of the terms (None: no sum, e.g. a GAN's D and G losses).
    evaluate(global_step) runs every `eval_every` steps (0: never) under a forked global RNG; its rows, with
    "step", go to TrainLog.evaluations and `evals_path`. check_every: steps between finiteness checks (each one
    reads one flag from the device); the error still names the first bad step.
    """
    generators = generators or {}
    result = TrainLog()
    start_epoch = 0
    if checkpoint_dir is not None and (state := checkpoints.load_latest(checkpoint_dir)) is not None:
        for name, model in models.items():
            model.load_state_dict(state["model"][name])
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizer"][name])
        set_rng_state(state["rng"], generators)
        result = TrainLog(state["metrics"]["history"], state["metrics"]["evaluations"])
        start_epoch = state["epoch"]
        log.info("%s: resumed from epoch %d (step %d)", label, start_epoch, state["step"])
    _write_jsonl(history_path, result.history, "w")
    _write_jsonl(evals_path, result.evaluations, "w")
    epoch_progress = Progress(epochs, f"{label} epoch", unit="epoch", every_s=0.0, log=log, done=start_epoch)
    step_progress = Progress(
        epochs * steps_per_epoch, f"{label} step", unit="steps", every_s=progress_every_s, log=log,
        done=start_epoch * steps_per_epoch,
    )  # fmt: skip
    global_step = start_epoch * steps_per_epoch
    for model in models.values():
        model.train()
    for epoch in range(start_epoch, epochs):
        t0 = time.perf_counter()
        sums: dict[str, torch.Tensor] = {}
        counts: dict[str, int] = {}
        pending: list[tuple[int, torch.Tensor]] = []  # (step, finite flag per term), read every check_every steps
        names: list[str] = []
        for batch in batches(epoch):
            terms = step(batch)
            global_step += 1
            with torch.no_grad():
                names = list(terms)
                pending.append((global_step, torch.stack([t.isfinite().all() for t in terms.values()])))
                for k, t in terms.items():
                    sums[k] = sums.get(k, 0.0) + t.sum()
                    counts[k] = counts.get(k, 0) + t.numel()
            if len(pending) >= check_every:
                _check_finite(pending, names, label, epoch)
            step_progress.update(1)
            if evaluate is not None and eval_every and global_step % eval_every == 0:
                row = _evaluate(evaluate, global_step, models)
                result.evaluations.append(row)
                _write_jsonl(evals_path, [row], "a")
        _check_finite(pending, names, label, epoch)
        wall = time.perf_counter() - t0
        row = {k: float(v) / counts[k] for k, v in sums.items()}
        if total is not None:
            row[total] = sum(row.values())
        samples = samples_per_epoch or steps_per_epoch
        row.update({"epoch": epoch + 1, "step": global_step, "seconds": wall, f"{unit}_per_s": samples / wall})
        result.history.append(row)
        _write_jsonl(history_path, [row], "a")
        terms_text = " ".join(f"{k} {row[k]:.4g}" for k in sums)
        epoch_progress.update(1, note=f"{terms_text}, {samples / wall:.0f} {unit}/s")
        if checkpoint_dir is not None:
            state = {
                "model": {name: m.state_dict() for name, m in models.items()},
                "optimizer": {name: o.state_dict() for name, o in optimizers.items()},
                "config": config or {},
                "epoch": epoch + 1,
                "metrics": {"history": result.history, "evaluations": result.evaluations},
                "rng": rng_state(generators),
            }
            checkpoints.save(state, checkpoint_dir, global_step)
    for model in models.values():
        model.eval()
    return result


def _check_finite(pending: list[tuple[int, torch.Tensor]], names: list[str], label: str, epoch: int) -> None:
    if not pending:
        return
    flags = torch.stack([f for _, f in pending])  # (steps, terms)
    if not bool(flags.all()):
        row, col = (int(i) for i in (~flags).nonzero()[0])
        raise NonFiniteLoss(
            f"{label}: loss term '{names[col]}' is not finite at step {pending[row][0]} (epoch {epoch + 1}); "
            "stopping before the checkpoint of this epoch is written"
        )
    pending.clear()


def _evaluate(evaluate: Callable[[int], dict], global_step: int, models: dict[str, torch.nn.Module]) -> dict:
    devices = [torch.cuda.current_device()] if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):  # the callback's draws must not shift the training stream
        row = {"step": global_step, **{k: float(v) for k, v in evaluate(global_step).items()}}
    for model in models.values():
        model.train()
    log.info("eval at step %d: %s", global_step, " ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "step"))
    return row
