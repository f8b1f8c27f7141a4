"""Task discovery: built-in entry points, the contract checks and their messages."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from kx_tasks import registry
from kx_tasks.registry import Resources, TaskError, TaskSpec, check_task, discover

PACKAGE = Path(registry.__file__).parent


def test_builtin_entry_points_match_task_folders():
    folders = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    builtin = {name for name, task in discover().items() if type(task).__module__.startswith("kx_tasks")}
    assert builtin == folders


def test_discover_is_sorted_and_checked():
    tasks = discover()
    assert list(tasks) == sorted(tasks)
    for name, task in tasks.items():
        assert task.name == name
        check_task(task, name)


@dataclass
class Partial:
    name: str = "rsgan"
    summary: str = "s"
    post_url: str = "u"
    datasets: tuple = ()
    variants: tuple = ("a",)
    config: type = object
    resources: Resources = Resources()
    claims: tuple = ()

    def train(self, run, inputs, out):
        pass


def test_missing_stage_is_named():
    with pytest.raises(TaskError, match=r"task 'rsgan' .* defines no evaluate\(\)"):
        check_task(Partial(), "rsgan = pkg:TASK")


def test_missing_attribute_is_named():
    class NoClaims:
        name = "x"

    with pytest.raises(TaskError, match="defines no summary"):
        check_task(NoClaims(), "x = pkg:TASK")


def test_unknown_task_lists_installed():
    with pytest.raises(TaskError, match=r"unknown task 'nope' \(installed: .*det"):
        registry.get_task("nope")


def test_taskspec_optional_stages_default_to_none():
    spec = TaskSpec("t", "s", "u", ("v",), object, train=print, evaluate=print)
    assert spec.augment is None and spec.report_tables is None
