"""One contract, every installed task: defaults validate, a tiny CPU run writes its outputs and every metric its
claims read, and the same config + seed gives byte-identical metrics."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from conftest import REPO, shared_data_dir
from helpers import slow_for

from kx_tasks.core import data, runner, settings, stages
from kx_tasks.core.io import read_yaml
from kx_tasks.core.registry import Stage, discover, discover_artefacts

TASKS = discover()
SMOKE = read_yaml(REPO / "config" / "smoke.yaml")


def smoke_run(name: str, seed: int = 0, variant: str | None = None, stage: str = "train") -> settings.Run:
    task = TASKS[name]
    return settings.make_run(SMOKE, task, variant or task.variants[0], seed, stage)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path | None:
    """A directory for datasets prepared from the local copy (when there is one), shared by the tests here."""
    return tmp_path_factory.mktemp("data") if shared_data_dir() is not None else None


def dataset_inputs(task, variant: str, prepared: Path | None) -> dict[str, Path]:
    names = task.datasets_for(variant)
    if names and prepared is None:
        pytest.skip(f"task '{task.name}' reads {', '.join(names)}: needs a local dataset copy (KX_DATA_DIR)")
    inputs = {}
    for name in names:
        path = prepared / f"{name}.npz"
        if not path.exists():
            data.prepare(data.DATASETS[name], path, shared_data_dir(), prepared / "downloads")
        inputs[name] = path
    return inputs


def artefact_inputs(task, variant: str, seed: int, prepared: Path | None) -> dict[str, Path]:
    """The artefacts the variant's stages read, built once per module with the smoke config's parameters."""
    found = discover_artefacts()
    inputs = {}
    for name in sorted(task.artefacts_for(variant)):
        artefact = found[name]
        out = prepared / "artefacts" / name / stages.artefact_key(artefact.per_seed, seed)
        if not out.exists():
            data_inputs = {}
            for ds in settings.artefact_datasets(SMOKE, artefact):
                data_inputs[ds] = prepared / f"{ds}.npz"
                if not data_inputs[ds].exists():
                    data.prepare(data.DATASETS[ds], data_inputs[ds], shared_data_dir(), prepared / "downloads")
            run = settings.make_artefact_run(SMOKE, artefact, out.name)
            runner.build_artefact(artefact, run, data_inputs, out)
        inputs[name] = out
    return inputs


def run_all_stages(name: str, seed: int, out, prepared: Path | None) -> dict:
    task = TASKS[name]
    variant = task.variants[0]
    inputs, metrics = dataset_inputs(task, variant, prepared), None
    inputs |= artefact_inputs(task, variant, seed, prepared)
    for stage in task.stage_names():
        stage_dir = out / stage
        run = smoke_run(name, seed, variant, stage)
        metrics = runner.run_stage(task, stage, run, inputs, stage_dir)
        inputs[stage] = stage_dir
    return metrics


@pytest.mark.parametrize("name", TASKS)
def test_default_config_validates(name):
    task = TASKS[name]
    params = settings.build_params(task.params, {}, f"tasks.{name}.params")
    assert params == task.params()
    assert task.claims, f"task '{name}' checks no claims"
    assert len({c.id for c in task.claims}) == len(task.claims)


HEAVY = {"fvae", "mixup", "mlm_mae", "vae_cluster"}  # their tiny runs take tens of seconds: `make test` only


@pytest.mark.parametrize("name", slow_for(TASKS, HEAVY))
def test_tiny_run_writes_outputs(name, tmp_path, prepared):
    metrics = run_all_stages(name, 0, tmp_path, prepared)
    for stage in TASKS[name].stage_names():
        for f in ("config.yaml", "run.json"):
            assert (tmp_path / stage / f).is_file(), f"{stage}/{f}"
    record = json.loads((tmp_path / "evaluate" / "run.json").read_text())
    assert record["seed"] == 0 and record["config_hash"] == smoke_run(name, 0, stage="evaluate").config_hash()
    assert {"torch", "numpy", "python"} <= set(record["versions"]) and record["wall_time_s"] > 0 < record["cpu_time_s"]
    assert json.loads((tmp_path / "evaluate" / "metrics.json").read_text()) == runner.split_timings(metrics)[0]
    variant = TASKS[name].variants[0]
    for claim in TASKS[name].claims:
        assert claim.variants is None or set(claim.variants) <= set(TASKS[name].variants), claim.id
        if claim.variants is None or variant in claim.variants:
            assert claim.metric in metrics, f"claim {claim.id} reads '{claim.metric}', which evaluate() does not write"
    figures = {p.stem for p in (tmp_path / "evaluate").glob("*.png")}
    assert figures <= set(TASKS[name].figures), (
        f"figures without a declared caption: {figures - set(TASKS[name].figures)}"
    )
    assert not list(tmp_path.glob(".*.part")), "a stage left a temporary directory behind"


@pytest.mark.parametrize("name", slow_for(TASKS, HEAVY))
def test_same_seed_same_bytes(name, tmp_path, prepared):
    run_all_stages(name, 3, tmp_path / "a", prepared)
    run_all_stages(name, 3, tmp_path / "b", prepared)
    run_all_stages(name, 4, tmp_path / "c", prepared)
    a, b, c = ((tmp_path / d / "evaluate" / "metrics.json").read_bytes() for d in "abc")
    assert a == b
    assert a != c, "a different seed should change the measurements"


def broken(run, inputs, out_dir):
    (out_dir / "errors.csv").write_text("half")
    raise RuntimeError("killed mid-stage")


def test_failed_stage_leaves_nothing_that_looks_complete(tmp_path):
    task = dataclasses.replace(TASKS["det"], stages={**TASKS["det"].stages, "train": Stage("test_contract:broken")})
    with pytest.raises(RuntimeError, match="mid-stage"):
        runner.run_stage(task, "train", smoke_run("det"), {}, tmp_path / "train")
    # No output directory, no temporary one, and no empty checkpoint folder (one with checkpoints would be kept).
    assert [p.name for p in tmp_path.iterdir()] == []
