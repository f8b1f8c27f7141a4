"""Config checks that depend on the installed tasks: every message names the offending key."""

import pytest

from kx_tasks import settings
from kx_tasks.det.config import DetConfig
from kx_tasks.registry import discover
from kx_tasks.settings import ConfigError, build_params, check_config


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match=r"tasks\.det\.params\.sampels: not a parameter"):
        build_params(DetConfig, {"sampels": 3}, "tasks.det.params")


def test_wrong_type_is_named():
    with pytest.raises(ConfigError, match=r"tasks\.det\.params\.samples: expected int, got 'ten'"):
        build_params(DetConfig, {"samples": "ten"}, "tasks.det.params")
    with pytest.raises(ConfigError, match=r"tasks\.det\.params\.shapes\[1\]: expected 2 items"):
        build_params(DetConfig, {"shapes": [[3, 1], [3, 2, 1]]}, "tasks.det.params")


def test_semantic_check_is_named():
    with pytest.raises(ConfigError, match=r"tasks\.det\.params: shapes: \(2, 3\) needs 1 <= k <= n"):
        build_params(DetConfig, {"shapes": [[2, 3]]}, "tasks.det.params")


def test_values_are_typed():
    p = build_params(DetConfig, {"shapes": [[3, 1]], "log10_conds": [0, 2]}, "x")
    assert p.shapes == ((3, 1),) and p.log10_conds == (0, 2)


def test_unknown_task_and_variant():
    tasks = discover()
    with pytest.raises(ConfigError, match=r"tasks\.dett: unknown task"):
        check_config({"tasks": {"dett": {}}}, tasks)
    with pytest.raises(ConfigError, match=r"tasks\.det\.variants: unknown variant 'float16'"):
        check_config({"tasks": {"det": {"variants": ["float16"]}}}, tasks)
    with pytest.raises(ConfigError, match=r"datasets: unknown dataset 'cifar'"):
        check_config({"datasets": ["cifar"]}, tasks)


def test_runs_expand_tasks_variants_seeds():
    tasks = discover()
    config = {"seeds": [0, 1], "tasks": {"det": {"variants": ["float32"]}}}
    runs = [r for r in settings.runs(config, tasks) if r.task == "det"]
    assert [(r.variant, r.seed) for r in runs] == [("float32", 0), ("float32", 1)]
    assert not [r for r in settings.runs({"tasks": {"det": {"enabled": False}}}, tasks) if r.task == "det"]
    assert runs[0].config_hash() != runs[1].config_hash()
