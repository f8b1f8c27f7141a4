"""The training engine every task that trains a network runs on (after MAE's engine_pretrain.py and nanoGPT's loop).

The task owns its models, optimisers and random generators and writes one `step(batch, loop) -> {term: tensor}`
(one optimisation step: one Adam for a VAE, two for a GAN) and one `batches(epoch)` iterator; the engine owns the
rest, and all of the loop's state (`Loop`: the global step, the training clock, the learning-rate schedules, the
task's timers and kept tensors): resume from the last checkpoint with that state and every RNG state (the task's
generators, torch CPU/CUDA, numpy, random), so a killed and resumed run equals an uninterrupted one; progress lines
with rate and ETA; per-epoch history as JSON lines; a stop on a non-finite loss term naming the term and the step;
checkpoints in nanoGPT's dict shape ({model, optimizer, config, step, metrics, ...}); and optional evaluation
callbacks every N steps, whose rows carry the step and the training seconds so far.

A task keeps no loop state of its own: a learning rate that changes with the step is a torch scheduler handed to
`fit(schedules=...)` (stepped after every step, its state checkpointed; `step_schedule` turns a function of the
global step into one), and a step reads `loop.step` (the 0-based index of the step it is taking).

    from kx_tasks.core.engine import fit
    gen = torch.Generator(device).manual_seed(run.seed)              # every draw of the loop comes from here
    model = MyVAE().to(device); opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    def batches(epoch):
        perm = torch.randperm(len(x), generator=gen, device=device)
        for i in range(0, len(x), 100):
            yield x[perm[i : i + 100]]
    def step(xb, loop):                                              # returns per-sample loss terms, (B,) each
        terms = model.loss_terms(xb, torch.randn(len(xb), 20, generator=gen, device=device))
        opt.zero_grad(); sum(t.mean() for t in terms.values()).backward(); opt.step(); return terms
    log = fit(step, batches, epochs=20, steps_per_epoch=600, models={"vae": model}, optimizers={"adam": opt},
              schedules={"warmup": step_schedule(opt, lambda s: min(1, (s + 1) / 100))},
              generators={"data": gen}, checkpoint_dir=inputs["checkpoints"] / "vae", label="mnist vae")

Per-epoch rows hold each term's mean per sample (terms of shape (B,)) or per step (scalars), their sum as "loss",
the epoch's training seconds (evaluation excluded) and rate. Checkpoints are written at the end of each epoch: a run
killed mid-epoch redoes that epoch from its start state, so `batches` and `step` must draw only from the generators
handed to `fit` (or the global RNGs, which are restored too).

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

from kx_tasks.core import checkpoints, short_run
from kx_tasks.core.progress import Progress

log = logging.getLogger("kx")


class NonFiniteLoss(FloatingPointError):
    """A loss term became NaN or infinite; the message names the term and the step."""


def without_clock(rows: list[dict]) -> list[dict]:
    """History or evaluation rows without the columns that read a clock (`seconds`, rates `..._per_s`): what must
    repeat exactly between runs."""
    return [{k: v for k, v in row.items() if k != "seconds" and not k.endswith("_per_s")} for row in rows]


@dataclass
class Loop:
    """The state of a training loop, owned by the engine and in every checkpoint: a resumed run continues it."""

    step: int = 0  # optimisation steps done: inside `step`, the 0-based index of the step being taken
    epoch: int = 0  # epochs done
    seconds: float = 0.0  # training seconds over every attempt, evaluation excluded (at the end of the last epoch)
    timers: dict[str, float] = field(default_factory=dict)  # seconds of named parts of a step, summed by the task
    kept: dict[str, torch.Tensor] = field(default_factory=dict)  # tensors a task keeps across the run (snapshots)

    def add_time(self, name: str, seconds: float) -> None:
        """Count `seconds` towards the timer `name` (e.g. the part of a step spent building its batch)."""
        self.timers[name] = self.timers.get(name, 0.0) + seconds

    def state_dict(self) -> dict:
        return {
            "step": self.step,
            "epoch": self.epoch,
            "seconds": self.seconds,
            "timers": dict(self.timers),
            "kept": dict(self.kept),
        }

    def load_state_dict(self, state: dict) -> None:
        self.step, self.epoch, self.seconds = int(state["step"]), int(state["epoch"]), float(state["seconds"])
        self.timers = {k: float(v) for k, v in state["timers"].items()}
        self.kept = dict(state["kept"])


@dataclass
class TrainLog:
    history: list[dict] = field(default_factory=list)  # one row per epoch
    evaluations: list[dict] = field(default_factory=list)  # one row per evaluation callback: {"step": s, ...}
    loop: Loop = field(default_factory=Loop)  # the loop's state at the end


def step_schedule(optimizer: torch.optim.Optimizer, factor: Callable[[int], float]):
    """A learning-rate schedule that is a function of the global step: before step s (0-based) every group's
    learning rate is its initial one times factor(s). The engine steps it after each step and checkpoints it."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


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


def _sync() -> None:
    """Wait for queued GPU work, so that a clock reading counts it (a no-op on the CPU)."""
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()


def fit(
    step: Callable[[object, Loop], dict[str, torch.Tensor]],
    batches: Callable[[int], Iterable],
    *,
    epochs: int,
    steps_per_epoch: int,
    models: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    schedules: dict[str, torch.optim.lr_scheduler.LRScheduler] | None = None,
    generators: dict[str, torch.Generator] | None = None,
    checkpoint_dir: Path | None = None,
    label: str = "train",
    samples_per_epoch: int | None = None,
    unit: str = "samples",
    total: str | None = "loss",
    history_path: Path | None = None,
    evaluate: Callable[[Loop], dict[str, float]] | None = None,
    eval_every: int = 0,
    evals_path: Path | None = None,
    config: dict | None = None,
    check_every: int = 1,
    progress_every_s: float = 30.0,
) -> TrainLog:
    """Train for `epochs` epochs of `batches(epoch)`, calling `step(batch, loop)` on each; see the module docstring.

    schedules: torch schedulers stepped once after every step (e.g. `step_schedule`), checkpointed with the rest.
    total: name of the history column holding the sum of the terms (None: no sum, e.g. a GAN's D and G losses).
    evaluate(loop) runs every `eval_every` steps (0: never) under a forked global RNG, after loop.step counts the
    step just taken; its rows, with "step" and "seconds" (training seconds so far), go to TrainLog.evaluations and
    `evals_path`. check_every: steps between finiteness checks (each one reads one flag from the device); the error
    still names the first bad step.
    """
    generators = generators or {}
    schedules = schedules or {}
    result = TrainLog()
    loop = result.loop
    short = short_run.limits()  # a shake-down's short run (kx_tasks/core/short_run.py): None in a real one
    resumed = False
    if checkpoint_dir is not None and (state := checkpoints.load_latest(checkpoint_dir)) is not None:
        resumed = True
        for name, model in models.items():
            model.load_state_dict(state["model"][name])
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizer"][name])
        for name, schedule in schedules.items():
            schedule.load_state_dict(state["schedules"][name])
        set_rng_state(state["rng"], generators)
        loop.load_state_dict(state["loop"])
        result.history, result.evaluations = state["metrics"]["history"], state["metrics"]["evaluations"]
        log.info("%s: resumed from epoch %d (step %d)", label, loop.epoch, loop.step)
    _write_jsonl(history_path, result.history, "w")
    _write_jsonl(evals_path, result.evaluations, "w")
    epoch_progress = Progress(epochs, f"{label} epoch", unit="epoch", every_s=0.0, log=log, done=loop.epoch)
    step_progress = Progress(
        epochs * steps_per_epoch,
        f"{label} step",
        unit="steps",
        every_s=progress_every_s,
        log=log,
        done=loop.epoch * steps_per_epoch,
    )
    for model in models.values():
        model.train()
    while loop.epoch < epochs:
        _sync()
        t0 = time.perf_counter()
        evaluating = 0.0  # seconds of this epoch spent in evaluation callbacks
        sums: dict[str, torch.Tensor] = {}
        counts: dict[str, int] = {}
        pending: list[tuple[int, torch.Tensor]] = []  # (step, finite flag per term), read every check_every steps
        names: list[str] = []
        step_seconds: list[float] = []  # a short run's step times
        short_eval = 0.0  # and the seconds of its one evaluation
        for batch in batches(loop.epoch):
            t_step = time.perf_counter()
            terms = step(batch, loop)
            loop.step += 1
            for schedule in schedules.values():
                schedule.step()
            if short is not None:
                _sync()
                step_seconds.append(time.perf_counter() - t_step)
            with torch.no_grad():
                names = list(terms)
                pending.append((loop.step, torch.stack([t.isfinite().all() for t in terms.values()])))
                for k, t in terms.items():
                    sums[k] = sums.get(k, 0.0) + t.sum()
                    counts[k] = counts.get(k, 0) + t.numel()
            if len(pending) >= check_every:
                _check_finite(pending, names, label, loop.epoch)
            step_progress.update(1)
            if evaluate is not None and eval_every and loop.step % eval_every == 0:
                _sync()
                t_eval = time.perf_counter()
                seconds = loop.seconds + (t_eval - t0 - evaluating)
                row = _evaluate(evaluate, loop, seconds, models)
                result.evaluations.append(row)
                _write_jsonl(evals_path, [row], "a")
                _sync()
                evaluating += time.perf_counter() - t_eval
            if short is not None and len(step_seconds) >= short.steps:
                if evaluate is not None and eval_every:  # one evaluation, as the full run makes every eval_every
                    _sync()
                    t_eval = time.perf_counter()
                    row = _evaluate(evaluate, loop, loop.seconds + (t_eval - t0 - evaluating), models)
                    result.evaluations.append(row)
                    _write_jsonl(evals_path, [row], "a")
                    _sync()
                    short_eval = time.perf_counter() - t_eval
                    evaluating += short_eval
                break
        _check_finite(pending, names, label, loop.epoch)
        _sync()
        train_s = time.perf_counter() - t0 - evaluating
        loop.seconds += train_s
        loop.epoch += 1
        row = {k: float(v) / counts[k] for k, v in sums.items()}
        if total is not None:
            row[total] = sum(row.values())
        samples = samples_per_epoch or steps_per_epoch
        row.update({"epoch": loop.epoch, "step": loop.step, "seconds": train_s, f"{unit}_per_s": samples / train_s})
        result.history.append(row)
        _write_jsonl(history_path, [row], "a")
        terms_text = " ".join(f"{k} {row[k]:.4g}" for k in sums)
        epoch_progress.update(1, note=f"{terms_text}, {samples / train_s:.0f} {unit}/s")
        if checkpoint_dir is not None:
            state = {
                "model": {name: m.state_dict() for name, m in models.items()},
                "optimizer": {name: o.state_dict() for name, o in optimizers.items()},
                "schedules": {name: s.state_dict() for name, s in schedules.items()},
                "config": config or {},
                "epoch": loop.epoch,
                "loop": loop.state_dict(),
                "metrics": {"history": result.history, "evaluations": result.evaluations},
                "rng": rng_state(generators),
            }
            checkpoints.save(state, checkpoint_dir, loop.step)
        if short is not None:
            total_steps = epochs * steps_per_epoch
            evaluations = total_steps // eval_every if evaluate is not None and eval_every else 0
            _end_short(label, total_steps, step_seconds, short.warmup, short_eval, evaluations, resumed)
            if checkpoint_dir is not None and not resumed and short.stop:
                raise short_run.Stopped(f"{label}: stopped after the checkpoint at step {loop.step} (a short run)")
            break
    for model in models.values():
        model.eval()
    return result


def _end_short(label, total_steps, step_seconds, warmup, eval_s, evaluations, resumed) -> None:
    """A short run's measurements of this fit: its step times (warm-up left out), its one evaluation callback, and
    what the full run would do (`total_steps`, `evaluations` callbacks)."""
    timed = step_seconds[warmup:] or step_seconds
    short_run.record_loop(label, total_steps, timed, sum(step_seconds) + eval_s, eval_s, evaluations, resumed)


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


def _evaluate(evaluate: Callable[[Loop], dict], loop: Loop, seconds: float, models: dict[str, torch.nn.Module]) -> dict:
    devices = [torch.cuda.current_device()] if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):  # the callback's draws must not shift the training stream
        measured = {k: float(v) for k, v in evaluate(loop).items()}
    row = {"step": loop.step, "seconds": seconds, **measured}
    for model in models.values():
        model.train()
    log.info("eval at step %d: %s", loop.step, " ".join(f"{k} {v:.4g}" for k, v in measured.items()))
    return row
