"""One contract, every installed task: defaults validate, a tiny CPU run writes its outputs and every metric its
claims read, and the same config + seed gives byte-identical metrics."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import REPO

from kx_tasks import runner, settings
from kx_tasks.io import read_yaml
from kx_tasks.registry import discover

TASKS = discover()
SMOKE = read_yaml(REPO / "config" / "smoke.yaml")


def smoke_run(name: str, seed: int = 0, variant: str | None = None) -> settings.Run:
    task = TASKS[name]
    return settings.make_run(SMOKE, task, variant or task.variants[0], seed)


def run_all_stages(name: str, run: settings.Run, out) -> dict:
    task = TASKS[name]
    inputs, metrics = {}, None
    if task.datasets:
        pytest.skip(f"task '{name}' reads datasets; its tiny run is covered by the pipeline test")
    for stage in runner.stages_of(task):
        stage_dir = out / stage
        metrics = runner.run_stage(task, stage, run, inputs, stage_dir)
        inputs[stage] = stage_dir
    return metrics


@pytest.mark.parametrize("name", TASKS)
def test_default_config_validates(name):
    task = TASKS[name]
    params = settings.build_params(task.config, {}, f"tasks.{name}.params")
    assert params == task.config()
    assert task.claims, f"task '{name}' checks no claims"
    assert len({c.id for c in task.claims}) == len(task.claims)


@pytest.mark.parametrize("name", TASKS)
def test_tiny_run_writes_outputs(name, tmp_path):
    run = smoke_run(name)
    metrics = run_all_stages(name, run, tmp_path)
    for stage in runner.stages_of(TASKS[name]):
        for f in ("config.yaml", "run.json"):
            assert (tmp_path / stage / f).is_file(), f"{stage}/{f}"
    record = json.loads((tmp_path / "evaluate" / "run.json").read_text())
    assert record["seed"] == 0 and record["config_hash"] == run.config_hash()
    assert {"torch", "numpy", "python"} <= set(record["versions"]) and record["wall_time_s"] > 0
    assert json.loads((tmp_path / "evaluate" / "metrics.json").read_text()) == metrics
    for claim in TASKS[name].claims:
        assert claim.metric in metrics, f"claim {claim.id} reads '{claim.metric}', which evaluate() does not write"
    assert not list(tmp_path.glob(".*.part")), "a stage left a temporary directory behind"


@pytest.mark.parametrize("name", TASKS)
def test_same_seed_same_bytes(name, tmp_path):
    run_all_stages(name, smoke_run(name, seed=3), tmp_path / "a")
    run_all_stages(name, smoke_run(name, seed=3), tmp_path / "b")
    run_all_stages(name, smoke_run(name, seed=4), tmp_path / "c")
    a, b, c = ((tmp_path / d / "evaluate" / "metrics.json").read_bytes() for d in "abc")
    assert a == b
    assert a != c, "a different seed should change the measurements"


def test_failed_stage_leaves_nothing_that_looks_complete(tmp_path):
    def broken(run, inputs, out_dir):
        (out_dir / "errors.csv").write_text("half")
        raise RuntimeError("killed mid-stage")

    task = dataclasses.replace(TASKS["det"], train=broken)
    with pytest.raises(RuntimeError, match="mid-stage"):
        runner.run_stage(task, "train", smoke_run("det"), {}, tmp_path / "train")
    # Only the checkpoint directory, kept for a resumed rerun; no output directory, no temporary one.
    assert [p.name for p in tmp_path.iterdir()] == [".train.checkpoints"]
