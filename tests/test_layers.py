"""Dependencies point down: core ← shared ← tasks. `core` (pipeline machinery and the engine) imports neither the
shared science nor a task, `shared` imports no task, and a task imports no other task. Every module's imports are
read from its source (ast), so an import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kx_tasks"
LAYERS = ("core", "shared")
TASKS = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists() and p.name not in LAYERS)


def imported(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every kx_tasks module a file imports (absolute and relative imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = ".".join(path.relative_to(root.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m == "kx_tasks" or m.startswith("kx_tasks.")}


def part(module: str) -> str | None:
    """The layer or task a module belongs to: core, shared, a task's name, or None (the package root, e.g. its
    __version__)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in (*LAYERS, *TASKS) else None


def allowed(layer: str) -> set[str]:
    if layer == "core":
        return {"core"}
    if layer == "shared":
        return {"core", "shared"}
    return {"core", "shared", layer}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("layer", [*LAYERS, *TASKS])
def test_dependencies_point_down(layer):
    wrong = []
    for path in modules():
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) < 2 or rel.parts[0] != layer:
            continue
        for module in sorted(imported(path)):
            target = part(module)
            if target is not None and target not in allowed(layer):
                wrong.append(f"kx_tasks/{rel} imports {module}")
    assert not wrong, f"{layer} may import only {sorted(allowed(layer))}:\n" + "\n".join(wrong)


def test_the_walk_sees_relative_and_nested_imports(tmp_path):
    pkg = tmp_path / "kx_tasks" / "demo"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    src = pkg / "m.py"
    src.write_text(
        "from . import other\ndef f():\n    from kx_tasks.rsgan import gan\n    import kx_tasks.shared.nets\n"
    )
    found = imported(src, tmp_path / "kx_tasks")
    assert found == {
        "kx_tasks.demo",
        "kx_tasks.demo.other",
        "kx_tasks.rsgan",
        "kx_tasks.rsgan.gan",
        "kx_tasks.shared.nets",
    }


ROLES = ("__init__", "config", "run", "report")  # every task
TRAINING_ROLES = ("model", "steps")  # every task that trains a network on the engine
NO_TRAINING = ("det", "gillespie")  # as tests/test_resume.py's NO_LOOP


@pytest.mark.parametrize("task", TASKS)
def test_every_task_has_the_same_role_named_files(task):
    from kx_tasks.core.registry import discover

    declared = discover()[task]
    files = {p.stem for p in (PACKAGE / task).glob("*.py")}
    roles = ROLES + (() if task in NO_TRAINING else TRAINING_ROLES) + (("figures",) if declared.figures else ())
    assert set(roles) <= files, f"kx_tasks/{task} lacks {sorted(set(roles) - files)} (docs/architecture.md)"
    if task in NO_TRAINING:
        assert not set(TRAINING_ROLES) & files, f"kx_tasks/{task} trains nothing: no model.py or steps.py"
    if not declared.figures:
        assert "figures" not in files, f"kx_tasks/{task} declares no per-run figure, yet has a figures.py"
    stages = {s.fn.partition(":")[0] for s in declared.stages.values()}
    assert stages == {f"kx_tasks.{task}.run"}, f"{task}: every stage function lives in run.py, not {stages}"
