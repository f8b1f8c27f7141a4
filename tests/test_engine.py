"""The shared training engine: a SIGKILLed and resumed run equals an uninterrupted one to the byte, a non-finite
loss stops with the term and the step named, evaluation callbacks leave the training stream alone, and the
checkpoint has nanoGPT's dict shape."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from kx_tasks.core import checkpoints
from kx_tasks.core.engine import NonFiniteLoss, fit

JOB = Path(__file__).parent / "engine_job.py"


def job(out: Path, ckpt: Path, sleep_s: float = 0.0) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(JOB), str(out), str(ckpt), str(sleep_s)], stderr=subprocess.PIPE)


@pytest.mark.slow
def test_killed_mid_epoch_and_resumed_equals_uninterrupted(tmp_path):
    straight = job(tmp_path / "straight", tmp_path / "straight_ckpt")
    assert straight.wait(timeout=120) == 0, straight.stderr.read().decode()[-2000:]

    killed = job(tmp_path / "killed", tmp_path / "killed_ckpt", sleep_s=0.05)
    progress = tmp_path / "killed" / "progress"
    deadline = time.monotonic() + 120
    # Kill in the middle of epoch 3 (steps 21-30): two epoch checkpoints exist, the third epoch is half done.
    while not (progress.exists() and int(progress.read_text() or 0) >= 25):
        assert time.monotonic() < deadline and killed.poll() is None, "the job never got to epoch 3"
        time.sleep(0.01)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "weights.pt").exists()
    saved = sorted((tmp_path / "killed_ckpt").glob("step*.pt"))
    assert [p.name for p in saved] == ["step000000010.pt", "step000000020.pt"]

    resumed = job(tmp_path / "killed", tmp_path / "killed_ckpt")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()[-2000:]
    assert "resumed from epoch 2 (step 20)" in err.decode()
    for name in ("weights.pt", "metrics.json"):
        assert (tmp_path / "killed" / name).read_bytes() == (tmp_path / "straight" / name).read_bytes(), name
    lrs = json.loads((tmp_path / "killed" / "metrics.json").read_text())["lr"]
    assert lrs == pytest.approx([1e-2 / (1 + s) for s in range(40)]), "the schedule must continue, not restart"
    rows = [json.loads(line) for line in (tmp_path / "killed" / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4], "history lines of the lost half-epoch must not repeat"


def linear_problem(noisy: bool = False, extra=None):
    """A least-squares fit of a Linear layer on 64 fixed points, 4 batches per epoch; returns (model, train) where
    train(**fit_kwargs) runs the engine. noisy: targets drawn from torch's global RNG; extra(step, loss) adds terms."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=gen)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = [0]

    def batches(epoch):
        perm = torch.randperm(64, generator=gen)
        for i in range(0, 64, 16):
            yield x[perm[i : i + 16]]

    def step(xb, loop):
        calls[0] += 1
        target = torch.randn(len(xb)) if noisy else torch.zeros(len(xb))
        loss = (model(xb).squeeze(-1) - target).square()
        opt.zero_grad()
        loss.mean().backward()
        opt.step()
        return {"sq": loss, **(extra(calls[0], loss) if extra else {})}

    def train(epochs: int = 2, **kwargs):
        return fit(
            step,
            batches,
            epochs=epochs,
            steps_per_epoch=4,
            models={"m": model},
            optimizers={"sgd": opt},
            generators={"g": gen},
            **kwargs,
        )

    return model, train


@pytest.mark.parametrize("check_every", [1, 3])
def test_non_finite_loss_names_term_and_step(check_every, tmp_path):
    def penalty(call, loss):
        return {"penalty": torch.full_like(loss, float("nan") if call == 6 else 1.0)}

    _, train = linear_problem(extra=penalty)
    with pytest.raises(NonFiniteLoss, match=r"loss term 'penalty' is not finite at step 6 \(epoch 2\)"):
        train(epochs=3, checkpoint_dir=tmp_path, check_every=check_every)
    # The epoch with the NaN is not checkpointed: a rerun resumes from the last finite state.
    assert [p.name for p in sorted(tmp_path.glob("step*.pt"))] == ["step000000004.pt"]


def test_evaluation_callbacks_leave_the_training_stream_alone(tmp_path):
    def evaluate(loop):
        return {"probe": float(torch.randn(1))}  # would shift the stream if not forked

    torch.manual_seed(0)
    m1, train = linear_problem(noisy=True)
    plain = train()
    torch.manual_seed(0)
    m2, train = linear_problem(noisy=True)
    evaluated = train(evaluate=evaluate, eval_every=3, evals_path=tmp_path / "evals.jsonl")
    assert [r["sq"] for r in plain.history] == [r["sq"] for r in evaluated.history]
    assert torch.equal(m1.weight, m2.weight)
    assert [r["step"] for r in evaluated.evaluations] == [3, 6]
    assert len((tmp_path / "evals.jsonl").read_text().splitlines()) == 2


def test_checkpoint_has_nanogpt_shape_and_loads_weights_only(tmp_path):
    _, train = linear_problem()
    log = train(checkpoint_dir=tmp_path, config={"lr": 0.1}, history_path=tmp_path / "h.jsonl")
    state = checkpoints.load_latest(tmp_path)  # weights_only=True inside
    assert {"model", "optimizer", "config", "step", "epoch", "metrics", "rng"} <= set(state)
    assert state["step"] == 8 and state["epoch"] == 2 and state["config"] == {"lr": 0.1}
    assert state["metrics"]["history"] == log.history
    assert set(log.history[0]) >= {"sq", "loss", "epoch", "step", "seconds", "samples_per_s"}
    assert log.history[0]["loss"] == log.history[0]["sq"]
    assert len((tmp_path / "h.jsonl").read_text().splitlines()) == 2
