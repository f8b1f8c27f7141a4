"""A training job on the engine, run as a subprocess by test_engine.py so it can be SIGKILLed mid-epoch.

    python engine_job.py OUT_DIR CHECKPOINT_DIR [STEP_SLEEP_S]

Every kind of randomness the engine must restore is used: the task's own generator (shuffling), torch's global
RNG (dropout), numpy's global RNG (input noise) and Python's `random` (label smoothing draw); and every kind of loop
state it owns: a learning-rate schedule of the global step, the step itself (read by the step function), a tensor
kept with the loop. Writes
OUT_DIR/weights.pt, OUT_DIR/metrics.json and OUT_DIR/history.jsonl; OUT_DIR/progress holds the last step done.
"""

import json
import logging
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from kx_tasks.core.engine import fit, step_schedule, without_clock
from kx_tasks.core.seeding import seed_everything


def decay(step: int) -> float:
    return 1 / (1 + step)


def lr(opt) -> float:
    return opt.param_groups[0]["lr"]


def main(out: Path, checkpoints: Path, sleep_s: float) -> None:
    logging.basicConfig(level=logging.INFO)
    seed_everything(7, 1)
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(240, 8, generator=gen)
    y = (x[:, 0] > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Dropout(0.2), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    out.mkdir(parents=True, exist_ok=True)
    done = [0]

    def batches(epoch):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 24):
            idx = perm[i : i + 24]
            noise = torch.from_numpy(np.random.normal(0, 0.1, (len(idx), 8)).astype(np.float32))
            yield x[idx] + noise, y[idx]

    def step(batch, loop):
        xb, yb = batch
        smoothing = random.uniform(0.0, 0.1) * (1 + loop.step % 3)
        ce = torch.nn.functional.cross_entropy(model(xb), yb, reduction="none", label_smoothing=smoothing)
        opt.zero_grad()
        ce.mean().backward()
        opt.step()
        loop.kept["lr_trace"] = torch.cat([loop.kept.get("lr_trace", torch.zeros(0)), torch.tensor([lr(opt)])])
        done[0] += 1
        (out / "progress.tmp").write_text(str(done[0]))
        (out / "progress.tmp").replace(out / "progress")  # atomic: the watching test never reads a half-written file
        time.sleep(sleep_s)
        return {"ce": ce}

    log = fit(
        step,
        batches,
        epochs=4,
        steps_per_epoch=10,
        models={"net": model},
        optimizers={"adam": opt},
        schedules={"decay": step_schedule(opt, decay)},
        generators={"data": gen},
        checkpoint_dir=checkpoints,
        label="job",
        samples_per_epoch=240,
        history_path=out / "history.jsonl",
    )
    torch.save(model.state_dict(), out / "weights.pt")
    # Wall times differ between runs; everything else must repeat to the byte.
    kept = without_clock(log.history)
    trace = log.loop.kept["lr_trace"].tolist()
    (out / "metrics.json").write_text(json.dumps({"history": kept, "lr": trace}, sort_keys=True))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
