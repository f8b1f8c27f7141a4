"""Task discovery: built-in entry points, the contract checks and their messages, lazy stage references."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from helpers import TOY_V1, env, install_toy_plugin

from kx_tasks.core import registry
from kx_tasks.core.params import Params
from kx_tasks.core.registry import Resources, Stage, Task, TaskError, check_task, discover

PACKAGE = Path(registry.__file__).parents[1]
LAYERS = {"core", "shared"}  # the pipeline machinery and the science shared by several tasks: not tasks


def test_builtin_entry_points_match_task_folders():
    folders = {p.parent.name for p in PACKAGE.glob("*/__init__.py")} - LAYERS
    builtin = {name for name, task in discover().items() if task.stages["train"].fn.startswith("kx_tasks.")}
    assert builtin == folders
    assert not LAYERS & set(discover()), "a shared layer must not register as a task"


def test_discover_is_sorted_and_checked():
    tasks = discover()
    assert list(tasks) == sorted(tasks)
    for name, task in tasks.items():
        assert task.name == name
        check_task(task, name)
        for stage in task.stage_names():
            assert callable(registry.stage_function(task, stage))


def test_declaring_tasks_and_artefacts_imports_no_torch():
    """`kx list` and `kx check` (and so the DAG build, test_workflow.py) declare every task and artefact: no torch."""
    code = (
        "import sys; from kx_tasks.core.registry import discover, discover_artefacts; from kx_tasks.core.cli import "
        "main; discover(); discover_artefacts(); main(['list']); main(['check', 'config/config.yaml']); "
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip().splitlines()[-1] == "False"


def task(**change) -> Task:
    spec = {
        "name": "rsgan",
        "summary": "s",
        "post_url": "u",
        "variants": ("a",),
        "params": Params,
        "stages": {"train": Stage("m:train"), "evaluate": Stage("m:evaluate")},
    }
    return Task(**{**spec, **change})


def test_missing_stage_is_named():
    with pytest.raises(TaskError, match=r"task 'rsgan' .* defines no evaluate stage"):
        check_task(task(stages={"train": Stage("m:train")}), "rsgan = pkg:TASK")


def test_unknown_stage_and_bad_params_are_named():
    with pytest.raises(TaskError, match=r"unknown stage\(s\) pretrain"):
        check_task(task(stages={**task().stages, "pretrain": Stage("m:p")}), "x")
    with pytest.raises(TaskError, match="params must be a subclass"):
        check_task(task(params=dict), "x")


def test_bad_stage_reference_is_named():
    with pytest.raises(TaskError, match=r"task 'rsgan', stage train: cannot load nope_module:train"):
        registry.stage_function(task(stages={"train": Stage("nope_module:train")}), "train")
    with pytest.raises(TaskError, match="expected 'package.module:function'"):
        registry.resolve("no_colon", "x")


def test_v1_object_gets_told_what_to_change():
    class V1:
        name = "old"
        config = object

        def train(self, run, inputs, out):
            pass

    with pytest.raises(TaskError, match=r"task 'old' .* contract v1 .* Stage\('pkg.module:train'"):
        check_task(V1(), "old = pkg:TASK")


def test_unknown_task_lists_installed():
    with pytest.raises(TaskError, match=r"unknown task 'nope' \(installed: .*det"):
        registry.get_task("nope")


def test_per_variant_datasets_and_stage_resources():
    vae = discover()["vae_cluster"]
    assert vae.datasets_for("mnist") == ("mnist",) and vae.datasets_for("fashion_mnist") == ("fashion_mnist",)
    det = discover()["det"]
    assert det.stages["train"].resources.gpu and not det.stages["evaluate"].resources.gpu
    assert Resources().gpu is False


@pytest.mark.slow
def test_v1_wheel_plugin_fails_with_a_message_saying_what_to_change(tmp_path):
    site = install_toy_plugin(tmp_path, TOY_V1)
    r = subprocess.run([Path(sys.executable).parent / "kx", "list"], env=env(site), capture_output=True, text=True)
    assert r.returncode == 2
    assert "kx_tasks.registry moved to kx_tasks.core.registry" in r.stderr
    assert "contract v2 declares" in r.stderr and "Stage(" in r.stderr
