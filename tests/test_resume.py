"""Exact resume is a contract: every training stage and every artefact build, SIGKILLed right after its first
checkpoint and run again, ends as an uninterrupted run does: the same metrics.json (the evaluate stage run on each)
and the same JSON-lines histories and evaluations, clock fields aside (kx_tasks.core.engine.without_clock).

The kill comes from inside (KX_KILL_AFTER_SAVES=1, kx_tasks.core.checkpoints): a real SIGKILL at a known point, with
no race against a watching test. Settings are the smoke config's, with enough epochs for a second checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import shared_data_dir
from test_contract import SMOKE, TASKS, artefact_inputs, dataset_inputs

from kx_tasks.core import checkpoints, data, runner, settings, stages
from kx_tasks.core.engine import without_clock
from kx_tasks.core.io import read_jsonl
from kx_tasks.core.records import TIMINGS
from kx_tasks.core.registry import discover_artefacts

JOB = Path(__file__).parent / "stage_job.py"
# Tasks whose train stage runs no training loop (nothing to checkpoint); every other task must resume exactly.
NO_LOOP = {"det": "measures determinants", "gillespie": "simulates reaction networks"}
# The variant whose training loop is checked, where the first is not one that trains (or not the richest).
VARIANT = {"rsgan": "grid.rsgan", "mixup": "fashion_mnist.mixup", "mlm_mae": "trec.drop50"}
# Overrides of the smoke config that give every loop at least two checkpoints.
OVERRIDES = {
    "tasks": {"mlm_mae": {"params": {"epochs": 2}}},
    "artefacts": {
        "bert_mlm15": {"params": {"epochs": 2}},
        "bert_mlm40": {"params": {"epochs": 2, "max_sequences": 256, "vocab_size": 2000}},
        **{
            f"{d}_classifier": {"params": {"epochs": 2, "train_size": 500, "min_accuracy": 0.1}}
            for d in ("mnist", "fashion_mnist", "cifar10")
        },
    },
}
ARTEFACTS = discover_artefacts()


def merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = merged(base.get(k) or {}, v) if isinstance(v, dict) else v
    return out


CONFIG = merged(SMOKE, OVERRIDES)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path | None:
    return tmp_path_factory.mktemp("data") if shared_data_dir() is not None else None


def job(spec: dict, path: Path, kill_after: int | None = None) -> subprocess.CompletedProcess:
    path.write_text(json.dumps(spec))
    env = {k: v for k, v in os.environ.items() if k != checkpoints.KILL_AFTER_SAVES}
    if kill_after is not None:
        env[checkpoints.KILL_AFTER_SAVES] = str(kill_after)
    return subprocess.run([sys.executable, str(JOB), str(path)], env=env, capture_output=True, text=True, timeout=600)


def killed_then_resumed(spec: dict, tmp: Path) -> str:
    """Run the job, SIGKILLed after its first checkpoint, then again to the end; returns the second run's log."""
    first = job(spec, tmp / "spec.json", kill_after=1)
    assert first.returncode == -signal.SIGKILL, f"never killed (no checkpoint written?): {first.stderr[-2000:]}"
    assert not Path(spec["out"]).exists(), "a killed job must leave nothing that looks complete"
    second = job(spec, tmp / "spec.json")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from epoch 1" in second.stderr, second.stderr[-3000:]
    return second.stderr


# Files a stage accumulates over its loop (histories, evaluations, snapshots, curves, weights, facts) must all come
# back whole after a resume: every file of the uninterrupted run's output is compared, by kind. run.json is a record
# (wall time, host), timings.json the clock readings the runner keeps apart; a figure is drawn from files compared.
RECORDS = {"run.json", TIMINGS}
DRAWN = {".png"}


def _is_clock(key: str) -> bool:
    """A reading of the clock (seconds, rates, timing shares, measured speed-ups): it differs between any two runs."""
    return "seconds" in key or key.startswith("timing.") or key.endswith("_per_s") or "speedup" in key


def _without_seconds(d):
    return {k: v for k, v in d.items() if not _is_clock(k)} if isinstance(d, dict) else d


def assert_same_outputs(straight: Path, resumed: Path, history: bool = True) -> None:
    names = sorted(p.name for p in straight.iterdir() if p.is_file())
    assert names == sorted(p.name for p in resumed.iterdir() if p.is_file()), "the resumed run wrote other files"
    compared = 0
    for name in names:
        a, b = straight / name, resumed / name
        if name in RECORDS or a.suffix in DRAWN:
            continue
        if a.suffix == ".jsonl":
            assert without_clock(read_jsonl(a)) == without_clock(read_jsonl(b)), name
        elif a.suffix == ".json":  # facts such as classifier.json: all but the clock readings
            assert _without_seconds(json.loads(a.read_text())) == _without_seconds(json.loads(b.read_text())), name
        elif a.suffix == ".npz":  # e.g. rsgan's grid snapshots: every array of every step, the pre-kill ones too
            with np.load(a, allow_pickle=False) as x, np.load(b, allow_pickle=False) as y:
                assert sorted(x.files) == sorted(y.files), f"{name}: {sorted(x.files)} vs {sorted(y.files)}"
                assert all(np.array_equal(x[k], y[k]) for k in x.files), name
        elif a.suffix == ".pt":
            x, y = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
            assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x), name
        else:  # config.yaml, CSV tables, text
            assert a.read_bytes() == b.read_bytes(), name
        compared += 1
    assert not history or any(n.endswith(".jsonl") for n in names), f"{straight}: no JSON-lines history"
    assert compared >= 2, names


def training_tasks() -> list[str]:
    return [name for name in TASKS if name not in NO_LOOP]


@pytest.mark.slow
@pytest.mark.parametrize("name", training_tasks())
def test_training_resumes_exactly(name, tmp_path, prepared):
    task = TASKS[name]
    variant = VARIANT.get(name, task.variants[0])
    inputs = dataset_inputs(task, variant, prepared) | artefact_inputs(task, variant, 0, prepared)
    if "augment" in task.stages:
        run = settings.make_run(CONFIG, task, variant, 0, "augment")
        runner.run_stage(task, "augment", run, inputs, tmp_path / "augment")
        inputs["augment"] = tmp_path / "augment"
    metrics = {}
    for label in ("straight", "resumed"):
        out = tmp_path / label / "train"
        spec = {
            "kind": "stage",
            "name": name,
            "variant": variant,
            "seed": 0,
            "stage": "train",
            "out": str(out),
            "inputs": {k: str(v) for k, v in inputs.items()},
            "config": CONFIG,
        }
        if label == "straight":  # in this process: it saves a torch import, and any difference would show
            runner.run_stage(task, "train", settings.make_run(CONFIG, task, variant, 0, "train"), inputs, out)
        else:
            killed_then_resumed(spec, tmp_path)
        run = settings.make_run(CONFIG, task, variant, 0, "evaluate")
        runner.run_stage(task, "evaluate", run, {**inputs, "train": out}, tmp_path / label / "evaluate")
        metrics[label] = (tmp_path / label / "evaluate" / "metrics.json").read_bytes()
    for stage in ("train", "evaluate"):
        assert_same_outputs(tmp_path / "straight" / stage, tmp_path / "resumed" / stage, history=stage == "train")
    assert metrics["straight"] == metrics["resumed"]


def test_every_task_without_a_loop_is_named():
    assert set(NO_LOOP) <= set(TASKS), "NO_LOOP names a task that is not installed"


def local_datasets(names) -> bool:
    here = shared_data_dir()
    return here is not None and all(
        any((here / p).is_file() for p in (src.local, src.name))
        for name in names
        for src in data.DATASETS[name].files.values()
    )


def one_per_build() -> list[str]:
    """One artefact per build code (the same build at another dataset or mask ratio runs the same loop), the first
    whose datasets are in the local copy."""
    chosen: dict[tuple, str] = {}
    for name, a in ARTEFACTS.items():
        key = (a.build.partition(":")[0], a.params)
        if key not in chosen or (not local_datasets(needs(chosen[key])) and local_datasets(needs(name))):
            chosen[key] = name
    return sorted(chosen.values())


def needs(name: str) -> tuple[str, ...]:
    return tuple(settings.artefact_datasets(CONFIG, ARTEFACTS[name]))


@pytest.mark.slow
@pytest.mark.parametrize("name", one_per_build())
def test_artefact_build_resumes_exactly(name, tmp_path, prepared):
    artefact = ARTEFACTS[name]
    names = needs(name)
    if not local_datasets(names):
        pytest.skip(f"artefact '{name}' reads {', '.join(names)}: not in the local dataset copy")
    inputs = {}
    for ds in names:
        inputs[ds] = prepared / f"{ds}.npz"
        if not inputs[ds].exists():
            data.prepare(data.DATASETS[ds], inputs[ds], shared_data_dir(), prepared / "downloads")
    key = stages.artefact_key(artefact.per_seed, 0)
    outs = {label: tmp_path / label / key for label in ("straight", "resumed")}
    runner.build_artefact(artefact, settings.make_artefact_run(CONFIG, artefact, key), inputs, outs["straight"])
    spec = {"kind": "artefact", "name": name, "key": key, "out": str(outs["resumed"]), "config": CONFIG}
    killed_then_resumed(spec | {"inputs": {k: str(v) for k, v in inputs.items()}}, tmp_path)
    assert_same_outputs(outs["straight"], outs["resumed"])
