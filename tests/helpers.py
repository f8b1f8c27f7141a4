"""Helpers for the end-to-end tests: a copy of the workflow in a temp dir, Snakemake in a subprocess, and a
throwaway task plugin built as a real wheel (dist-info + entry point) and installed with pip --target."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO

BIN = Path(sys.executable).parent


def slow_for(names, heavy: set[str]) -> list:
    """pytest parameters `names`, those in `heavy` (runs of tens of seconds) marked slow: `make test-fast` keeps the
    light cases of a contract test, `make test` runs them all."""
    import pytest

    return [pytest.param(n, marks=pytest.mark.slow) if n in heavy else n for n in names]


def only(*names: str, **blocks: dict) -> dict:
    """A `tasks:` block that runs just `names` (with the given blocks) and disables every other installed task, so a
    task added later never joins a test's pipeline."""
    from kx_tasks.core.registry import discover

    return {t: {**blocks.get(t, {})} if t in names else {"enabled": False} for t in discover()}


def copy_workflow(dest: Path) -> Path:
    for name in ("Snakefile", "environment.yml"):
        shutil.copy(REPO / name, dest / name)
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / name, dest / name)
    return dest


def env(pythonpath: Path | None = None, data_dir: Path | None = None, slurm: bool = False) -> dict:
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"  # the rules call this environment's `kx`
    if not slurm:
        # The SLURM executor plugin runs `scontrol show config` when Snakemake starts; where SLURM's client is
        # installed but no controller runs (this machine between SLURM tests) that waits ~9 s. Local runs
        # don't need SLURM: an empty config makes scontrol fail at once.
        e["SLURM_CONF"] = os.devnull
    e.pop("KX_DATA_DIR", None)
    e.pop("CUDA_VISIBLE_DEVICES", None)
    if data_dir:
        e["KX_DATA_DIR"] = str(data_dir)
    if pythonpath:
        e["PYTHONPATH"] = str(pythonpath)
    return e


def snakemake_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", *args]


# A guard against a hung pipeline, not a budget: the smoke pipeline takes ~6 min on a free 2-core machine and over
# 10 when another job holds the cores (a campaign beside the tests), which is slow, not broken.
SNAKEMAKE_TIMEOUT_S = 1800


def snakemake(
    workdir: Path, *args: str, pythonpath: Path | None = None, data_dir: Path | None = None, timeout=SNAKEMAKE_TIMEOUT_S
):
    return subprocess.run(
        snakemake_cmd(*args),
        cwd=workdir,
        env=env(pythonpath, data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def job_blocks(dry_run_stdout: str) -> list[str]:
    """The text of each planned job of a `snakemake -n`, from its `rule NAME:` line to the next one."""
    import re

    return [b for b in re.split(r"\n(?=(?:local)?rule \w+:)", dry_run_stdout) if re.match(r"(?:local)?rule \w+:", b)]


def planned_outputs(dry_run_stdout: str) -> list[str]:
    """The output paths of the jobs a `snakemake -n` would run."""
    return [
        path.strip().rstrip(",")
        for line in dry_run_stdout.splitlines()
        if line.strip().startswith("output:")
        for path in line.split(":", 1)[1].split(", ")
    ]


TOY = '''
"""A throwaway kx plugin (contract v2), installed from a wheel by the tests: an augment stage, a checkpointing
train stage, and an artefact built once per seed and read by the train stage of all three variants."""
import logging
import os
import time

from pydantic import Field

from kx_tasks.core.checkpoints import load_latest, save
from kx_tasks.core.claims import AtLeast, Claim
from kx_tasks.core.params import Params
from kx_tasks.core.progress import Progress
from kx_tasks.core.registry import Artefact, Resources, Stage, Task

log = logging.getLogger("kx")


class ToyParams(Params):
    scale: float = Field(2.0, description="augment writes seed * scale")
    steps: int = Field(3, ge=1, description="train adds 1 + 2 + ... + steps, one checkpoint per step")
    step_s: float = Field(0.0, ge=0, description="seconds per step, so tests can interrupt training")
    fail: bool = Field(False, description="train raises, as a job that fails for good")


class BaseParams(Params):
    offset: float = Field(100.0, description="the artefact's value is offset + seed")


def build_base(run, inputs, out_dir):
    (out_dir / "base.txt").write_text(str(run.params.offset + run.seed))


def augment(run, inputs, out_dir):
    (out_dir / "x.txt").write_text(str(run.seed * run.params.scale))


def train(run, inputs, out_dir):
    if run.params.fail:
        raise RuntimeError("toy: told to fail")
    (inputs["checkpoints"] / "pid").write_text(str(os.getpid()))
    state = load_latest(inputs["checkpoints"])
    if state is None:
        state = {"step": 0, "total": float((inputs["augment"] / "x.txt").read_text())}
    else:
        log.info("resuming from step %d", state["step"])
    total = state["total"]
    progress = Progress(run.params.steps - state["step"], "toy train", unit="steps", every_s=0)
    for step in range(state["step"] + 1, run.params.steps + 1):
        time.sleep(run.params.step_s)
        total += step
        save({"total": total}, inputs["checkpoints"], step)
        progress.update(1)
    (out_dir / "v.txt").write_text(str(total))
    (out_dir / "base.txt").write_text((inputs["toy_base"] / "base.txt").read_text())


def evaluate(run, inputs, out_dir):
    return {"value": float((inputs["train"] / "v.txt").read_text()),
            "base": float((inputs["train"] / "base.txt").read_text())}


BASE = Artefact(name="toy_base", summary="a number per seed, read by every toy variant", build="kx_toy:build_base",
                params=BaseParams)

TASK = Task(
    name="toy",
    summary="a throwaway plugin from another distribution",
    post_url="https://example.org/toy",
    variants=("plain", "twin", "triplet"),
    params=ToyParams,
    stages={
        "augment": Stage("kx_toy:augment"),
        "train": Stage("kx_toy:train", Resources(gpu=True), artefacts=("toy_base",)),
        "evaluate": Stage("kx_toy:evaluate"),
    },
    claims=(Claim("toy.value", "the value is at least 1", "value", AtLeast(1.0, every_seed=True)),),
)
'''

# The same plugin written to task contract v1 (kx 0.1): it must fail with a message saying what to change.
TOY_V1 = """
from dataclasses import dataclass

from kx_tasks.registry import TaskSpec


@dataclass(frozen=True)
class Config:
    steps: int = 3


def train(run, inputs, out_dir):
    pass


def evaluate(run, inputs, out_dir):
    return {"value": 1.0}


TASK = TaskSpec(name="toy", summary="v1", post_url="u", variants=("plain",), config=Config, train=train,
                evaluate=evaluate)
"""


def build_wheel(dest: Path, source: str = TOY) -> Path:
    """A real wheel (dist-info with entry_points.txt and a RECORD), written by hand: no build backend needed."""
    artefacts = "[kx_tasks.artefacts]\ntoy_base = kx_toy:BASE\n" if "Artefact(" in source else ""
    files = {
        "kx_toy/__init__.py": source,
        "kx_toy-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: kx-toy\nVersion: 0.1\n",
        "kx_toy-0.1.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: kx-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        "kx_toy-0.1.dist-info/entry_points.txt": "[kx_tasks.tasks]\ntoy = kx_toy:TASK\n" + artefacts,
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("kx_toy-0.1.dist-info/RECORD,,")
    files["kx_toy-0.1.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = dest / "kx_toy-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return wheel


def install_toy_plugin(tmp_path: Path, source: str = TOY) -> Path:
    """pip-install the toy wheel into a private target directory; returns it (for PYTHONPATH)."""
    target = tmp_path / "site"
    wheel = build_wheel(tmp_path, source)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--target", str(target)]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True, timeout=300)
    return target


def toy_digits(n: int, seed: int, shuffle_labels: bool = False):
    """28×28 uint8 images whose class is where a bright 6×6 square sits (ten places), with noise: learnable in a
    step (the image tasks' stand-in for MNIST)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(y):
        r, col = 2 + (c // 5) * 14, 2 + (c % 5) * 5
        x[i, r : r + 6, col : col + 6] = 250
    return x, (rng.permutation(y) if shuffle_labels else y).astype(np.uint8)


def prepared_digits(tmp_path: Path, shuffle_labels: bool = False) -> Path:
    """toy_digits as a prepared `mnist.npz` (1,500 train, 600 test images) that kx's loader accepts."""
    import json

    import numpy as np

    from kx_tasks.core.data import catalogue

    x_train, y_train = toy_digits(1500, 0, shuffle_labels)
    x_test, y_test = toy_digits(600, 1)
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    facts = json.dumps({"dataset": "mnist", "arrays": catalogue.facts_of(arrays)}, sort_keys=True)
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, **arrays, **{catalogue.FACTS: np.array(facts)})
    return path


def build_classifier(tmp_path: Path, path: Path, **params) -> Path:
    """The mnist_classifier artefact built on a prepared dataset (2 epochs unless `params` say otherwise)."""
    from kx_tasks.core import runner, settings
    from kx_tasks.shared.artefacts import MNIST

    config = {"device": "cpu", "artefacts": {"mnist_classifier": {"params": {"epochs": 2, **params}}}}
    run = settings.make_artefact_run(config, MNIST, "shared")
    out = tmp_path / "classifier"
    runner.build_artefact(MNIST, run, {"mnist": path}, out)
    return out
